/**
 * The trainer: plan, engine, epochs, early stopping, checkpoints, progress and cancellation
 * around replicas (replica.ts) that run in this thread or in worker threads (parallel.ts).
 *
 * Invariants:
 * - Reproducible: the same data, preset, seed and engine give bit-identical weights, whatever
 *   the number of workers (the plan fixes how batches are split; see plan.ts), and a run resumed
 *   from a checkpoint ends with the same weights as one that never stopped.
 * - Trust: training stops at the first step whose loss or gradients are not finite, before any
 *   weight changes, and throws TrainingDiverged; checkpoints already delivered stay valid.
 * - Nothing prints: progress goes through `onEpoch`, `onBatch`, `onProgress`; cancellation
 *   through `signal` (Interrupted is thrown, no checkpoint is half-delivered).
 * - No tensor outlives `train` (replicas dispose theirs; workers are terminated).
 * - With batch normalisation (plan.batchNorm), evaluation and the model use the training weights
 *   folded in this thread (batch-norm.ts); checkpoints keep the training weights.
 */
import os from 'node:os';
import { InvalidArgument, Interrupted, TrainingDiverged } from '../errors/index.js';
import type { ProgressHandler } from '../core/progress.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import type { AdamState } from './adam.js';
import { parseCheckpoint, serializeCheckpoint, type EpochRecord, type TrainingState } from './checkpoint.js';
import { selectEngine, type EngineInfo, type EngineRequest } from './engines.js';
import { foldBatchNorm } from './batch-norm.js';
import { serializeModel } from './model.js';
import { planTraining, type Flip, type Head, type Preset, type TrainingPlan } from './plan.js';
import { deriveSeed, Rng } from './prng.js';
import { epochOrder, evalChunkCount, localExchange, Replica, STREAM, sumChunks, type DataSet, type EpochOutcome } from './replica.js';

/** Items packed in memory: x is N × product(shape) numbers (NHWC for images), y class indices. */
export interface TrainSet {
  x: Float32Array;
  y: Int32Array;
  shape: number[];
}

export interface EpochEvent {
  /** 1-based. */
  epoch: number;
  /** The most epochs this run can take. */
  maxEpochs: number;
  loss: number;
  /** null when there is no validation set. */
  valLoss: number | null;
  valAccuracy: number | null;
  secondsPerEpoch: number;
  /**
   * Upper bound of the training time left: the epochs left at the seconds per epoch so far,
   * fewer when the time budget ends the run sooner; early stopping may end it sooner still.
   */
  etaSeconds: number;
  /** Seconds since training started plus etaSeconds: the expected duration at most. */
  expectedSeconds: number;
}

export interface BatchEvent {
  /** 1-based. */
  epoch: number;
  /** 1-based. */
  batch: number;
  batches: number;
  loss: number;
}

export interface TrainOptions {
  train: TrainSet;
  validation: TrainSet;
  numClasses: number;
  /** uint32: seeds initialisation, shuffling and dropout. */
  seed: number;
  preset: Preset;
  /** Feature vectors: 'linear' (softmax regression) or 'small' (one hidden layer); see plan.ts. */
  head?: Head;
  /** Images: d2.yaml's augmentation declaration (default: translations, no mirrors). */
  augment?: { translate?: boolean; flip?: Flip[] };
  /**
   * Stop at the end of the epoch after which another epoch would pass this budget, and within
   * an epoch when the budget runs out (a machine slower than the budget assumed: that epoch is
   * evaluated with the batches it trained, and its record says how many).
   */
  timeBudgetSeconds?: number;
  engine?: EngineRequest;
  /** Worker threads ('auto': one per core up to the plan's batch parts; 0: this thread). */
  workers?: number | 'auto';
  /** Continue from a checkpoint delivered by `onCheckpoint` of an earlier run. */
  resumeFrom?: Uint8Array;
  onEpoch?: (e: EpochEvent) => void;
  onBatch?: (e: BatchEvent) => void;
  /** Each epoch's checkpoint; training waits for a returned promise. */
  onCheckpoint?: (bytes: Uint8Array, info: { epoch: number }) => void | Promise<void>;
  /** The same epochs as ProgressEvents ({ phase: 'train', loaded: epoch, total: maxEpochs }). */
  onProgress?: ProgressHandler;
  signal?: AbortSignal;
  /** Tests only: replaces the plan's learning rate. */
  learningRateOverride?: number;
  /**
   * Tests and benchmarks only: settings that replace the plan's (bench/recipe.js compares
   * recipes with it). Part of the training key like the rest of the plan.
   */
  planPatch?: Partial<TrainingPlan>;
  /** Tests and benchmarks only: exactly this many epochs, no early stopping, last weights kept. */
  epochsOverride?: number;
  /**
   * At most this many epochs (the plan's limit when lower); early stopping and the best
   * weights as usual. Cross-validation folds use it to bound their time (project/cross-validation.ts).
   */
  maxEpochs?: number;
  /** Tests only: where the worker script is (default: train-worker.js beside this module). */
  workerUrl?: URL;
}

export type StopReason = 'maxEpochs' | 'earlyStopping' | 'timeBudget' | 'epochs';

export interface TrainResult {
  /** The model as bytes (model.ts: 'D2MODEL1'). */
  model: Uint8Array;
  history: EpochRecord[];
  plan: TrainingPlan;
  engine: EngineInfo;
  workers: number;
  epochs: number;
  /** 1-based epoch whose weights the model has. */
  bestEpoch: number;
  stoppedBy: StopReason;
  /** Training throughput over the epochs of this run (validation excluded). */
  samplesPerSecond: number;
}

/** What runs the epochs: one replica here, or several in worker threads. */
export interface Runner {
  readonly workers: number;
  runEpoch(epoch: number, order: Uint32Array, learningRate: number, onBatch: ((step: number, loss: number) => void) | undefined, signal: AbortSignal | undefined): Promise<EpochOutcome>;
  /** Validation loss and accuracy: of the replicas' weights, or of the plain network with `weights` (folded). */
  evaluate(weights?: Float32Array): Promise<{ lossSum: number; correct: number }>;
  getState(): Promise<{ weights: Float32Array; adam: AdamState }>;
  setState(weights: Float32Array, adam: AdamState): Promise<void>;
  dispose(): Promise<void>;
}

function toDataSet(s: TrainSet, rowSize: number): DataSet {
  return { x: s.x, y: s.y, count: s.y.length, rowSize };
}

function validateSet(name: string, s: TrainSet, shape: number[], numClasses: number, allowEmpty: boolean): void {
  if (!s || !(s.x instanceof Float32Array) || !(s.y instanceof Int32Array)) throw new InvalidArgument(`'${name}' needs x (Float32Array) and y (Int32Array)`);
  if (canonicalJson(s.shape) !== canonicalJson(shape)) throw new InvalidArgument(`'${name}' has shape [${s.shape.join(', ')}], expected [${shape.join(', ')}]`);
  const rowSize = shape.reduce((a, b) => a * b, 1);
  if (s.x.length !== s.y.length * rowSize) throw new InvalidArgument(`'${name}' has ${s.x.length} numbers for ${s.y.length} items of ${rowSize}`);
  if (!allowEmpty && s.y.length === 0) throw new InvalidArgument(`'${name}' has no items`);
  for (let i = 0; i < s.y.length; i++) {
    const c = s.y[i] as number;
    if (c < 0 || c >= numClasses) throw new InvalidArgument(`'${name}' item ${i} has class ${c}, outside 0..${numClasses - 1}`, { data: { set: name, item: i } });
  }
  for (let i = 0; i < s.x.length; i++) {
    const v = s.x[i] as number;
    if (v - v !== 0) throw new InvalidArgument(`'${name}' item ${Math.floor(i / rowSize)} has a non-finite value`, { data: { set: name, item: Math.floor(i / rowSize) } });
  }
}

function classCounts(y: Int32Array, k: number): number[] {
  const c = new Array<number>(k).fill(0);
  for (const v of y) c[v] = (c[v] as number) + 1;
  return c;
}

/** The plan for these options (pure; also what a build can record before training). */
export function planFor(options: Pick<TrainOptions, 'train' | 'numClasses' | 'preset' | 'head' | 'augment'>): TrainingPlan {
  return planTraining({
    ...(options.head ? { head: options.head } : {}),
    ...(options.augment?.flip ? { flip: options.augment.flip } : {}),
    ...(options.augment?.translate === false ? { translate: false } : {}),
    shape: options.train.shape,
    numClasses: options.numClasses,
    trainCount: options.train.y.length,
    classCounts: classCounts(options.train.y, options.numClasses),
    preset: options.preset,
  });
}

/** Yield to the event loop (so signals and timers run during long in-thread epochs). */
const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));

class LocalRunner implements Runner {
  readonly workers = 0;
  private readonly replica: Replica;
  constructor(tf: Awaited<ReturnType<typeof selectEngine>>['tf'], plan: TrainingPlan, seed: number, private readonly train: DataSet, private readonly validation: DataSet) {
    this.replica = new Replica(tf, plan, seed, train);
  }

  async runEpoch(epoch: number, order: Uint32Array, learningRate: number, onBatch: ((step: number, loss: number) => void) | undefined, signal: AbortSignal | undefined): Promise<EpochOutcome> {
    const r = this.replica;
    const aborted = () => signal?.aborted === true;
    const exchange = localExchange(r.net.paramCount, r.plan.shards, aborted);
    return r.runEpoch(epoch, order, exchange, { ...(onBatch ? { onBatch } : {}), shouldAbort: aborted, pause: yieldNow }, learningRate);
  }

  async evaluate(weights?: Float32Array): Promise<{ lossSum: number; correct: number }> {
    const chunks = Array.from({ length: evalChunkCount(this.validation.count) }, (_, i) => i);
    return sumChunks(this.replica.evaluateChunks(this.validation, chunks, weights));
  }

  async getState(): Promise<{ weights: Float32Array; adam: AdamState }> {
    const { weights, adam } = this.replica;
    return { weights: new Float32Array(weights), adam: { m: new Float32Array(adam.m), v: new Float32Array(adam.v), t: adam.t, p1: adam.p1, p2: adam.p2 } };
  }

  async setState(weights: Float32Array, adam: AdamState): Promise<void> {
    this.replica.setState(weights, adam);
  }

  async dispose(): Promise<void> {
    this.replica.dispose();
  }
}

function defaultWorkers(engine: EngineInfo, plan: TrainingPlan, trainCount: number): number {
  // Native engines use every core themselves; tiny datasets do not repay worker start-up.
  if (engine.backend === 'tensorflow' || trainCount < 4096) return 0;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const n = Math.min(cores, plan.shards);
  return n > 1 ? n : 0;
}

function trainingKey(plan: TrainingPlan, seed: number, trainCount: number, valCount: number, options: TrainOptions): string {
  return sha256Hex(canonicalJson({ plan, seed, trainCount, valCount, lr: options.learningRateOverride ?? null, epochs: options.epochsOverride ?? null }));
}

/**
 * Training stopped by the signal. `epochsDone` epochs have their checkpoint delivered, so a
 * rerun with the same inputs resumes after the last of them.
 */
function throwInterrupted(signal: AbortSignal | undefined, epochsDone = 0): never {
  const reason = signal?.reason instanceof Error ? signal.reason.message : String(signal?.reason ?? 'aborted');
  throw new Interrupted(epochsDone > 0 ? `training interrupted after epoch ${epochsDone}` : 'training interrupted before its first epoch ended', {
    data: { reason, epochsDone },
    hint: epochsDone > 0
      ? `run the same command again: training resumes after epoch ${epochsDone} (its checkpoint is kept)`
      : 'run the same command again to train from the start',
  });
}

/**
 * Train a classifier on packed data.
 *
 * @example
 * const result = await train({
 *   train: { x, y, shape: [28, 28, 1] }, validation: { x: vx, y: vy, shape: [28, 28, 1] },
 *   numClasses: 10, seed: 0, preset: 'default',
 *   onEpoch: (e) => onProgress({ phase: 'train', loaded: e.epoch, total: e.maxEpochs, detail: e }),
 *   onCheckpoint: (bytes) => store.write(bytes),
 *   signal,
 * });
 * const model = await loadModel(result.model);
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { numClasses, seed, signal } = options;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InvalidArgument(`seed must be an integer in 0..4294967295, not ${seed}`);
  const shape = options.train?.shape;
  if (!Array.isArray(shape)) throw new InvalidArgument("'train' needs a shape");
  validateSet('train', options.train, shape, numClasses, false);
  validateSet('validation', options.validation, shape, numClasses, true);
  if (options.epochsOverride !== undefined && (!Number.isInteger(options.epochsOverride) || options.epochsOverride < 1)) {
    throw new InvalidArgument(`epochsOverride must be a whole number >= 1, not ${options.epochsOverride}`);
  }
  if (options.maxEpochs !== undefined && (!Number.isInteger(options.maxEpochs) || options.maxEpochs < 1)) {
    throw new InvalidArgument(`maxEpochs must be a whole number >= 1, not ${options.maxEpochs}`);
  }
  const planned: TrainingPlan = { ...planFor(options), ...options.planPatch };
  const basePlan = options.maxEpochs !== undefined && options.maxEpochs < planned.maxEpochs ? { ...planned, maxEpochs: options.maxEpochs } : planned;
  const plan: TrainingPlan = options.epochsOverride !== undefined ? { ...basePlan, maxEpochs: options.epochsOverride, restoreBest: false } : basePlan;
  const learningRate = options.learningRateOverride ?? plan.optimizer.learningRate;
  if (signal?.aborted) throwInterrupted(signal);

  const { tf, info } = await selectEngine(options.engine ?? 'auto');
  const rowSize = shape.reduce((a, b) => a * b, 1);
  const trainSet = toDataSet(options.train, rowSize);
  const valSet = toDataSet(options.validation, rowSize);
  const requested = options.workers ?? 'auto';
  if (requested !== 'auto' && (!Number.isInteger(requested) || requested < 0)) throw new InvalidArgument(`workers must be 'auto' or a whole number >= 0, not ${String(requested)}`);
  const workers = requested === 'auto' ? defaultWorkers(info, plan, trainSet.count) : Math.min(requested, plan.shards);
  let runner: Runner;
  if (workers > 0) {
    const { WorkerRunner } = await import('./parallel.js');
    runner = await WorkerRunner.start({ engine: info.name, plan, seed, train: trainSet, validation: valSet, workers, ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}) });
  } else {
    runner = new LocalRunner(tf, plan, seed, trainSet, valSet);
  }

  // The weights evaluated and saved: batch normalisation folded into the convolutions, in this
  // thread (the same arithmetic whatever the number of workers), or the training weights.
  const inferenceWeights = (weights: Float32Array): Float32Array => (plan.batchNorm ? foldBatchNorm(tf, plan.architecture, weights, trainSet) : weights);
  const key = trainingKey(plan, seed, trainSet.count, valSet.count, options);
  let state: TrainingState;
  try {
    const initial = await runner.getState();
    state = {
      key, seed, engine: info.id, epochsDone: 0, stopped: null, weights: initial.weights, adam: initial.adam,
      best: { loss: null, epoch: 0, since: 0, weights: initial.weights },
      history: [], rng: { nextShuffle: new Rng(deriveSeed(seed, STREAM.shuffle, 0)).state() },
    };
    if (options.resumeFrom) {
      const saved = parseCheckpoint(options.resumeFrom);
      if (saved.key !== key || saved.seed !== seed) {
        throw new InvalidArgument('the checkpoint belongs to another training run (different data sizes, preset, seed or settings)', { data: { checkpointEngine: saved.engine } });
      }
      const expected = new Rng(deriveSeed(seed, STREAM.shuffle, saved.epochsDone)).state();
      if (canonicalJson(expected) !== canonicalJson(saved.rng.nextShuffle)) throw new InvalidArgument('the checkpoint is damaged (its random state does not match its epoch)');
      state = saved;
      await runner.setState(state.weights, state.adam);
    }

    const started = performance.now();
    let trainedSeconds = 0;
    let trainedRows = 0;
    let runEpochs = 0;
    const steps = Math.ceil(trainSet.count / plan.batchSize);
    let stoppedBy: StopReason | null = (state.stopped as StopReason | null) ?? null;
    while (!stoppedBy && state.epochsDone < plan.maxEpochs) {
      const epoch = state.epochsDone;
      // Let the event loop run between epochs too (a signal's handler, the progress display):
      // evaluation and the checkpoint run in this thread.
      await yieldNow();
      if (signal?.aborted) throwInterrupted(signal, state.epochsDone);
      const t0 = performance.now();
      const order = epochOrder(seed, epoch, trainSet.count);
      // The budget also ends an epoch that runs past it (the runner stops at a batch boundary,
      // every worker at the same one, as for Ctrl-C). The run's first batch always trains: its
      // deadline is armed once that batch is done.
      const budget = options.timeBudgetSeconds !== undefined ? budgetSignal(started + options.timeBudgetSeconds * 1000, signal) : undefined;
      if (budget && runEpochs > 0) budget.arm();
      const report = options.onBatch;
      const onBatch = report || (budget && runEpochs === 0)
        ? (s: number, loss: number) => {
          if (s === 0) budget?.arm();
          report?.({ epoch: epoch + 1, batch: s + 1, batches: steps, loss });
        }
        : undefined;
      let out: EpochOutcome;
      try {
        out = await runner.runEpoch(epoch, order, learningRate, onBatch, budget?.signal ?? signal);
      } finally {
        budget?.dispose();
      }
      const cut = out.kind === 'aborted' && !signal?.aborted && budget?.expired() === true;
      if (cut && out.steps === 0 && state.epochsDone > 0) {
        stoppedBy = 'timeBudget';
        state.stopped = stoppedBy;
        break;
      }
      if (out.kind === 'aborted' && !cut) throwInterrupted(signal, state.epochsDone);
      if (out.kind === 'diverged') {
        const layers = out.layers ?? [];
        const layer = layers[0] ?? null;
        const err = new TrainingDiverged(
          `training diverged at epoch ${epoch + 1}, batch ${(out.step ?? 0) + 1}: ${layer ? `non-finite gradients in layer '${layer}'` : 'the loss is not finite'}`,
          {
            data: { epoch: epoch + 1, batch: (out.step ?? 0) + 1, layer, layers, loss: Number.isFinite(out.stepLoss) ? out.stepLoss : String(out.stepLoss), lastGoodEpoch: state.epochsDone },
            hint: state.epochsDone > 0
              ? `the checkpoint of epoch ${state.epochsDone} is the last good one; check the data for extreme values`
              : 'check the data for extreme values (inputs should be scaled, e.g. to [0, 1])',
          },
        );
        throw err;
      }
      const trainSeconds = (performance.now() - t0) / 1000;
      trainedSeconds += trainSeconds;
      trainedRows += cut ? Math.min(trainSet.count, out.steps * plan.batchSize) : trainSet.count;
      const current = await runner.getState();
      let valLoss: number | null = null;
      let valAccuracy: number | null = null;
      if (valSet.count > 0) {
        const ev = await runner.evaluate(plan.batchNorm ? inferenceWeights(current.weights) : undefined);
        valLoss = ev.lossSum / valSet.count;
        valAccuracy = ev.correct / valSet.count;
      }
      const seconds = (performance.now() - t0) / 1000;
      state.history.push({ epoch: epoch + 1, loss: out.loss, valLoss, valAccuracy, seconds, ...(cut ? { batches: { done: out.steps, of: steps } } : {}) });
      state.epochsDone = epoch + 1;
      state.weights = current.weights;
      state.adam = current.adam;
      // Early stopping watches validation loss (training loss when there is no validation set).
      const watched = valLoss ?? out.loss;
      if (state.best.loss === null || watched < state.best.loss - plan.minDelta) {
        state.best = { loss: watched, epoch: epoch + 1, since: 0, weights: current.weights };
      } else {
        state.best.since += 1;
      }
      runEpochs += 1;
      const elapsed = (performance.now() - started) / 1000;
      const perEpoch = elapsed / runEpochs;
      if (options.epochsOverride === undefined && state.best.since >= plan.patience) stoppedBy = 'earlyStopping';
      else if (cut) stoppedBy = 'timeBudget';
      else if (options.timeBudgetSeconds !== undefined && elapsed + perEpoch > options.timeBudgetSeconds && state.epochsDone < plan.maxEpochs) stoppedBy = 'timeBudget';
      state.stopped = stoppedBy;
      state.rng = { nextShuffle: new Rng(deriveSeed(seed, STREAM.shuffle, state.epochsDone)).state() };
      const secondsPerEpoch = state.history.reduce((a, h) => a + h.seconds, 0) / state.history.length;
      const etaSeconds = stoppedBy ? 0 : timeLeft(plan.maxEpochs - state.epochsDone, perEpoch, elapsed, options.timeBudgetSeconds);
      const event: EpochEvent = {
        epoch: epoch + 1, maxEpochs: plan.maxEpochs, loss: out.loss, valLoss, valAccuracy, secondsPerEpoch, etaSeconds, expectedSeconds: elapsed + etaSeconds,
      };
      options.onEpoch?.(event);
      options.onProgress?.({
        phase: 'train', loaded: epoch + 1, total: plan.maxEpochs,
        detail: { loss: out.loss, valLoss, metric: valAccuracy, secondsPerEpoch, etaSeconds, expectedSeconds: event.expectedSeconds, ...(cut ? { batches: out.steps, of: steps } : {}) },
      });
      if (options.onCheckpoint) await options.onCheckpoint(serializeCheckpoint(state), { epoch: epoch + 1 });
    }
    const final = stoppedBy ?? (options.epochsOverride !== undefined ? 'epochs' : 'maxEpochs');
    const keepBest = plan.restoreBest && state.best.loss !== null;
    const weights = keepBest ? state.best.weights : state.weights;
    const bestEpoch = keepBest ? state.best.epoch : state.epochsDone;
    // Checkpoints keep the training weights (γ and β too), so a resumed run folds the same ones.
    const model = serializeModel(plan.architecture, inferenceWeights(weights), { engine: info.id, preset: plan.preset, seed, epochs: state.epochsDone, bestEpoch });
    return {
      model, history: state.history, plan, engine: info, workers, epochs: state.epochsDone, bestEpoch, stoppedBy: final,
      // A resumed run that had no epoch left reports the rate of the epochs its checkpoint records.
      samplesPerSecond: trainedSeconds > 0 ? trainedRows / trainedSeconds : historyRate(state.history, trainSet.count),
    };
  } finally {
    await runner.dispose();
  }
}

/**
 * Seconds of training left: `epochs` more at `perEpoch` (wall time per epoch so far, evaluation
 * and checkpoints included), but within a budget only the epochs the stopping rule lets start
 * (another epoch starts while elapsed + perEpoch ≤ budget), and never past the budget itself.
 */
export function timeLeft(epochs: number, perEpoch: number, elapsed: number, budget: number | undefined): number {
  if (budget === undefined) return epochs * perEpoch;
  const fit = perEpoch > 0 ? Math.max(0, Math.floor((budget - elapsed) / perEpoch + 1e-9)) : epochs;
  return Math.min(Math.min(epochs, fit) * perEpoch, Math.max(0, budget - elapsed));
}

/**
 * An AbortSignal that fires at `deadline` (performance.now() milliseconds) or with `outer`;
 * `expired()` tells whether the deadline fired it. Dispose clears the timer.
 */
function budgetSignal(deadline: number, outer: AbortSignal | undefined): { signal: AbortSignal; arm(): void; expired(): boolean; dispose(): void } {
  const ac = new AbortController();
  let expired = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fire = () => {
    expired = true;
    ac.abort();
  };
  const onOuter = () => ac.abort();
  if (outer?.aborted) ac.abort();
  outer?.addEventListener('abort', onOuter);
  return {
    signal: ac.signal,
    arm: () => {
      if (timer !== undefined || expired) return;
      const wait = deadline - performance.now();
      if (wait <= 0) fire();
      else timer = setTimeout(fire, wait);
    },
    expired: () => expired,
    dispose: () => {
      if (timer !== undefined) clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    },
  };
}

function historyRate(history: readonly EpochRecord[], rows: number): number {
  const seconds = history.reduce((a, h) => a + h.seconds, 0);
  return seconds > 0 ? (rows * history.length) / seconds : 0;
}
