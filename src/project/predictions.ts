/**
 * The predictions service: a build's model on any items, as class probabilities and
 * penultimate-layer feature vectors per (model, item), cached by content. `d2 diff` evaluates
 * two models on the same items through it; `review`, `suggest` and `report` read the same
 * cache.
 *
 * An item's outputs are taken, in order:
 * 1. probabilities only: from its build's stored evaluation, when the build evaluated an item
 *    with the same oid (same raw content, same model, same preprocessing: the same numbers);
 * 2. from the build's prediction cache: chunks (`d2-predictions` objects, core/predictions.ts)
 *    listed in `.d2/state/predictions-<build key>`;
 * 3. by running the model now on the item's raw bytes (or table row) through its own build's
 *    preprocessing (project/inference.ts: the one preprocessing path), in batches; the result
 *    (probabilities and features) is added to the cache as one more chunk.
 *
 * Invariants:
 * - A model is never fed another build's preprocessing.
 * - An item that cannot be preprocessed with the build's steps is reported (and remembered in
 *   the chunk), never guessed.
 * - The cache list is rewritten atomically under the store lock; a chunk lost to gc or damaged
 *   is only a cache miss.
 */
import type { DatasetItem } from '../core/dataset.js';
import { parseEvaluation } from '../core/evaluation.js';
import { featuresByOid, parsePredictionChunk, rowsByOid, serializePredictionChunk } from '../core/predictions.js';
import type { CommonOptions } from '../core/progress.js';
import { InvalidArgument, throwIfAborted } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import type { LoadedModel } from '../engine/model.js';
import { isTableSource, isTextSource, type SourceDecl } from '../manifest/index.js';
import type { ImagePool } from '../preprocess/index.js';
import type { ObjectStore } from '../store/index.js';
import type { BuildRecord } from './builds.js';
import { featuresFor, openModel, type InferenceItem } from './inference.js';
import type { PreparedData } from './prepared.js';
import type { Project } from './project.js';
import { readTableItems } from './table-source.js';
import { readTextItems } from './text-packing.js';

export interface PredictItemsOptions extends CommonOptions {
  engine?: EngineRequest;
  /** Also return each item's penultimate-layer feature vector (stored evaluations have none). */
  features?: boolean;
}

/** A model's outputs for items, index-aligned with them (undefined: could not be run). */
export interface ItemPredictions {
  /** Probability rows (classes of the build, in its order). */
  probs: (Float32Array | undefined)[];
  /** Feature vectors, when asked for. */
  features?: (Float32Array | undefined)[];
  /** Items whose outputs came from the build's stored evaluation. */
  stored: number;
  /** Items the model was run on (its own preprocessing), now or by an earlier run. */
  inferred: number;
  /** Of `inferred`, the items run now (0 when every output was cached). */
  computedNow: number;
  /** Items the model could not be run on, with why. */
  failed: { index: number; path: string; message: string }[];
}

/** Items run per batch: bounds memory (raw bytes and features of one batch at a time). */
const BATCH = 1024;

/** The prediction chunks cached for a build (for gc: they are kept while the build is). */
export function predictionChunks(store: ObjectStore, buildKey: string): string[] {
  return store.state.readLines('predictions', buildKey);
}

interface Cached {
  rows: Map<string, Float32Array>;
  features: Map<string, Float32Array>;
  failed: Map<string, string>;
}

function readChunks(store: ObjectStore, build: BuildRecord, features: boolean): Cached {
  const out: Cached = { rows: new Map(), features: new Map(), failed: new Map() };
  for (const oid of predictionChunks(store, build.key)) {
    if (!store.has(oid)) continue; // a chunk lost (gc): its items are run again
    try {
      const chunk = parsePredictionChunk(store.readText(oid), { features });
      if (chunk.model !== build.model || chunk.classes.length !== build.classes.length) continue;
      rowsByOid(chunk, out.rows);
      featuresByOid(chunk, out.features);
      for (const [k, v] of Object.entries(chunk.failed)) out.failed.set(k, v);
    } catch {
      // a damaged chunk is only a cache miss
    }
  }
  return out;
}

/** Rows of the table items of a state, by item oid, read from its committed CSV objects. */
function tableRows(store: ObjectStore, prepared: PreparedData): Map<string, Record<string, string>> {
  const rows = new Map<string, Record<string, string>>();
  const { state } = prepared;
  for (const [name, src] of state.sources) {
    const decl = state.manifest.sources[name];
    if (!decl || !isTableSource(decl) || !src.snapshot.table) continue;
    for (const [oid, values] of readTableItems(store.read(src.snapshot.table).toString('utf8'), decl, decl.path).rows) rows.set(oid, values);
  }
  return rows;
}

/**
 * Run a build's model on items it has no outputs for: raw bytes (or table rows) through its
 * own preprocessing, in batches, and store the result as one more chunk of its cache.
 */
async function runModel(project: Project, build: BuildRecord, items: readonly DatasetItem[], source: PreparedData, options: PredictItemsOptions): Promise<Cached> {
  const { store } = project;
  const k = build.classes.length;
  const text = build.preprocess.modality === 'text' ? readTextItems(store, source.state, [...new Set(items.map((i) => i.source))]) : undefined;
  const table = build.preprocess.modality === 'table' ? tableRows(store, source) : undefined;
  // A model reads one kind of item: images, rows of a table, or texts.
  const kindOf = (decl: SourceDecl) => (isTextSource(decl) ? 'a text' : isTableSource(decl) ? 'a table row' : 'an image');
  const reads = text ? 'texts' : table ? 'table rows' : 'images';
  const other = items.find((it) => {
    const decl = source.state.manifest.sources[it.source];
    return decl !== undefined && (text ? !isTextSource(decl) : isTextSource(decl) || isTableSource(decl) !== Boolean(table));
  });
  if (other) {
    throw new InvalidArgument(`model ${build.model.slice(0, 7)} reads ${reads}, but the evaluation item '${other.source}/${other.path}' is ${kindOf(source.state.manifest.sources[other.source]!)}: the two models cannot be compared on the same items`, {
      hint: "compare revisions whose datasets are of the same kind, or choose the evaluation set with option 'on'",
      data: { option: 'on' },
    });
  }
  const oids: string[] = [];
  const probs: Float32Array[] = [];
  const feats: Float32Array[] = [];
  let dims = 0;
  const failed: Record<string, string> = {};
  let model: LoadedModel | undefined;
  let pool: ImagePool | undefined;
  try {
    model = await openModel(store, build, options.engine ?? 'auto');
    const { predictFeatures } = await import('../engine/model.js');
    if (!table && !text) pool = (await import('../preprocess/index.js')).createImagePool();
    // a batch's inputs as floats stay under 64 MiB (a backbone's 224×224×3 images: 111 a batch)
    const rowSize = build.preprocess.shape.reduce((a, b) => a * b, 1);
    const batchSize = Math.max(16, Math.min(BATCH, Math.floor(2 ** 24 / rowSize)));
    for (let start = 0; start < items.length; start += batchSize) {
      throwIfAborted(options.signal);
      options.onProgress?.({ phase: 'infer', loaded: start, total: items.length, detail: { model: build.model } });
      const batch = items.slice(start, start + batchSize);
      const inputs: InferenceItem[] = batch.map((it) => {
        if (text) {
          const col = text.column.get(it.source);
          if (col === undefined) return { key: it.oid, bytes: store.read(it.oid, it.size) };
          return { key: it.oid, text: text.rows.get(it.oid)?.[col] ?? '' };
        }
        if (table) {
          const row = table.get(it.oid);
          if (!row) throw new InvalidArgument(`row '${it.source}/${it.path}' of the evaluation set is not in its table`);
          return { key: it.oid, row };
        }
        return { key: it.oid, bytes: store.read(it.oid, it.size) };
      });
      const input = await featuresFor(build.preprocess, inputs, {
        maxPixels: source.state.manifest.preprocess.maxPixels,
        ...(pool ? { pool } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (input.keys.length) {
        const out = await predictFeatures(model, input.x);
        dims = out.dims;
        input.keys.forEach((oid, i) => {
          oids.push(oid);
          probs.push(out.probs.slice(i * k, (i + 1) * k));
          feats.push(out.features.slice(i * dims, (i + 1) * dims));
        });
      }
      for (const f of input.failed) failed[f.key] = f.error.message;
    }
    options.onProgress?.({ phase: 'infer', loaded: items.length, total: items.length, detail: { model: build.model } });
  } finally {
    model?.dispose();
    await pool?.close();
  }
  const values = new Float32Array(oids.length * dims);
  feats.forEach((f, i) => values.set(f, i * dims));
  const allProbs = new Float32Array(oids.length * k);
  probs.forEach((p, i) => allProbs.set(p, i * k));
  const chunk = {
    format: 1 as const, build: build.key, model: build.model, classes: build.classes, oids, probs: allProbs, failed,
    ...(dims > 0 ? { features: { dims, values } } : {}),
  };
  const oid = store.putBytes(serializePredictionChunk(chunk));
  store.state.appendLine('predictions', build.key, oid);
  return { rows: rowsByOid(chunk), features: featuresByOid(chunk), failed: new Map(Object.entries(failed)) };
}

/**
 * A build's outputs for items of `source` (a prepared state that holds them): stored where
 * possible, else cached, else computed now. Expects the store lock held (it may add a chunk).
 */
export async function predictItems(project: Project, build: BuildRecord, items: readonly DatasetItem[], source: PreparedData, options: PredictItemsOptions = {}): Promise<ItemPredictions> {
  const { store } = project;
  const wantFeatures = options.features === true;
  const stored = new Map<string, Float32Array>();
  if (!wantFeatures) {
    const evaluation = parseEvaluation(store.readText(build.evaluation));
    for (const set of Object.values(evaluation.sets)) rowsByOid({ oids: set.predictions.oids, probs: set.predictions.probs, classes: evaluation.classes }, stored);
  }
  const out: ItemPredictions = {
    probs: new Array(items.length), stored: 0, inferred: 0, computedNow: 0, failed: [],
    ...(wantFeatures ? { features: new Array(items.length) } : {}),
  };
  let cache: Cached | undefined;
  const pending: number[] = [];
  items.forEach((it, i) => {
    const p = stored.get(it.oid);
    if (p) {
      out.probs[i] = p;
      out.stored++;
      return;
    }
    cache ??= readChunks(store, build, wantFeatures);
    const c = cache.rows.get(it.oid);
    const f = cache.features.get(it.oid);
    if (c && (!wantFeatures || f)) {
      out.probs[i] = c;
      if (out.features) out.features[i] = f;
      out.inferred++;
    } else if (cache.failed.has(it.oid)) {
      out.failed.push({ index: i, path: `${it.source}/${it.path}`, message: cache.failed.get(it.oid)! });
    } else {
      pending.push(i);
    }
  });
  if (!pending.length) return out;
  // Each distinct content once.
  const unique = [...new Map(pending.map((i) => [items[i]!.oid, items[i]!])).values()];
  const computed = await runModel(project, build, unique, source, options);
  for (const i of pending) {
    const it = items[i]!;
    const p = computed.rows.get(it.oid);
    if (p) {
      out.probs[i] = p;
      if (out.features) out.features[i] = computed.features.get(it.oid);
      out.inferred++;
      out.computedNow++;
    } else {
      out.failed.push({ index: i, path: `${it.source}/${it.path}`, message: computed.failed.get(it.oid) ?? 'could not be preprocessed' });
    }
  }
  return out;
}
