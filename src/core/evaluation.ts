/**
 * Evaluations: one model's metrics and per-item predictions on the sets of one dataset. Stored
 * as an object (format `d2-evaluation 1`, JSON with probabilities as base64 float32) and read by
 * `d2 diff`, which compares two of them item by item. Pure.
 *
 * Invariant: predictions are addressable by item (oid and '<source>/<path>'), so a diff can pair
 * the same items across two models and two datasets; probabilities are stored exactly (float32).
 */
import type { ItemSet } from './dataset.js';
import { argmaxRows, computeMetrics, type Metrics } from './metrics.js';
import { base64ToBytes, bytesToBase64 } from '../util/base64.js';

export interface SetPredictions {
  /** '<source>/<path>' of each item. */
  paths: string[];
  oids: string[];
  /** True class index of each item (into `classes`). */
  labels: number[];
  /** N × classes probabilities, row-major. */
  probs: Float32Array;
}

export interface SetEvaluation {
  metrics: Metrics;
  predictions: SetPredictions;
}

export interface Evaluation {
  format: 1;
  /** Model object oid. */
  model: string;
  /** Dataset object oid the items come from. */
  dataset: string;
  classes: string[];
  sets: Partial<Record<ItemSet, SetEvaluation>>;
}

export function evaluateSet(predictions: SetPredictions, classes: readonly string[]): SetEvaluation {
  const predicted = argmaxRows(predictions.probs, classes.length);
  return { metrics: computeMetrics(predictions.labels, predicted, classes), predictions };
}

/** Model tests that fail: the predicted class differs from the label the data manager insists on. */
export function failingModelTests(e: SetEvaluation, classes: readonly string[]): string[] {
  const predicted = argmaxRows(e.predictions.probs, classes.length);
  return e.predictions.paths.filter((_, i) => predicted[i] !== e.predictions.labels[i]);
}

interface StoredSet {
  metrics: Metrics;
  paths: string[];
  oids: string[];
  labels: number[];
  probs: string;
}

/** Float32 values as base64 of their little-endian bytes (exact, and smaller than decimal text). */
export function f32ToBase64(a: Float32Array): string {
  return bytesToBase64(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

export function base64ToF32(b64: string): Float32Array {
  const bytes = base64ToBytes(b64);
  if (bytes.length % 4 !== 0) throw new Error(`base64 float data of ${bytes.length} bytes is not whole 32-bit numbers`);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

export function serializeEvaluation(e: Evaluation): string {
  const sets: Record<string, StoredSet> = {};
  for (const [name, s] of Object.entries(e.sets)) {
    sets[name] = { metrics: s.metrics, paths: s.predictions.paths, oids: s.predictions.oids, labels: s.predictions.labels, probs: f32ToBase64(s.predictions.probs) };
  }
  return JSON.stringify({ format: e.format, kind: 'd2-evaluation', model: e.model, dataset: e.dataset, classes: e.classes, sets });
}

export function parseEvaluation(text: string): Evaluation {
  const raw = JSON.parse(text) as { format: number; kind: string; model: string; dataset: string; classes: string[]; sets: Record<string, StoredSet> };
  if (raw.kind !== 'd2-evaluation' || raw.format !== 1) throw new Error('not a d2 evaluation');
  const sets: Evaluation['sets'] = {};
  for (const [name, s] of Object.entries(raw.sets)) {
    sets[name as ItemSet] = { metrics: s.metrics, predictions: { paths: s.paths, oids: s.oids, labels: s.labels, probs: base64ToF32(s.probs) } };
  }
  return { format: 1, model: raw.model, dataset: raw.dataset, classes: raw.classes, sets };
}
