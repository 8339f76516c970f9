/**
 * Where a training step's time goes: real training steps of the plan's network (the trainer's
 * own Replica code, on the calling thread, one engine instance), with every TensorFlow.js
 * kernel of the engine timed by a wrapper and d2's own phases (feeding the batch, the loss in
 * JavaScript, reading gradients back, summing and checking them, Adam, uploading weights)
 * timed by the replica's probe. Each row is exclusive ("self") time: a composed kernel's row
 * excludes the kernels it calls (listed as 'Outer › Inner'); a phase's row is its JavaScript
 * plus TensorFlow.js's dispatch overhead. Rows therefore add up to the wall time of the steps.
 * For finding the next speed lever by measurement (`d2 build --profile`, the training bench).
 *
 * Invariants: kernels are wrapped only while profiling and the registry is restored before
 * returning (also on failure); the profiled steps are the trainer's own, so what is measured is
 * what trains.
 */
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import { InvalidArgument } from '../errors/index.js';
import { selectEngine, type EngineRequest, type Tf } from './engines.js';
import { type Preset } from './plan.js';
import { epochOrder, localExchange, Replica, type StepProbe } from './replica.js';
import { planFor, type TrainSet } from './train.js';

export interface ProfileRow {
  /** A kernel ('Conv2D', 'Conv2DBackpropFilter › Transpose'), or one of d2's phases ('d2 adam'). */
  kernel: string;
  /** Milliseconds over all profiled steps (exclusive of nested rows). */
  ms: number;
  /** Share of the profiled wall time (rows add up to 1, up to rounding). */
  share: number;
  /** Calls over all profiled steps. */
  calls: number;
}

export interface TrainingProfile {
  /** Engine id, e.g. 'wasm@4.22.0+simd'. */
  engine: string;
  steps: number;
  batchSize: number;
  msPerStep: number;
  /** Of the profiled steps, one thread (timing adds a little overhead). */
  samplesPerSecond: number;
  rows: ProfileRow[];
}

export interface ProfileOptions {
  train: TrainSet;
  numClasses: number;
  preset: Preset;
  seed?: number;
  engine?: EngineRequest;
  /** Steps timed (default 20), after `warmup` untimed ones (default 3). */
  steps?: number;
  warmup?: number;
  /**
   * 'wall' (default): elapsed time. 'cpu': this process's CPU time, which other programs
   * competing for the cores inflate much less (for comparing changes on a busy machine).
   */
  clock?: 'wall' | 'cpu';
}

type Clock = () => number;
const wallClock: Clock = () => performance.now();
const cpuClock: Clock = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Row for time inside a profiled step that no kernel or phase covers. */
export const OTHER_ROW = 'd2 step (other)';

interface Frame {
  label: string;
  kernel: boolean;
  start: number;
  child: number;
}

/** Exclusive-time accounting over nested kernels and phases. */
class Timer implements StepProbe {
  readonly rows = new Map<string, { ms: number; calls: number }>();
  private readonly stack: Frame[] = [];
  constructor(readonly now: Clock) {}

  private push(label: string, kernel: boolean): void {
    this.stack.push({ label, kernel, start: this.now(), child: 0 });
  }

  private pop(): void {
    const f = this.stack.pop()!;
    const total = this.now() - f.start;
    const parent = this.stack.at(-1);
    if (parent) parent.child += total;
    let name = f.label;
    if (f.kernel) {
      const outer = this.stack.filter((s) => s.kernel).map((s) => s.label);
      name = [...outer, f.label].join(' › ');
    } else {
      name = `d2 ${f.label}`;
    }
    const row = this.rows.get(name) ?? { ms: 0, calls: 0 };
    row.ms += total - f.child;
    row.calls += 1;
    this.rows.set(name, row);
  }

  enter(label: string): void {
    this.push(label, false);
  }

  leave(): void {
    this.pop();
  }

  wrap(name: string, fn: KernelFunc): KernelFunc {
    return ((args: Parameters<KernelFunc>[0]) => {
      this.push(name, true);
      try {
        return fn(args);
      } finally {
        this.pop();
      }
    }) as KernelFunc;
  }
}

/** Wrap every kernel of `backend`; returns the function that puts the originals back. */
function wrapKernels(tf: Tf, backend: string, timer: Timer): () => void {
  const originals: KernelConfig[] = tf.getKernelsForBackend(backend);
  for (const c of originals) {
    tf.unregisterKernel(c.kernelName, backend);
    tf.registerKernel({ ...c, kernelFunc: timer.wrap(c.kernelName, c.kernelFunc) });
  }
  return () => {
    for (const c of originals) {
      tf.unregisterKernel(c.kernelName, backend);
      tf.registerKernel(c);
    }
  };
}

/**
 * Profile `steps` training steps; the summary with the rows.
 *
 * @example
 * const p = await profileTrainingSummary({ train, numClasses: 10, preset: 'fast', engine: 'wasm', steps: 30 });
 * p.rows[0]; // { kernel: 'Conv2DBackpropFilter › Conv2D', ms: 410.2, share: 0.31, calls: 60 }
 */
export async function profileTrainingSummary(o: ProfileOptions): Promise<TrainingProfile> {
  const steps = o.steps ?? 20;
  const warmup = o.warmup ?? 3;
  if (!Number.isInteger(steps) || steps < 1) throw new InvalidArgument(`steps must be a whole number >= 1, not ${steps}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new InvalidArgument(`warmup must be a whole number >= 0, not ${warmup}`);
  const plan = planFor(o);
  const seed = o.seed ?? 0;
  const { tf, info } = await selectEngine(o.engine ?? 'auto');
  const rowSize = o.train.shape.reduce((a, b) => a * b, 1);
  const replica = new Replica(tf, plan, seed, { x: o.train.x, y: o.train.y, count: o.train.y.length, rowSize });
  const clock = o.clock === 'cpu' ? cpuClock : wallClock;
  const timer = new Timer(clock);
  let restore: (() => void) | undefined;
  try {
    const order = epochOrder(seed, 0, o.train.y.length);
    const b = Math.min(plan.batchSize, order.length);
    const batches = Math.max(1, Math.floor(order.length / b));
    const exchange = localExchange(replica.net.paramCount, plan.shards);
    const run = (s: number) => {
      const i = s % batches;
      replica.step(order.subarray(i * b, (i + 1) * b), 0, s, plan.optimizer.learningRate, exchange, false);
    };
    for (let s = 0; s < warmup; s++) run(s);
    restore = wrapKernels(tf, info.backend, timer);
    replica.probe = timer;
    const t0 = clock();
    for (let s = 0; s < steps; s++) {
      timer.enter('step (other)');
      run(warmup + s);
      timer.leave();
    }
    const wall = clock() - t0;
    const rows: ProfileRow[] = [...timer.rows.entries()].map(([kernel, e]) => ({
      kernel: kernel === `d2 step (other)` ? OTHER_ROW : kernel, ms: e.ms, calls: e.calls, share: e.ms / wall,
    }));
    rows.sort((x, y) => y.ms - x.ms);
    return { engine: info.id, steps, batchSize: b, msPerStep: wall / steps, samplesPerSecond: (steps * b) / (wall / 1000), rows };
  } finally {
    replica.probe = undefined;
    restore?.();
    replica.dispose();
  }
}

/**
 * Per-kernel (and per-phase) time of real training steps, largest first.
 *
 * @example
 * const rows = await profileTraining({ train, numClasses: 10, preset: 'fast', seed: 0, engine: 'wasm', steps: 20 });
 * for (const r of rows) onProgress({ phase: 'profile', loaded: 1, detail: r });
 */
export async function profileTraining(o: ProfileOptions): Promise<ProfileRow[]> {
  return (await profileTrainingSummary(o)).rows;
}
