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
  const adam = h.adam as { t: number; p1: number; p2: number };
  const best = h.best as { loss: number | null; epoch: number; since: number };
  return {
    key: String(h.key),
    seed: Number(h.seed),
    engine: String(h.engine),
    epochsDone: Number(h.epochsDone),
    stopped: (h.stopped as string | null) ?? null,
    weights: need('weights'),
    adam: { m: need('adamM'), v: need('adamV'), t: adam.t, p1: adam.p1, p2: adam.p2 },
    best: { ...best, weights: need('bestWeights') },
    history: h.history as EpochRecord[],
    rng: h.rng as { nextShuffle: RngState },
  };
}
