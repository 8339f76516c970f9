/**
 * Where a training step's time goes: real training steps of the plan's network on an engine,
 * timed per TensorFlow.js kernel (tf.profile), plus d2's own JavaScript (loss and its gradient,
 * gradient sums and checks, the Adam update, batch copying) as the remainder of the wall time.
 * For finding the next speed lever by measurement (`d2 build --profile`, the training bench).
 *
 * Invariant: the steps profiled are the trainer's own (replica.ts) on the calling thread, one
 * engine instance, so per-kernel times add up to that thread's step time.
 */
import { InvalidArgument } from '../errors/index.js';
import { selectEngine, type EngineRequest } from './engines.js';
import { type Preset } from './plan.js';
import { epochOrder, localExchange, Replica } from './replica.js';
import { planFor, type TrainSet } from './train.js';

export interface ProfileRow {
  /** Kernel name, or 'd2 JavaScript (loss, Adam, sums, feeding)'. */
  kernel: string;
  ms: number;
  calls: number;
  share: number;
}

export interface TrainingProfile {
  engine: string;
  steps: number;
  batchSize: number;
  msPerStep: number;
  samplesPerSecond: number;
  rows: ProfileRow[];
}

export const JS_ROW = 'd2 JavaScript (loss, Adam, sums, feeding)';

export async function profileTraining(o: { train: TrainSet; numClasses: number; preset: Preset; seed?: number; engine?: EngineRequest; steps?: number }): Promise<TrainingProfile> {
  const steps = o.steps ?? 20;
  if (!Number.isInteger(steps) || steps < 1) throw new InvalidArgument(`steps must be a whole number >= 1, not ${steps}`);
  const plan = planFor(o);
  const { tf, info } = await selectEngine(o.engine ?? 'auto');
  const rowSize = o.train.shape.reduce((a, b) => a * b, 1);
  const replica = new Replica(tf, plan, o.seed ?? 0, { x: o.train.x, y: o.train.y, count: o.train.y.length, rowSize });
  try {
    const order = epochOrder(o.seed ?? 0, 0, o.train.y.length);
    const b = plan.batchSize;
    const batches = Math.max(1, Math.floor(order.length / b));
    const exchange = localExchange(replica.net.paramCount, plan.shards);
    const run = (s: number) => {
      const i = s % batches;
      replica.step(order.subarray(i * b, (i + 1) * b), 0, s, plan.optimizer.learningRate, exchange, false);
    };
    for (let s = 0; s < 2; s++) run(s); // warm-up: kernel set-up, packed weights
    const t0 = performance.now();
    const info2 = await tf.profile(() => {
      for (let s = 0; s < steps; s++) run(s + 2);
    });
    const wall = performance.now() - t0;
    const byName = new Map<string, { ms: number; calls: number }>();
    for (const k of info2.kernels) {
      // 'name__op' entries are op-level scopes around a kernel that is listed too: skip them.
      if (k.name.endsWith('__op')) continue;
      const t = await k.kernelTimeMs;
      const ms = typeof t === 'number' ? t : 0;
      const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += ms;
      e.calls += 1;
      byName.set(k.name, e);
    }
    const kernelMs = [...byName.values()].reduce((a, e) => a + e.ms, 0);
    const rows: ProfileRow[] = [...byName.entries()].map(([kernel, e]) => ({ kernel, ms: e.ms, calls: e.calls, share: e.ms / wall }));
    rows.push({ kernel: JS_ROW, ms: Math.max(0, wall - kernelMs), calls: steps, share: Math.max(0, wall - kernelMs) / wall });
    rows.sort((x, y) => y.ms - x.ms);
    return { engine: info.id, steps, batchSize: b, msPerStep: wall / steps, samplesPerSecond: (steps * b) / (wall / 1000), rows };
  } finally {
    replica.dispose();
  }
}
