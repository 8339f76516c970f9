/**
 * Data-parallel training on worker threads: one engine instance (one replica) per worker, the
 * WebAssembly backend being single-threaded in Node (tensorflow/tfjs#3830).
 *
 * Shared memory holds the training and validation data (read by all workers, never copied per
 * step), and the gradient exchange: for each step parity (even/odd), one gradient slot and one
 * loss per batch part, and one abort vote per worker; per worker, "non-finite gradient" flags;
 * and the updated weights. A step is: each worker computes its parts into the slots of the
 * step's parity, votes, and waits at a barrier; then each worker sums the slots in part order
 * over its own range of the weights (`updateRange`), the workers agree on the flags (a second
 * barrier), each applies the update to its range and publishes it, and after a third barrier
 * takes the other ranges. The update's arithmetic per weight is the same whichever worker does
 * it, so every copy is the one a single replica computes; Adam's moments of a range are current
 * only in the worker that updates it (`getState` gathers them). With two parities and a barrier
 * between each writing and reading, no worker can write a buffer another may still read. The main thread takes no part in
 * steps: it starts epochs, relays progress, and sets the abort request.
 *
 * Invariants:
 * - Workers' weights stay bit-identical (same sums, same update, each weight's computed once and
 *   copied) and equal to what one replica computing every part would get: results do not depend
 *   on the number of workers.
 * - An abort is decided from the votes after the barrier, so all workers stop at the same step.
 * - A failing worker terminates all of them (none is left waiting at a barrier).
 */
import { Worker } from 'node:worker_threads';
import { D2Error } from '../errors/index.js';
import type { AdamState } from './adam.js';
import type { EngineName } from './engines.js';
import type { TrainingPlan } from './plan.js';
import { evalChunkCount, sumChunks, type DataSet, type EpochOutcome, type GradientExchange } from './replica.js';
import type { Runner } from './train.js';

/** Indices into the control array. */
const CTRL = { count: 0, gen: 1, abortRequest: 2, votes: 3 } as const;

export interface SharedExchangeBuffers {
  slots: SharedArrayBuffer;
  losses: SharedArrayBuffer;
  ctrl: SharedArrayBuffer;
  /** Per step parity and worker, a "non-finite gradient" flag per parameter tensor. */
  flags: SharedArrayBuffer;
  /** The updated weights, each worker writing its own range. */
  weights: SharedArrayBuffer;
}

export function sharedExchangeBuffers(paramCount: number, parts: number, workers: number, tensors: number): SharedExchangeBuffers {
  return {
    slots: new SharedArrayBuffer(2 * parts * paramCount * 4),
    losses: new SharedArrayBuffer(2 * parts * 8),
    ctrl: new SharedArrayBuffer((CTRL.votes + 2 * workers) * 4),
    flags: new SharedArrayBuffer(2 * workers * tensors),
    weights: new SharedArrayBuffer(paramCount * 4),
  };
}

/**
 * The weights worker `index` of `workers` sums and updates: contiguous ranges, in worker order,
 * starting at multiples of 4 (the SIMD kernels' blocks).
 */
export function updateRange(paramCount: number, workers: number, index: number): [number, number] {
  const per = Math.ceil(paramCount / workers / 4) * 4;
  return [Math.min(paramCount, index * per), Math.min(paramCount, (index + 1) * per)];
}

/** The exchange seen by worker `index` of `workers`. */
export function sharedExchange(buffers: SharedExchangeBuffers, paramCount: number, parts: number, workers: number, index: number): GradientExchange {
  const slots = Array.from({ length: 2 * parts }, (_, i) => new Float32Array(buffers.slots, i * paramCount * 4, paramCount));
  const losses = new Float64Array(buffers.losses);
  const ctrl = new Int32Array(buffers.ctrl);
  const flags = new Uint8Array(buffers.flags);
  const tensors = flags.length / (2 * workers);
  const shared = new Float32Array(buffers.weights);
  const ranges = Array.from({ length: workers }, (_, w) => updateRange(paramCount, workers, w));
  const range = ranges[index]!;
  const mine: number[] = [];
  for (let p = index; p < parts; p += workers) mine.push(p);
  const barrier = () => {
    const gen = Atomics.load(ctrl, CTRL.gen);
    if (Atomics.add(ctrl, CTRL.count, 1) === workers - 1) {
      Atomics.store(ctrl, CTRL.count, 0);
      Atomics.add(ctrl, CTRL.gen, 1);
      Atomics.notify(ctrl, CTRL.gen);
    } else {
      while (Atomics.load(ctrl, CTRL.gen) === gen) Atomics.wait(ctrl, CTRL.gen, gen);
    }
  };
  return {
    mine,
    // Each worker sums the parts and updates the weights over its own range only, then takes
    // the other ranges from the workers that updated them: identical copies, each computed once.
    range,
    agree: (step, bad) => {
      const at = ((step & 1) * workers + index) * tensors;
      flags.set(bad, at);
      barrier();
      const all = new Uint8Array(tensors);
      for (let w = 0; w < workers; w++) {
        const from = ((step & 1) * workers + w) * tensors;
        for (let k = 0; k < tensors; k++) all[k] = all[k]! | flags[from + k]!;
      }
      return all;
    },
    done: (_step, weights) => {
      shared.set(weights.subarray(range[0], range[1]), range[0]);
      barrier();
      for (let w = 0; w < workers; w++) {
        if (w === index) continue;
        const [from, to] = ranges[w]!;
        weights.set(shared.subarray(from, to), from);
      }
    },
    slot: (part, step) => slots[(step & 1) * parts + part] as Float32Array,
    sync: (step, mineLosses, abort) => {
      const parity = step & 1;
      for (const [part, l] of mineLosses) losses[parity * parts + part] = l;
      const wants = abort || Atomics.load(ctrl, CTRL.abortRequest) !== 0;
      Atomics.store(ctrl, CTRL.votes + parity * workers + index, wants ? 1 : 0);
      barrier();
      let any = false;
      for (let w = 0; w < workers; w++) if (Atomics.load(ctrl, CTRL.votes + parity * workers + w) !== 0) any = true;
      return { losses: Array.from({ length: parts }, (_, p) => losses[parity * parts + p] as number), abort: any };
    },
  };
}

export function requestAbort(buffers: SharedExchangeBuffers): void {
  Atomics.store(new Int32Array(buffers.ctrl), CTRL.abortRequest, 1);
}

export function abortRequested(buffers: SharedExchangeBuffers): boolean {
  return Atomics.load(new Int32Array(buffers.ctrl), CTRL.abortRequest) !== 0;
}

/** A data set whose arrays live in shared memory (copied there once unless they already do). */
export interface SharedDataSet {
  x: Float32Array;
  y: Int32Array;
  count: number;
  rowSize: number;
}

function shareArray<T extends Float32Array | Int32Array>(a: T, make: (b: SharedArrayBuffer, n: number) => T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const out = make(new SharedArrayBuffer(a.byteLength), a.length);
  out.set(a as never);
  return out;
}

export function shareDataSet(d: DataSet): SharedDataSet {
  return {
    x: shareArray(d.x, (b, n) => new Float32Array(b, 0, n)),
    y: shareArray(d.y, (b, n) => new Int32Array(b, 0, n)),
    count: d.count,
    rowSize: d.rowSize,
  };
}

export interface WorkerInit {
  type: 'init';
  engine: EngineName;
  plan: TrainingPlan;
  seed: number;
  workers: number;
  index: number;
  train: SharedDataSet;
  validation: SharedDataSet;
  exchange: SharedExchangeBuffers;
}

export type WorkerRequest =
  | WorkerInit
  | { type: 'epoch'; epoch: number; order: Uint32Array; learningRate: number; reportBatches: boolean }
  | { type: 'evaluate'; chunks: number[]; weights?: Float32Array }
  | { type: 'getState' }
  | { type: 'setState'; weights: Float32Array; adam: AdamState };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'batch'; step: number; loss: number }
  | { type: 'epochDone'; outcome: EpochOutcome }
  | { type: 'evaluated'; results: { chunk: number; lossSum: number; correct: number }[] }
  | { type: 'state'; weights: Float32Array; adam: AdamState }
  | { type: 'stateSet' }
  | { type: 'error'; error: { message: string; stack?: string; code?: string; data?: Record<string, unknown>; hint?: string } };

interface Pending {
  resolve: (r: WorkerReply) => void;
  reject: (e: unknown) => void;
  expect: WorkerReply['type'];
}

class WorkerHandle {
  private pending: Pending | undefined;
  onBatch: ((step: number, loss: number) => void) | undefined;
  constructor(readonly worker: Worker, private readonly onFail: (e: unknown) => void) {
    worker.on('message', (msg: WorkerReply) => {
      if (msg.type === 'batch') {
        this.onBatch?.(msg.step, msg.loss);
        return;
      }
      const p = this.pending;
      this.pending = undefined;
      if (!p) return;
      if (msg.type === 'error') {
        const e = msg.error.code
          ? Object.assign(new D2Error(msg.error.message, { ...(msg.error.data ? { data: msg.error.data } : {}), ...(msg.error.hint ? { hint: msg.error.hint } : {}) }), { code: msg.error.code, name: msg.error.code })
          : Object.assign(new Error(`training worker failed: ${msg.error.message}`), { stack: msg.error.stack });
        p.reject(e);
        this.onFail(e);
      } else if (msg.type !== p.expect) {
        const e = new Error(`training worker answered '${msg.type}' to a request for '${p.expect}'`);
        p.reject(e);
        this.onFail(e);
      } else {
        p.resolve(msg);
      }
    });
    worker.on('error', (e) => {
      this.pending?.reject(e);
      this.pending = undefined;
      this.onFail(e);
    });
    worker.on('exit', (code) => {
      if (this.pending) {
        const e = new Error(`training worker exited (code ${code})`);
        this.pending.reject(e);
        this.pending = undefined;
        this.onFail(e);
      }
    });
  }

  request<T extends WorkerReply['type']>(msg: WorkerRequest, expect: T, transfer: ArrayBuffer[] = []): Promise<Extract<WorkerReply, { type: T }>> {
    if (this.pending) return Promise.reject(new Error('internal: training worker is busy'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve: resolve as (r: WorkerReply) => void, reject, expect };
      this.worker.postMessage(msg, transfer);
    });
  }
}

export interface WorkerRunnerOptions {
  engine: EngineName;
  plan: TrainingPlan;
  seed: number;
  train: DataSet;
  validation: DataSet;
  workers: number;
  workerUrl?: URL;
}

export class WorkerRunner implements Runner {
  private failure: unknown;
  private constructor(
    private readonly handles: WorkerHandle[],
    private readonly exchange: SharedExchangeBuffers,
    private readonly validationCount: number,
  ) {}

  get workers(): number {
    return this.handles.length;
  }

  static async start(o: WorkerRunnerOptions): Promise<WorkerRunner> {
    const url = o.workerUrl ?? new URL('./train-worker.js', import.meta.url);
    const { trainingNetwork } = await import('./network.js');
    const net = trainingNetwork(o.plan);
    const exchange = sharedExchangeBuffers(net.paramCount, o.plan.shards, o.workers, net.params.length);
    const train = shareDataSet(o.train);
    const validation = shareDataSet(o.validation);
    const handles: WorkerHandle[] = [];
    let runner: WorkerRunner | undefined;
    const fail = (e: unknown) => {
      if (runner && runner.failure === undefined) {
        runner.failure = e;
        // Others may wait at a barrier for the one that failed: stop them all.
        for (const h of handles) void h.worker.terminate();
      }
    };
    for (let i = 0; i < o.workers; i++) handles.push(new WorkerHandle(new Worker(url), (e) => fail(e)));
    runner = new WorkerRunner(handles, exchange, validation.count);
    try {
      await Promise.all(handles.map((h, index) => h.request({
        type: 'init', engine: o.engine, plan: o.plan, seed: o.seed, workers: o.workers, index, train, validation, exchange,
      }, 'ready')));
    } catch (e) {
      await runner.dispose();
      throw e;
    }
    return runner;
  }

  async runEpoch(epoch: number, order: Uint32Array, learningRate: number, onBatch: ((step: number, loss: number) => void) | undefined, signal: AbortSignal | undefined): Promise<EpochOutcome> {
    const abort = () => requestAbort(this.exchange);
    if (signal?.aborted) abort();
    signal?.addEventListener('abort', abort);
    try {
      this.handles[0]!.onBatch = onBatch;
      const replies = await Promise.all(this.handles.map((h, i) => h.request({ type: 'epoch', epoch, order, learningRate, reportBatches: i === 0 && onBatch !== undefined }, 'epochDone')));
      return replies[0]!.outcome;
    } finally {
      signal?.removeEventListener('abort', abort);
      this.handles[0]!.onBatch = undefined;
    }
  }

  /** With `weights` (folded, plain network), every worker receives a copy. */
  async evaluate(weights?: Float32Array): Promise<{ lossSum: number; correct: number }> {
    const n = evalChunkCount(this.validationCount);
    const w = this.handles.length;
    const replies = await Promise.all(this.handles.map((h, i) => {
      const chunks: number[] = [];
      for (let c = i; c < n; c += w) chunks.push(c);
      return h.request({ type: 'evaluate', chunks, ...(weights ? { weights } : {}) }, 'evaluated');
    }));
    return sumChunks(replies.flatMap((r) => r.results));
  }

  /** Weights (the same in every worker) and Adam's moments, each range from the worker that updates it. */
  async getState(): Promise<{ weights: Float32Array; adam: AdamState }> {
    const replies = await Promise.all(this.handles.map((h) => h.request({ type: 'getState' }, 'state')));
    const first = replies[0]!;
    const { m, v } = first.adam;
    replies.forEach((r, w) => {
      if (w === 0) return;
      const [from, to] = updateRange(m.length, replies.length, w);
      m.set(r.adam.m.subarray(from, to), from);
      v.set(r.adam.v.subarray(from, to), from);
    });
    return { weights: first.weights, adam: first.adam };
  }

  async setState(weights: Float32Array, adam: AdamState): Promise<void> {
    await Promise.all(this.handles.map((h) => h.request({ type: 'setState', weights, adam }, 'stateSet')));
  }

  async dispose(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.worker.terminate()));
  }
}
