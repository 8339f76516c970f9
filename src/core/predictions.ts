/**
 * Computed predictions: one build's model run on items it was not evaluated on (by `d2 diff`
 * and every verb that asks project/predictions.ts), kept as objects (`d2-predictions`, JSON
 * with probabilities and penultimate-layer features as base64 float32) so that the next run
 * reads them instead of running the model again. Pure: format and lookup only.
 *
 * Invariant: a chunk belongs to one build (its key covers the model and its preprocessing),
 * and an item is named by its oid (the hash of its raw content), so a prediction found in any
 * chunk of that build is the one the model gives for those bytes. Probabilities are exact.
 */
import { base64ToF32, f32ToBase64 } from './evaluation.js';

export interface PredictionChunk {
  format: 1;
  /** Build key of the model that made these predictions. */
  build: string;
  /** Model object oid. */
  model: string;
  classes: string[];
  /** Item oids, in the order of `probs`' rows. */
  oids: string[];
  /** oids.length × classes.length probabilities, row-major. */
  probs: Float32Array;
  /** Items that could not be preprocessed with the build's steps: oid → message. */
  failed: Record<string, string>;
  /** Penultimate-layer feature vectors, oids.length × dims, row-major (absent in older chunks). */
  features?: { dims: number; values: Float32Array };
}

export function serializePredictionChunk(c: PredictionChunk): string {
  return JSON.stringify({
    format: 1, kind: 'd2-predictions', build: c.build, model: c.model, classes: c.classes, oids: c.oids, probs: f32ToBase64(c.probs), failed: c.failed,
    ...(c.features ? { dims: c.features.dims, features: f32ToBase64(c.features.values) } : {}),
  });
}

/** Parse a chunk; `features: false` skips decoding the feature vectors (callers that need only probabilities). */
export function parsePredictionChunk(text: string, options: { features?: boolean } = {}): PredictionChunk {
  const raw = JSON.parse(text) as { format: number; kind: string; build: string; model: string; classes: string[]; oids: string[]; probs: string; failed: Record<string, string>; dims?: number; features?: string };
  if (raw.kind !== 'd2-predictions' || raw.format !== 1) throw new Error('not a d2 predictions object');
  const probs = base64ToF32(raw.probs);
  if (probs.length !== raw.oids.length * raw.classes.length) throw new Error(`d2 predictions object: ${probs.length} probabilities for ${raw.oids.length} items`);
  const chunk: PredictionChunk = { format: 1, build: raw.build, model: raw.model, classes: raw.classes, oids: raw.oids, probs, failed: raw.failed };
  if (options.features !== false && raw.features !== undefined && Number.isInteger(raw.dims) && (raw.dims as number) > 0) {
    const values = base64ToF32(raw.features);
    if (values.length !== raw.oids.length * (raw.dims as number)) throw new Error(`d2 predictions object: ${values.length} feature values for ${raw.oids.length} items`);
    chunk.features = { dims: raw.dims as number, values };
  }
  return chunk;
}

/** Each item's probability row in a chunk, by oid (views into the chunk, not copies). */
export function rowsByOid(c: Pick<PredictionChunk, 'oids' | 'probs' | 'classes'>, into = new Map<string, Float32Array>()): Map<string, Float32Array> {
  const k = c.classes.length;
  c.oids.forEach((oid, i) => into.set(oid, c.probs.subarray(i * k, (i + 1) * k)));
  return into;
}

/** Each item's feature vector in a chunk, by oid (views), when the chunk has features. */
export function featuresByOid(c: Pick<PredictionChunk, 'oids' | 'features'>, into = new Map<string, Float32Array>()): Map<string, Float32Array> {
  const f = c.features;
  if (!f) return into;
  c.oids.forEach((oid, i) => into.set(oid, f.values.subarray(i * f.dims, (i + 1) * f.dims)));
  return into;
}
