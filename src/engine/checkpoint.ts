/**
 * Checkpoints: the complete training state at the end of an epoch, as bytes, so that a run
 * resumed from one ends with the same weights as a run that was never interrupted.
 *
 * Format 'D2CKPT01' (the container of container.ts): header
 *   { format: 1, key, seed, engine, epochsDone, stopped, adam: { t, p1, p2 },
 *     best: { loss, epoch, since }, history, rng: { nextShuffle } }
 * and arrays `weights`, `adamM`, `adamV`, `bestWeights`.
 *
 * `key` identifies what was being trained (the plan and the data's sizes); a checkpoint resumes
 * only a run with the same key and seed. `rng.nextShuffle` is the state of the generator that
 * shuffles the next epoch (every stream is derived from the seed and the epoch/step, so this is
 * the whole random state; it is checked on resume).
 */
import { InvalidArgument } from '../errors/index.js';
import type { AdamState } from './adam.js';
import { decodeContainer, encodeContainer } from './container.js';
import type { RngState } from './prng.js';

export const CHECKPOINT_MAGIC = 'D2CKPT01';

export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  loss: number;
  valLoss: number | null;
  valAccuracy: number | null;
  seconds: number;
  /** Set when the time budget ended the epoch early: the batches it trained (of `of`). */
  batches?: { done: number; of: number };
}

export interface TrainingState {
  key: string;
  seed: number;
  engine: string;
  epochsDone: number;
  /** Why training stopped at this checkpoint, or null when it goes on. */
  stopped: string | null;
  weights: Float32Array;
  adam: AdamState;
  best: { loss: number | null; epoch: number; since: number; weights: Float32Array };
  history: EpochRecord[];
  rng: { nextShuffle: RngState };
}

export function serializeCheckpoint(s: TrainingState): Uint8Array {
  return encodeContainer(CHECKPOINT_MAGIC, {
    format: 1,
    key: s.key,
    seed: s.seed,
    engine: s.engine,
    epochsDone: s.epochsDone,
    stopped: s.stopped,
    adam: { t: s.adam.t, p1: s.adam.p1, p2: s.adam.p2 },
    best: { loss: s.best.loss, epoch: s.best.epoch, since: s.best.since },
    history: s.history,
    rng: s.rng,
  }, [['weights', s.weights], ['adamM', s.adam.m], ['adamV', s.adam.v], ['bestWeights', s.best.weights]]);
}

export function parseCheckpoint(bytes: Uint8Array): TrainingState {
  const { header: h, blobs } = decodeContainer(bytes, CHECKPOINT_MAGIC, 'checkpoint');
  if (h.format !== 1) throw new InvalidArgument(`d2 checkpoint format ${String(h.format)} is not supported (expected 1)`);
  const need = (name: string): Float32Array => {
    const a = blobs.get(name);
    if (!a) throw new InvalidArgument(`d2 checkpoint lacks '${name}'`);
    return a;
  };
  const num = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidArgument(`d2 checkpoint has a damaged '${what}'`);
    return v;
  };
  const obj = (v: unknown, what: string): Record<string, unknown> => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidArgument(`d2 checkpoint has a damaged '${what}'`);
    return v as Record<string, unknown>;
  };
  const adam = obj(h.adam, 'adam');
  const best = obj(h.best, 'best');
  const rng = obj(h.rng, 'rng');
  const shuffle = rng.nextShuffle;
  if (!Array.isArray(shuffle) || shuffle.length !== 4 || shuffle.some((v) => !Number.isInteger(v))) throw new InvalidArgument("d2 checkpoint has a damaged 'rng'");
  if (!Array.isArray(h.history)) throw new InvalidArgument("d2 checkpoint has a damaged 'history'");
  if (typeof h.key !== 'string') throw new InvalidArgument("d2 checkpoint has a damaged 'key'");
  const weights = need('weights');
  const sized = (name: string): Float32Array => {
    const a = need(name);
    if (a.length !== weights.length) throw new InvalidArgument(`d2 checkpoint has ${a.length} numbers in '${name}' for ${weights.length} weights`);
    return a;
  };
  const bestLoss = best.loss === null ? null : num(best.loss, 'best.loss');
  return {
    key: h.key,
    seed: num(h.seed, 'seed'),
    engine: String(h.engine),
    epochsDone: num(h.epochsDone, 'epochsDone'),
    stopped: (h.stopped as string | null) ?? null,
    weights,
    adam: { m: sized('adamM'), v: sized('adamV'), t: num(adam.t, 'adam.t'), p1: num(adam.p1, 'adam.p1'), p2: num(adam.p2, 'adam.p2') },
    best: { loss: bestLoss, epoch: num(best.epoch, 'best.epoch'), since: num(best.since, 'best.since'), weights: sized('bestWeights') },
    history: h.history as EpochRecord[],
    rng: { nextShuffle: shuffle as RngState },
  };
}
