/**
 * One replica of the model on one engine instance: its weights, its optimizer state, and the
 * training steps of an epoch. The trainer runs one replica in the calling thread, or one per
 * worker thread with a shared-memory gradient exchange (parallel.ts); both run this code.
 *
 * A step: the batch (rows of the epoch's permutation) is cut into `plan.shards` fixed parts;
 * each part's gradient of the batch-mean loss is computed by whichever replica owns the part;
 * then each replica sums the parts in part order over its range of the weights (the exchange's
 * `range`: all of them in one thread), the replicas agree on non-finite flags, each applies Adam
 * to its range, and the exchange hands every replica the other ranges.
 *
 * Invariants:
 * - Replicas' weights stay bit-identical: each weight's sum and update is the same arithmetic
 *   whichever replica computes it, and the others copy it.
 * - A part's gradient depends only on the weights, its rows and its dropout stream
 *   (seed, epoch, step, part), never on the number of workers.
 * - Non-finite loss or gradients stop the step before any weight changes.
 * - Tensors are created and disposed within each call: no tensor outlives a call except the
 *   parameter tensors, which are rewritten in place (dense layers, wasm) or replaced (old ones
 *   disposed) after each update.
 */
import type { Tensor } from '@tensorflow/tfjs';
import { adamAdvance, adamState, adamUpdate, type AdamState } from './adam.js';
import { augmentedPart } from './augment.js';
import type { Tf } from './engines.js';
import { readInto, writeInPlace } from './fused-kernels.js';
import { backward, describeNetwork, dropoutMasks, forward, initialWeights, trainingNetwork, type NetInput, type NetworkShape } from './network.js';
import { learningRateAt, type TrainingPlan } from './plan.js';
import { deriveSeed, Rng } from './prng.js';
import { optimizerMemory, type OptimizerMemory } from './simd-kernels.js';

/** Streams of randomness (labels for deriveSeed). */
export const STREAM = { init: 1, shuffle: 2, dropout: 3, augment: 4 } as const;

export interface DataSet {
  x: Float32Array;
  y: Int32Array;
  count: number;
  /** Numbers per item (H×W×C or F). */
  rowSize: number;
}

/** Where parts' gradients meet: local (all parts here) or shared memory between workers. */
export interface GradientExchange {
  /** Parts this replica computes. */
  readonly mine: readonly number[];
  /** Buffer for part `part`'s gradient at step `step` (paramCount floats). */
  slot(part: number, step: number): Float32Array;
  /**
   * Publish this replica's part losses and abort wish for `step`, wait for the other replicas,
   * and return every part's loss (in part order) and whether any replica asked to stop.
   */
  sync(step: number, losses: Map<number, number>, abort: boolean): { losses: number[]; abort: boolean };
  /** The weights this replica updates: [from, to) of the flat parameter array. */
  readonly range: readonly [number, number];
  /** Share per-parameter "non-finite gradient" flags for `step`; returns their union. */
  agree(step: number, bad: Uint8Array): Uint8Array;
  /**
   * After this replica updated its range of `weights` for `step`: publish it, wait until every
   * replica has updated its range, and copy the other ranges into `weights`.
   */
  done(step: number, weights: Float32Array): void;
}

/** Where weights and optimizer moments live (shared memory when replicas split the update). */
export interface ReplicaStorage {
  weights: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

export type StepOutcome =
  | { kind: 'ok'; loss: number }
  | { kind: 'aborted' }
  | { kind: 'diverged'; loss: number; layers: string[] };

export interface EpochOutcome {
  kind: 'done' | 'aborted' | 'diverged';
  /** Steps completed (all of them when done). */
  steps: number;
  /** Mean training loss over the completed steps, weighted by rows. */
  loss: number;
  /** When diverged: the step that failed and the layers whose gradients were non-finite. */
  step?: number;
  layers?: string[];
  stepLoss?: number;
}

/** Timing hooks around a step's phases (profile.ts); phases nest, each `enter` has its `leave`. */
export interface StepProbe {
  enter(phase: string): void;
  leave(): void;
}

export interface EpochHooks {
  onBatch?(step: number, loss: number): void;
  shouldAbort?(): boolean;
  pause?(): Promise<void>;
}

export class Replica {
  /** The network trained (batch-normalised when the plan says so). */
  readonly net: NetworkShape;
  /** The plan's architecture as evaluated and saved (the same as `net` without batch norm). */
  readonly plainNet: NetworkShape;
  weights: Float32Array;
  adam: AdamState;
  private params: Tensor[] = [];
  private readonly grad: Float32Array;
  /** Weights, moments and gradients in a WebAssembly memory with SIMD kernels (null: JavaScript loops). */
  private readonly mem: OptimizerMemory | null;
  /** Set while profiling. */
  probe: StepProbe | undefined;
  /** Per parameter tensor: whether `upload` may rewrite it in place (a dense layer's kernel or bias). */
  private readonly rewritable: boolean[];

  constructor(readonly tf: Tf, readonly plan: TrainingPlan, readonly seed: number, readonly train: DataSet | undefined, storage?: ReplicaStorage) {
    this.net = trainingNetwork(plan);
    this.rewritable = this.net.params.map(() => false);
    for (const l of this.net.layers) {
      if (l.spec.kind !== 'dense') continue;
      this.rewritable[l.kernel!] = true;
      this.rewritable[l.bias!] = true;
    }
    this.plainNet = this.net.plainCount === this.net.paramCount ? this.net : describeNetwork(plan.architecture);
    this.mem = storage ? null : optimizerMemory(this.net.paramCount);
    if (storage) {
      this.weights = storage.weights;
      this.adam = { m: storage.m, v: storage.v, t: 0, p1: 1, p2: 1 };
      this.grad = new Float32Array(this.net.paramCount);
    } else if (this.mem) {
      this.weights = this.mem.weights;
      this.weights.set(initialWeights(this.net, deriveSeed(seed, STREAM.init)));
      this.adam = { m: this.mem.m, v: this.mem.v, t: 0, p1: 1, p2: 1 };
      this.grad = this.mem.grad;
    } else {
      this.weights = initialWeights(this.net, deriveSeed(seed, STREAM.init));
      this.adam = adamState(this.net.paramCount);
      this.grad = new Float32Array(this.net.paramCount);
    }
    this.upload();
  }

  /** Set the optimizer's step counters (weights and moments are set through storage). */
  setCounters(t: number, p1: number, p2: number): void {
    this.adam.t = t;
    this.adam.p1 = p1;
    this.adam.p2 = p2;
  }

  /** Replace weights (and optionally optimizer state), e.g. from a checkpoint. */
  setState(weights: Float32Array, adam?: AdamState): void {
    if (this.mem) {
      // The arrays live in the optimizer memory: copy into them.
      this.weights.set(weights);
      if (adam) {
        this.adam.m.set(adam.m);
        this.adam.v.set(adam.v);
        this.setCounters(adam.t, adam.p1, adam.p2);
      }
    } else {
      this.weights = new Float32Array(weights);
      if (adam) this.adam = { m: new Float32Array(adam.m), v: new Float32Array(adam.v), t: adam.t, p1: adam.p1, p2: adam.p2 };
    }
    this.upload();
  }

  /**
   * Give the parameter tensors the values of `weights`. A dense layer's kernel and bias are
   * rewritten in place where the engine allows it (wasm): no kernel keeps a packed copy of them
   * (a product packs its second operand; d2's products take a dense kernel as the first, or
   * transpose it into a new tensor first). Every other parameter gets a new tensor, since the
   * backends cache packed convolution filters and biases by tensor.
   */
  upload(): void {
    const tf = this.tf;
    const old = this.params;
    this.params = this.net.params.map((p, i) => {
      const values = this.weights.subarray(p.offset, p.offset + p.size);
      const t = old[i];
      if (t && this.rewritable[i] && writeInPlace(tf, t, values)) return t;
      t?.dispose();
      return tf.tensor(values, p.shape);
    });
  }

  dispose(): void {
    for (const t of this.params) t.dispose();
    this.params = [];
  }

  /** Rows of part `part` within a batch of `n` rows. */
  partRange(n: number, part: number): [number, number] {
    const per = Math.ceil(n / this.plan.shards);
    return [Math.min(n, part * per), Math.min(n, (part + 1) * per)];
  }

  /** Tensors for n items copied from `rows` (indices into `data`) in the network's layouts. */
  private inputFor(data: DataSet, rows: ArrayLike<number>, from: number, n: number): NetInput {
    const tf = this.tf;
    const { rowSize } = data;
    const xs = new Float32Array(n * rowSize);
    for (let i = 0; i < n; i++) {
      const row = rows[from + i] as number;
      xs.set(data.x.subarray(row * rowSize, (row + 1) * rowSize), i * rowSize);
    }
    return this.inputOf(xs, n);
  }

  /**
   * Tensors for n packed items in the network's layouts: NHWC, or rows [n, F] (the forward pass
   * transposes them to feature-major on the engine, several times faster than a JavaScript loop).
   */
  inputOf(xs: Float32Array, n: number): NetInput {
    const tf = this.tf;
    const arch = this.plan.architecture;
    if (arch.family === 'cnn') return { x: tf.tensor(xs, [n, ...arch.inputShape]) };
    return { x: tf.tensor2d(xs, [n, xs.length / n]) };
  }

  /**
   * Gradient of part `part` of a batch into `out`; returns the part's share of the batch-mean
   * loss (the parts' shares sum to the batch loss).
   */
  partGradient(batch: Uint32Array, part: number, epoch: number, step: number, out: Float32Array): number {
    const tf = this.tf;
    const [from, to] = this.partRange(batch.length, part);
    const n = to - from;
    if (n === 0) {
      out.fill(0);
      return 0;
    }
    const data = this.train!;
    const k = this.plan.architecture.numClasses;
    const cw = this.plan.classWeights;
    const scale = 1 / batch.length;
    const probe = this.probe;
    probe?.enter('feed');
    const masks = dropoutMasks(this.net, n, new Rng(deriveSeed(this.seed, STREAM.dropout, epoch, step, part)));
    const net = this.net;
    let loss = 0;
    const aug = this.plan.augment;
    const augmented = aug && this.plan.architecture.family === 'cnn'
      ? augmentedPart(data.x, batch, from, n, this.plan.architecture.inputShape, aug, new Rng(deriveSeed(this.seed, STREAM.augment, epoch, step, part)))
      : undefined;
    // Label smoothing: the target is (1 - eps) on the label plus eps / k on every class.
    const eps = this.plan.labelSmoothing;
    const grads = tf.tidy(() => {
      const input = augmented ? this.inputOf(augmented, n) : this.inputFor(data, batch, from, n);
      probe?.leave();
      probe?.enter('forward');
      const { logitsT, caches } = forward(tf, net, this.params, input, masks);
      probe?.leave();
      probe?.enter('loss');
      // Softmax cross-entropy and its gradient, in double precision, per item.
      const z = logitsT.dataSync() as Float32Array;
      const dz = new Float32Array(k * n);
      for (let i = 0; i < n; i++) {
        const label = data.y[batch[from + i] as number] as number;
        const weight = (cw ? (cw[label] as number) : 1) * scale;
        let max = -Infinity;
        for (let c = 0; c < k; c++) max = Math.max(max, z[c * n + i] as number);
        let sum = 0;
        for (let c = 0; c < k; c++) sum += Math.exp((z[c * n + i] as number) - max);
        // -Σ q_c log p_c with the target q = (1 - eps)·onehot + eps / k; with eps 0 the plain
        // cross-entropy to the last bit (1 - 0 is 1; the spread is not summed, so an infinite
        // logit cannot turn it into NaN).
        let spread = 0;
        if (eps > 0) {
          for (let c = 0; c < k; c++) spread += z[c * n + i] as number;
          spread *= eps / k;
        }
        loss += weight * (Math.log(sum) + max - (1 - eps) * (z[label * n + i] as number) - spread);
        for (let c = 0; c < k; c++) {
          const p = Math.exp((z[c * n + i] as number) - max) / sum;
          dz[c * n + i] = weight * (p - ((c === label ? 1 - eps : 0) + eps / k));
        }
      }
      const dLogits = tf.tensor2d(dz, [k, n]);
      probe?.leave();
      probe?.enter('backward');
      const gs = backward(tf, net, this.params, caches, dLogits);
      probe?.leave();
      return gs;
    });
    probe?.enter('download');
    grads.forEach((g, i) => {
      readInto(tf, g, out, net.params[i]!.offset);
      g.dispose();
    });
    probe?.leave();
    return loss;
  }

  /**
   * Sum the parts' gradients in part order over [from, to) into the step gradient; returns a
   * flag per parameter tensor: 1 when its gradient has a non-finite value there.
   */
  private sumParts(exchange: GradientExchange, step: number, from: number, to: number): Uint8Array {
    const g = this.grad;
    const parts = this.plan.shards;
    // One pass: sum in part order (rounded to float32 as each partial sum is stored), and
    // accumulate f × 0, which is NaN as soon as any f is not finite.
    let poison = 0;
    const mem = this.mem;
    if (parts === 2 && mem) {
      // The SIMD kernel over the optimizer memory: the same float32 sums, the same check.
      g.set(exchange.slot(0, step).subarray(from, to), from);
      mem.other.set(exchange.slot(1, step).subarray(from, to), from);
      const r = mem.sumParts(from, to);
      if (r.bad) poison = NaN;
      const o = mem.other;
      for (let i = r.upTo; i < to; i++) {
        const f = Math.fround((g[i] as number) + (o[i] as number));
        g[i] = f;
        poison += f * 0;
      }
    } else if (parts === 2) {
      const a = exchange.slot(0, step);
      const b = exchange.slot(1, step);
      for (let i = from; i < to; i++) {
        const f = Math.fround((a[i] as number) + (b[i] as number));
        g[i] = f;
        poison += f * 0;
      }
    } else {
      g.set(exchange.slot(0, step).subarray(from, to), from);
      for (let p = 1; p < parts; p++) {
        const s = exchange.slot(p, step);
        for (let i = from; i < to; i++) g[i] = (g[i] as number) + (s[i] as number);
      }
      for (let i = from; i < to; i++) poison += (g[i] as number) * 0;
    }
    const bad = new Uint8Array(this.net.params.length);
    if (poison === 0) return bad;
    // Rare: find which parameter tensors have non-finite gradients.
    this.net.params.forEach((p, k) => {
      const lo = Math.max(from, p.offset);
      const hi = Math.min(to, p.offset + p.size);
      for (let i = lo; i < hi; i++) {
        const v = g[i] as number;
        if (v - v !== 0) {
          bad[k] = 1;
          break;
        }
      }
    });
    return bad;
  }

  /** One training step on `batch` (rows of the training set). */
  step(batch: Uint32Array, epoch: number, step: number, lr: number, exchange: GradientExchange, abort: boolean): StepOutcome {
    const losses = new Map<number, number>();
    for (const part of exchange.mine) losses.set(part, this.partGradient(batch, part, epoch, step, exchange.slot(part, step)));
    const probe = this.probe;
    probe?.enter('exchange');
    const all = exchange.sync(step, losses, abort);
    probe?.leave();
    if (all.abort) return { kind: 'aborted' };
    let loss = 0;
    for (const l of all.losses) loss += l;
    const [from, to] = exchange.range;
    probe?.enter('gradient sum');
    const bad = exchange.agree(step, this.sumParts(exchange, step, from, to));
    probe?.leave();
    const layers: string[] = [];
    this.net.params.forEach((p, k) => {
      if (bad[k] && !layers.includes(p.layer)) layers.push(p.layer);
    });
    if (layers.length || !Number.isFinite(loss)) return { kind: 'diverged', loss, layers };
    const cfg = this.plan.optimizer;
    probe?.enter('adam');
    adamAdvance(cfg, this.adam);
    adamUpdate(cfg, this.adam, this.weights, this.grad, lr, from, to, this.mem ? this.mem.adam : undefined);
    exchange.done(step, this.weights);
    probe?.leave();
    probe?.enter('weights upload');
    this.upload();
    probe?.leave();
    return { kind: 'ok', loss };
  }

  /**
   * All steps of one epoch over `order` (a permutation of the training rows). With `pause`,
   * it is awaited before every step, so the thread's event loop runs (signals, timers) and an
   * abort is seen within one batch, however short the epoch (a time-based pause never fired
   * in an epoch of a few batches, and Ctrl-C waited for the whole build). A pause costs
   * microseconds against a step's milliseconds, and changes no number the step computes.
   */
  async runEpoch(epoch: number, order: Uint32Array, exchange: GradientExchange, hooks: EpochHooks = {}, learningRate = this.plan.optimizer.learningRate): Promise<EpochOutcome> {
    const b = this.plan.batchSize;
    const steps = Math.ceil(order.length / b);
    let weighted = 0;
    let rows = 0;
    for (let s = 0; s < steps; s++) {
      if (hooks.pause) await hooks.pause();
      const batch = order.subarray(s * b, Math.min(order.length, (s + 1) * b));
      const lr = learningRateAt(this.plan, epoch, s, steps, learningRate);
      const r = this.step(batch, epoch, s, lr, exchange, hooks.shouldAbort?.() ?? false);
      if (r.kind === 'aborted') return { kind: 'aborted', steps: s, loss: rows ? weighted / rows : NaN };
      if (r.kind === 'diverged') return { kind: 'diverged', steps: s, loss: rows ? weighted / rows : NaN, step: s, layers: r.layers, stepLoss: r.loss };
      weighted += r.loss * batch.length;
      rows += batch.length;
      hooks.onBatch?.(s, r.loss);
    }
    return { kind: 'done', steps, loss: rows ? weighted / rows : NaN };
  }

  /**
   * Logits (item-major, [n, numClasses]) of rows [from, to) of `x`, in chunks: of this replica's
   * network, or of the plain network with `params` (folded weights).
   */
  logits(x: Float32Array, from: number, to: number, chunk = 256, net = this.net, params = this.params): Float32Array {
    const tf = this.tf;
    const k = this.plan.architecture.numClasses;
    const rowSize = this.plan.architecture.inputShape.reduce((a, b) => a * b, 1);
    const out = new Float32Array((to - from) * k);
    for (let start = from; start < to; start += chunk) {
      const end = Math.min(to, start + chunk);
      const z = tf.tidy(() => tf.transpose(forward(tf, net, params, this.inputOf(x.subarray(start * rowSize, end * rowSize), end - start)).logitsT));
      out.set(z.dataSync() as Float32Array, (start - from) * k);
      z.dispose();
    }
    return out;
  }

  /**
   * Summed cross-entropy (unweighted) and correct predictions of each listed chunk of `data`
   * (chunk i: rows [i × EVAL_CHUNK, (i+1) × EVAL_CHUNK)). Callers add chunk results in chunk
   * order, so totals do not depend on which replica evaluated which chunk. With `weights`, the
   * plain network with those weights is evaluated (batch normalisation folded: batch-norm.ts);
   * without, this replica's own network and weights.
   */
  evaluateChunks(data: DataSet, chunks: number[], weights?: Float32Array): { chunk: number; lossSum: number; correct: number }[] {
    const tf = this.tf;
    const net = weights ? this.plainNet : this.net;
    if (weights && weights.length !== net.paramCount) throw new Error(`internal: ${weights.length} weights to evaluate a network of ${net.paramCount}`);
    const params = weights ? net.params.map((p) => tf.tensor(weights.subarray(p.offset, p.offset + p.size), p.shape)) : this.params;
    try {
      return this.evaluateWith(data, chunks, net, params);
    } finally {
      if (weights) for (const t of params) t.dispose();
    }
  }

  private evaluateWith(data: DataSet, chunks: number[], net: NetworkShape, params: Tensor[]): { chunk: number; lossSum: number; correct: number }[] {
    const k = this.plan.architecture.numClasses;
    const out: { chunk: number; lossSum: number; correct: number }[] = [];
    for (const chunk of chunks) {
      const from = chunk * EVAL_CHUNK;
      const to = Math.min(data.count, from + EVAL_CHUNK);
      const z = this.logits(data.x, from, to, EVAL_CHUNK, net, params);
      let lossSum = 0;
      let correct = 0;
      for (let i = 0; i < to - from; i++) {
        const label = data.y[from + i] as number;
        let max = -Infinity;
        let arg = 0;
        for (let c = 0; c < k; c++) {
          const v = z[i * k + c] as number;
          if (v > max) {
            max = v;
            arg = c;
          }
        }
        let sum = 0;
        for (let c = 0; c < k; c++) sum += Math.exp((z[i * k + c] as number) - max);
        lossSum += Math.log(sum) + max - (z[i * k + label] as number);
        if (arg === label) correct++;
      }
      out.push({ chunk, lossSum, correct });
    }
    return out;
  }
}

/** Rows per evaluation chunk. */
export const EVAL_CHUNK = 256;

export function evalChunkCount(count: number): number {
  return Math.ceil(count / EVAL_CHUNK);
}

/** Add chunk results in chunk order. */
export function sumChunks(results: { chunk: number; lossSum: number; correct: number }[]): { lossSum: number; correct: number } {
  const sorted = [...results].sort((a, b) => a.chunk - b.chunk);
  let lossSum = 0;
  let correct = 0;
  for (const r of sorted) {
    lossSum += r.lossSum;
    correct += r.correct;
  }
  return { lossSum, correct };
}

/** The exchange of a replica that computes every part itself. */
export function localExchange(paramCount: number, parts: number, shouldAbort?: () => boolean): GradientExchange {
  const slots = Array.from({ length: parts }, () => new Float32Array(paramCount));
  return {
    range: [0, paramCount],
    agree: (_step, bad) => bad,
    done: () => {},
    mine: Array.from({ length: parts }, (_, i) => i),
    slot: (part) => slots[part] as Float32Array,
    sync: (_step, losses, abort) => ({
      losses: Array.from({ length: parts }, (_, i) => losses.get(i) ?? 0),
      abort: abort || (shouldAbort?.() ?? false),
    }),
  };
}

/** The epoch's permutation of the training rows. */
export function epochOrder(seed: number, epoch: number, count: number): Uint32Array {
  const rng = new Rng(deriveSeed(seed, STREAM.shuffle, epoch));
  const p = new Uint32Array(count);
  for (let i = 0; i < count; i++) p[i] = i;
  for (let i = count - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i] as number;
    p[i] = p[j] as number;
    p[j] = t;
  }
  return p;
}
