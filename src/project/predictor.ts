/**
 * A model ready to predict with the preprocessing it was built with: `Predictor`, made from
 * model bytes and a build's `preprocess` record (a stored build, or an exported bundle).
 *
 * Invariant: inputs go through the same preprocessing functions the model was trained and
 * evaluated with (project/inference.ts); an input that cannot be preprocessed is reported in
 * its row, never dropped.
 */
import type { EngineRequest } from '../engine/engines.js';
import type { LoadedModel } from '../engine/model.js';
import type { ImagePool } from '../preprocess/index.js';
import type { ObjectStore } from '../store/index.js';
import { backboneOfBuild } from './backbone.js';
import type { BuildRecord } from './builds.js';
import { featuresFor, probabilities, type InferenceItem, type Preprocessing } from './inference.js';

/** A backbone the model's head reads the embeddings of (project/backbone.ts `backboneOfBuild`). */
export interface PredictorBackbone {
  files: ReadonlyMap<string, Uint8Array>;
  layer: string;
  /** [height, width, channels] of its input. */
  inputShape: number[];
  source: string;
}

export interface ClassProbability {
  label: string;
  probability: number;
}

export interface PredictionRow {
  /** The file path as given (folders: joined with the file's path inside), or 'file.csv:LINE'. */
  input: string;
  /** The top classes, most probable first (empty when `error`). */
  top: ClassProbability[];
  error?: { code: string; message: string };
}

/** A model ready to predict, with the preprocessing it was built with. */
export interface Predictor {
  readonly classes: readonly string[];
  readonly preprocess: Preprocessing;
  /** The model object's oid. */
  readonly model: string;
  readonly engine: string;
  /** Probabilities (N × classes, row-major) for raw image bytes; throws on an input it cannot preprocess. */
  predictImages(images: readonly Uint8Array[]): Promise<Float32Array>;
  /** Probabilities for table rows (column name → value). */
  predictRows(rows: readonly Record<string, string>[]): Promise<Float32Array>;
  /** Probabilities for texts (text models). */
  predictTexts(texts: readonly string[]): Promise<Float32Array>;
  /** Probabilities for preprocessed features (N × product(shape)). */
  predictFeatures(x: Float32Array): Promise<Float32Array>;
  /** @internal items in, rows out (errors per item). */
  run(items: readonly InferenceItem[], top: number, signal?: AbortSignal): Promise<PredictionRow[]>;
  dispose(): Promise<void>;
}

/**
 * The k most probable classes of one row of probabilities, most probable first (ties: the
 * class listed first).
 *
 * @example
 * const probs = await model.predictImages([bytes]);
 * topK(probs.subarray(0, model.classes.length), model.classes, 3); // [{ label, probability }, …]
 */
export function topK(probs: Float32Array, classes: readonly string[], k: number): ClassProbability[] {
  const order = Array.from(probs.keys()).sort((a, b) => (probs[b] as number) - (probs[a] as number) || a - b);
  return order.slice(0, k).map((i) => ({ label: classes[i]!, probability: probs[i] as number }));
}

/** Make a Predictor from model bytes and a preprocessing record (also used for exported bundles). */
export async function makePredictor(
  modelBytes: Uint8Array,
  info: { classes: string[]; preprocess: Preprocessing; model: string; maxPixels?: number; backbone?: PredictorBackbone },
  engine: EngineRequest = 'auto',
): Promise<Predictor> {
  const { loadModel } = await import('../engine/model.js');
  const loaded: LoadedModel = await loadModel(modelBytes, { engine, ...(info.backbone ? { backbone: info.backbone } : {}) });
  let pool: ImagePool | undefined;
  const getPool = async () => {
    if (!pool) pool = (await import('../preprocess/index.js')).createImagePool();
    return pool;
  };
  const k = info.classes.length;
  const features = async (items: readonly InferenceItem[], signal?: AbortSignal) => featuresFor(info.preprocess, items, {
    ...(info.maxPixels !== undefined ? { maxPixels: info.maxPixels } : {}),
    ...(info.preprocess.modality === 'image' ? { pool: await getPool() } : {}),
    ...(signal ? { signal } : {}),
  });
  const strict = async (items: InferenceItem[]) => {
    const f = await features(items);
    if (f.failed.length) throw f.failed[0]!.error;
    return probabilities(loaded, f.x);
  };
  return {
    classes: info.classes,
    preprocess: info.preprocess,
    model: info.model,
    engine: loaded.engine.id,
    predictImages: (images) => strict(images.map((bytes, i) => ({ key: String(i), bytes }))),
    predictRows: (rows) => strict(rows.map((row, i) => ({ key: String(i), row }))),
    predictTexts: (texts) => strict(texts.map((text, i) => ({ key: String(i), text }))),
    predictFeatures: (x) => probabilities(loaded, x),
    run: async (items, top, signal) => {
      const f = await features(items, signal);
      const probs = f.keys.length ? await probabilities(loaded, f.x) : new Float32Array(0);
      const byKey = new Map(f.keys.map((key, i) => [key, probs.subarray(i * k, (i + 1) * k)]));
      const failed = new Map(f.failed.map((x) => [x.key, x.error]));
      return items.map((it) => {
        const p = byKey.get(it.key);
        if (p) return { input: it.key, top: topK(p, info.classes, top) };
        const e = failed.get(it.key);
        return { input: it.key, top: [], error: { code: e?.code ?? 'ItemInvalid', message: e?.message ?? 'could not be preprocessed' } };
      });
    },
    dispose: async () => {
      loaded.dispose();
      await pool?.close();
    },
  };
}


/** A Predictor for a stored build: its model, with its backbone when it has one. */
export async function makeBuildPredictor(store: ObjectStore, build: BuildRecord, maxPixels: number, engine: EngineRequest = 'auto'): Promise<Predictor> {
  const backbone = backboneOfBuild(store, build);
  return makePredictor(store.read(build.model), { classes: build.classes, preprocess: build.preprocess, model: build.model, maxPixels, ...(backbone ? { backbone } : {}) }, engine);
}
