/**
 * Prediction with a built model: `Predictor` (a model plus its build's preprocessing) for
 * scripts, and `predict`, the function behind `d2 predict`, which streams predictions for
 * files, folders and CSV rows.
 *
 * Invariants:
 * - Inputs go through the same preprocessing functions the model was trained and evaluated
 *   with (api/inference.ts); predictions of a stored item equal its stored evaluation's,
 *   bit for bit on the same engine (tested).
 * - Memory is bounded: inputs are read, preprocessed and predicted in chunks; each prediction
 *   is handed to `onPrediction` as soon as its chunk is done.
 * - An input that cannot be read or preprocessed is reported in its row, never dropped.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommonOptions } from '../core/progress.js';
import { InvalidArgument, ModelNotBuilt, PathNotFound, throwIfAborted } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import type { LoadedModel } from '../engine/model.js';
import { LOCK_FILE, parseCsvTable } from '../manifest/index.js';
import type { ImagePool } from '../preprocess/index.js';
import { acquireLock, describeHolder } from '../store/index.js';
import { walk } from '../workspace/index.js';
import { buildOfLock, findBuildOf, type BuildRecord } from './build.js';
import { prepareData } from './data.js';
import { featuresFor, probabilities, type InferenceItem, type Preprocessing } from './inference.js';
import { openProject, withCaller } from './project.js';

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
  /** Probabilities for preprocessed features (N × product(shape)). */
  predictFeatures(x: Float32Array): Promise<Float32Array>;
  /** @internal items in, rows out (errors per item). */
  run(items: readonly InferenceItem[], top: number, signal?: AbortSignal): Promise<PredictionRow[]>;
  dispose(): Promise<void>;
}

export function topK(probs: Float32Array, classes: readonly string[], k: number): ClassProbability[] {
  const order = Array.from(probs.keys()).sort((a, b) => (probs[b] as number) - (probs[a] as number) || a - b);
  return order.slice(0, k).map((i) => ({ label: classes[i]!, probability: probs[i] as number }));
}

/** Make a Predictor from model bytes and a preprocessing record (also used for exported bundles). */
export async function makePredictor(modelBytes: Uint8Array, info: { classes: string[]; preprocess: Preprocessing; model: string; maxPixels?: number }, engine: EngineRequest = 'auto'): Promise<Predictor> {
  const { loadModel } = await import('../engine/model.js');
  const loaded: LoadedModel = await loadModel(modelBytes, { engine });
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

export interface LoadModelOptions extends CommonOptions {
  /** The model of this revision (default: the build named by the working tree's d2.lock). */
  rev?: string;
  engine?: EngineRequest;
  lockTimeoutMs?: number;
}

/** The build a command should use: the working tree's last build, or a revision's. */
export async function resolveBuild(options: LoadModelOptions): Promise<{ build: BuildRecord; maxPixels: number; commit: string | null }> {
  const project = openProject(options.dir);
  if (options.rev === undefined) {
    const found = buildOfLock(project.store, fs.existsSync(path.join(project.root, LOCK_FILE)) ? fs.readFileSync(path.join(project.root, LOCK_FILE), 'utf8') : undefined);
    if (!found) throw new ModelNotBuilt('no model is built here: d2.lock names no model in this store', { hint: "run 'd2 build' first (or give --rev REV)" });
    return { build: found.build, maxPixels: project.manifest.preprocess.maxPixels, commit: null };
  }
  const lock = await acquireLock(project.store.dir, {
    command: 'd2 predict',
    timeoutMs: options.lockTimeoutMs,
    signal: options.signal,
    onWait: (holder) => options.onProgress?.({ phase: 'lock', loaded: 0, detail: { waitingFor: describeHolder(holder) } }),
  });
  try {
    let prepared = await prepareData(project, { rev: options.rev, preprocess: false, ...(options.signal ? { signal: options.signal } : {}) });
    let found = await findBuildOf(project, prepared, options.engine);
    if (!found && !prepared.result.blocked && prepared.resolved.items.length) {
      prepared = await prepareData(project, { rev: options.rev, ...(options.signal ? { signal: options.signal } : {}) });
      found = await findBuildOf(project, prepared, options.engine);
    }
    if (!found) throw new ModelNotBuilt(`revision '${options.rev}' has no model in this store`, { data: { rev: options.rev }, hint: `run 'd2 build --rev ${options.rev}'` });
    return { build: found.build, maxPixels: prepared.state.manifest.preprocess.maxPixels, commit: prepared.state.commit };
  } finally {
    lock.release();
  }
}

/**
 * A Predictor for a project's model (the working tree's last build, or a revision's).
 *
 * @example
 * const model = await loadModel({ dir: 'my-dataset' });
 * const probs = await model.predictImages([fs.readFileSync('shirt.png')]);
 * await model.dispose();
 */
export async function loadModel(options: LoadModelOptions = {}): Promise<Predictor> {
  return withCaller('d2.loadModel', async () => {
    const { build, maxPixels } = await resolveBuild(options);
    const project = openProject(options.dir);
    return makePredictor(project.store.read(build.model), { classes: build.classes, preprocess: build.preprocess, model: build.model, maxPixels }, options.engine);
  });
}

export interface PredictOptions extends LoadModelOptions {
  /** Image files, folders of images, or CSV files (rows, for table models). */
  paths: string[];
  /** Classes per prediction (default 3; at most the class count). */
  top?: number;
  /** Called with each prediction as soon as it is ready (streaming). */
  onPrediction?: (row: PredictionRow) => void;
  /** Keep predictions in the result (default true; false for streams of any size). */
  collect?: boolean;
}

export interface PredictResult {
  model: { oid: string; commit: string | null; engine: string; classes: string[] };
  count: number;
  failed: number;
  predictions: PredictionRow[];
}

const CHUNK = 256;

async function* inputsOf(paths: readonly string[], table: boolean, cwd: string, signal?: AbortSignal): AsyncGenerator<InferenceItem> {
  for (const given of paths) {
    const abs = path.resolve(cwd, given);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      throw new PathNotFound(`'${given}' does not exist`, { data: { path: given } });
    }
    if (table) {
      if (!st.isFile()) throw new InvalidArgument(`'${given}' is not a CSV file, and the model reads table rows`);
      const parsed = parseCsvTable(fs.readFileSync(abs, 'utf8'));
      if (parsed.issues.length) throw new InvalidArgument(`${given}:${parsed.issues[0]!.line}: ${parsed.issues[0]!.message}`);
      for (const r of parsed.rows) yield { key: `${given}:${r.line}`, row: Object.fromEntries(parsed.header.map((h, i) => [h, r.values[i] ?? ''])) };
      continue;
    }
    if (st.isDirectory()) {
      const w = await walk(abs, { projectRoot: abs, external: true, ...(signal ? { signal } : {}) });
      for (const f of w.files) yield { key: path.join(given, f.path), bytes: fs.readFileSync(f.abs) };
    } else {
      yield { key: given, bytes: fs.readFileSync(abs) };
    }
  }
}

/**
 * Predict files, folders or CSV rows with a built model.
 *
 * @example
 * const r = await predict({ dir: 'my-dataset', paths: ['new-photos'], top: 1 });
 * for (const p of r.predictions) console.log(p.input, p.top[0]?.label);
 */
export async function predict(options: PredictOptions): Promise<PredictResult> {
  return withCaller('d2.predict', async () => {
    if (!options.paths?.length) throw new InvalidArgument('give at least one file or folder to predict');
    const top = options.top ?? 3;
    if (!Number.isInteger(top) || top < 1) throw new InvalidArgument(`--top must be a whole number >= 1, not ${top}`);
    const { build, maxPixels, commit } = await resolveBuild(options);
    const project = openProject(options.dir);
    const predictor = await makePredictor(project.store.read(build.model), { classes: build.classes, preprocess: build.preprocess, model: build.model, maxPixels }, options.engine);
    const result: PredictResult = { model: { oid: build.model, commit, engine: predictor.engine, classes: build.classes }, count: 0, failed: 0, predictions: [] };
    const keep = options.collect !== false;
    const k = Math.min(top, build.classes.length);
    try {
      let chunk: InferenceItem[] = [];
      const flush = async () => {
        if (!chunk.length) return;
        for (const row of await predictor.run(chunk, k, options.signal)) {
          result.count++;
          if (row.error) result.failed++;
          if (keep) result.predictions.push(row);
          options.onPrediction?.(row);
        }
        options.onProgress?.({ phase: 'predict', loaded: result.count });
        chunk = [];
      };
      const cwd = options.dir ?? process.cwd();
      for await (const item of inputsOf(options.paths, build.preprocess.modality === 'table', cwd, options.signal)) {
        throwIfAborted(options.signal);
        chunk.push(item);
        if (chunk.length >= CHUNK) await flush();
      }
      await flush();
    } finally {
      await predictor.dispose();
    }
    return result;
  });
}
