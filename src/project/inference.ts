/**
 * Running a built model on items it was not evaluated on: raw image bytes (or table rows)
 * through the build's own preprocessing, then the model. `d2 diff` uses it when a model must
 * be evaluated on another revision's items, `d2 predict` on files outside the store.
 *
 * Invariants:
 * - Images go through preprocess's pool (`processToFloat`: decode, the build's pixel steps,
 *   x / 255, its normalisation): the one implementation training data went through. Rows go
 *   through `encodeRow` with the encoding the build fitted on its training split.
 * - An item that cannot be preprocessed is reported, never silently dropped or guessed.
 */
import type { CommonOptions } from '../core/progress.js';
import { InvalidArgument, isD2Error, ItemInvalid, type D2Error } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import type { LoadedModel } from '../engine/model.js';
import type { ImagePool } from '../preprocess/index.js';
import type { ObjectStore } from '../store/index.js';
import { backboneOfBuild } from './backbone.js';
import type { BuildRecord } from './builds.js';

/** What a model's inputs are made with: a build's `preprocess` record. */
export type Preprocessing = BuildRecord['preprocess'];

export interface InferenceItem {
  /** Caller's name for the item (a path, '<source>/<path>', a row number). */
  key: string;
  /** Raw image bytes (image models). */
  bytes?: Uint8Array;
  /** Column values (table models; text models read the text column). */
  row?: Record<string, string>;
  /** A text (text models; `bytes` are decoded as UTF-8 otherwise). */
  text?: string;
}

export interface FeatureBatch {
  /** Items that could be preprocessed, in input order: x holds their features. */
  keys: string[];
  x: Float32Array;
  failed: { key: string; error: D2Error }[];
}

const DEFAULT_MAX_PIXELS = 50_000_000;

/** Preprocess items the way `build` preprocessed its training data. */
export async function featuresFor(pre: Preprocessing, items: readonly InferenceItem[], options: { maxPixels?: number; workers?: number; signal?: AbortSignal; pool?: ImagePool } = {}): Promise<FeatureBatch> {
  const rowSize = pre.shape.reduce((a, b) => a * b, 1);
  const failed: FeatureBatch['failed'] = [];
  if (pre.modality === 'text') {
    const encoding = pre.text;
    if (!encoding) throw new InvalidArgument('this build has no text encoding');
    const { preprocessText, textOfInput } = await import('../preprocess/index.js');
    const x = new Float32Array(items.length * rowSize);
    const keys: string[] = [];
    for (const it of items) {
      try {
        const text = textOfInput(it, encoding);
        x.set(preprocessText(text, { modality: 'text', steps: [], shape: pre.shape, text: encoding }), keys.length * rowSize);
        keys.push(it.key);
      } catch (e) {
        if (!isD2Error(e)) throw e;
        failed.push({ key: it.key, error: e });
      }
    }
    return { keys, x: x.subarray(0, keys.length * rowSize), failed };
  }
  if (pre.modality === 'table') {
    const encoding = pre.table;
    if (!encoding) throw new InvalidArgument('this build has no table encoding (it was made by an older d2)');
    const { encodeRow } = await import('../preprocess/index.js');
    const x = new Float32Array(items.length * rowSize);
    const keys: string[] = [];
    for (const it of items) {
      if (!it.row) throw new InvalidArgument(`'${it.key}' is not a table row, and the model reads table rows`);
      try {
        encodeRow(it.row, encoding, x.subarray(keys.length * rowSize, (keys.length + 1) * rowSize));
        keys.push(it.key);
      } catch (e) {
        if (!isD2Error(e)) throw e;
        failed.push({ key: it.key, error: e });
      }
    }
    return { keys, x: x.subarray(0, keys.length * rowSize), failed };
  }
  const { createImagePool } = await import('../preprocess/index.js');
  const pool = options.pool ?? createImagePool(options.workers !== undefined ? { workers: options.workers } : {});
  const x = new Float32Array(items.length * rowSize);
  const keys: string[] = [];
  try {
    const input = items.map((it) => {
      if (!it.bytes) throw new InvalidArgument(`'${it.key}' has no image bytes, and the model reads images`);
      return { key: it.key, bytes: it.bytes };
    });
    const config = { steps: pre.steps, maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS };
    for await (const out of pool.processToFloat(input, config, options.signal ? { signal: options.signal } : {})) {
      if (out.error) {
        failed.push({ key: out.key, error: out.error });
        continue;
      }
      const t = out.result;
      const shape = [t.height, t.width, t.channels];
      if (shape.join('x') !== pre.shape.join('x')) {
        // an item the steps do not bring to the model's shape (no resize step): this item fails, not the run
        failed.push({ key: out.key, error: new ItemInvalid(`'${out.key}' preprocesses to ${shape.join('×')}, the model expects ${pre.shape.join('×')}`, { data: { reason: 'shape', shape, expected: pre.shape } }) });
        continue;
      }
      x.set(t.data, keys.length * rowSize);
      keys.push(out.key);
    }
  } finally {
    if (!options.pool) await pool.close();
  }
  return { keys, x: x.subarray(0, keys.length * rowSize), failed };
}

/** Load a build's model from the store on an engine (with its backbone, when it has one: images in). */
export async function openModel(store: ObjectStore, build: BuildRecord, engine: EngineRequest = 'auto'): Promise<LoadedModel> {
  const { loadModel } = await import('../engine/model.js');
  const backbone = backboneOfBuild(store, build);
  return loadModel(store.read(build.model), { engine, ...(backbone ? { backbone } : {}) });
}

/** Class probabilities (N × classes) of packed features. */
export async function probabilities(model: LoadedModel, x: Float32Array, onProgress?: CommonOptions['onProgress']): Promise<Float32Array> {
  const { predict } = await import('../engine/model.js');
  onProgress?.({ phase: 'predict', loaded: 0 });
  const probs = await predict(model, x);
  onProgress?.({ phase: 'predict', loaded: probs.length / model.numClasses });
  return probs;
}
