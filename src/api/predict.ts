/**
 * Prediction with a built model: `Predictor` (a model plus its build's preprocessing) for
 * scripts, and `predict`, the function behind `d2 predict`, which streams predictions for
 * files, folders and CSV rows.
 *
 * Invariants:
 * - Inputs go through the same preprocessing functions the model was trained and evaluated
 *   with (api/inference.ts); predictions of a stored item equal its stored evaluation's,
 *   bit for bit on the same engine (tested).
 * - Memory is bounded: folders are walked for names only, files and CSV rows are read lazily,
 *   preprocessed and predicted in chunks; each prediction is yielded (`predictStream`) or
 *   handed to `onPrediction` as soon as its chunk is done, in input order.
 * - An input that cannot be read, decoded or encoded is reported in its row, never dropped;
 *   only a missing path, or a CSV without the model's columns, stops the run.
 * - "The last build" is the build the working tree's d2.lock names; `rev` finds a revision's
 *   build by its key, as `d2 build --rev` would, and never trains.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommonOptions } from '../core/progress.js';
import { parseEvaluation, type Evaluation } from '../core/evaluation.js';
import { InvalidArgument, isD2Error, ModelNotBuilt, PathNotFound, throwIfAborted } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import type { LoadedModel } from '../engine/model.js';
import { headCommit, openGitRepo, readFileAtCommit } from '../git/index.js';
import { LOCK_FILE, parseLock, readCsvRows } from '../manifest/index.js';
import type { ImagePool } from '../preprocess/index.js';
import { acquireLock, describeHolder } from '../store/index.js';
import { walk } from '../workspace/index.js';
import { buildOfLock, findBuildOf, type BuildRecord } from './build.js';
import { prepareData } from './data.js';
import { featuresFor, probabilities, type InferenceItem, type Preprocessing } from './inference.js';
import { openProject, withCaller, type Project } from './project.js';
import { relativePosix } from '../util/paths.js';

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

export interface ResolvedBuild {
  /** The build record's oid. */
  oid: string;
  build: BuildRecord;
  maxPixels: number;
  /** The commit of `rev`; without `rev`, HEAD when HEAD's d2.lock names this build, else null. */
  commit: string | null;
}

async function lockedAtHead(project: Project, buildKey: string): Promise<string | null> {
  try {
    const repo = await openGitRepo(project.root);
    const head = await headCommit(repo);
    if (!head) return null;
    const prefix = relativePosix(repo.dir, project.root);
    const text = await readFileAtCommit(repo, head, prefix === '.' ? LOCK_FILE : `${prefix}/${LOCK_FILE}`);
    const lock = text === undefined ? undefined : parseLock(text).lock;
    return lock?.model.build === buildKey ? head : null;
  } catch {
    return null; // no git history to name: the build is still the build
  }
}

/**
 * The build a command should use: the working tree's last build (the one its d2.lock names),
 * or the build of a revision's dataset and settings (found by its key, as `d2 build` would).
 */
export async function resolveBuild(options: LoadModelOptions): Promise<ResolvedBuild> {
  const project = openProject(options.dir);
  if (options.rev === undefined) {
    const lockFile = path.join(project.root, LOCK_FILE);
    if (!fs.existsSync(lockFile)) {
      throw new ModelNotBuilt('no model is built here: there is no d2.lock', { hint: "run 'd2 build' first (or give --rev REV)" });
    }
    const text = fs.readFileSync(lockFile, 'utf8');
    const found = buildOfLock(project.store, text);
    if (!found) {
      const named = parseLock(text).lock?.model.build;
      throw new ModelNotBuilt(`d2.lock names build ${named ? `'${named.slice(0, 12)}'` : '(none)'}, which is not in this store`, {
        data: { build: named ?? null },
        hint: "run 'd2 build' to build it here",
      });
    }
    return { oid: found.oid, build: found.build, maxPixels: project.manifest.preprocess.maxPixels, commit: await lockedAtHead(project, found.build.key) };
  }
  const rev = options.rev;
  const lock = await acquireLock(project.store.dir, {
    command: 'd2 predict',
    timeoutMs: options.lockTimeoutMs,
    signal: options.signal,
    onWait: (holder) => options.onProgress?.({ phase: 'lock', loaded: 0, detail: { waitingFor: describeHolder(holder) } }),
  });
  try {
    const signal = options.signal ? { signal: options.signal } : {};
    // the revision's own d2.lock first (no preprocessing needed), then the build key
    let prepared = await prepareData(project, { rev, preprocess: false, ...signal });
    let found = await findBuildOf(project, prepared, options.engine);
    if (!found && !prepared.result.blocked && prepared.resolved.items.length) {
      prepared = await prepareData(project, { rev, ...signal, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
      found = await findBuildOf(project, prepared, options.engine);
    }
    if (!found) throw new ModelNotBuilt(`revision '${rev}' has no model in this store`, { data: { rev }, hint: `run 'd2 build --rev ${rev}'` });
    return { oid: found.oid, build: found.build, maxPixels: prepared.state.manifest.preprocess.maxPixels, commit: prepared.state.commit };
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

export interface EvaluationResult {
  /** The revision's commit (see `ResolvedBuild.commit`). */
  commit: string | null;
  build: BuildRecord;
  /** Metrics and per-item probabilities of the build's model on validation, test and model tests. */
  evaluation: Evaluation;
}

/**
 * The stored evaluation of the model `loadModel` would load: metrics and, per set, each item's
 * '<source>/<path>', oid, label index and probabilities (exact float32, N × classes).
 *
 * @example
 * const { evaluation } = await readEvaluation({ dir: 'my-dataset' });
 * const test = evaluation.sets.test.predictions;
 * console.log(test.paths[0], test.probs.subarray(0, evaluation.classes.length));
 */
export async function readEvaluation(options: LoadModelOptions = {}): Promise<EvaluationResult> {
  return withCaller('d2.readEvaluation', async () => {
    const { build, commit } = await resolveBuild(options);
    const project = openProject(options.dir);
    return { commit, build, evaluation: parseEvaluation(project.store.readText(build.evaluation)) };
  });
}

export interface PredictOptions extends LoadModelOptions {
  /** Image files, folders of images (searched recursively), or CSV files (rows, for table models); relative to `dir`. */
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

type Input = InferenceItem | { key: string; error: { code: string; message: string } };

function failure(key: string, e: unknown): Input {
  const err = e as { code?: string; message?: string };
  return { key, error: { code: isD2Error(e) ? e.code : 'ItemInvalid', message: isD2Error(e) ? e.message : `cannot read: ${err.message ?? String(e)}` } };
}

/** The items of the given paths, in order, read lazily: files, folders (walked), CSV rows. */
async function* inputsOf(paths: readonly string[], pre: Preprocessing, cwd: string, signal?: AbortSignal): AsyncGenerator<Input> {
  const table = pre.modality === 'table';
  for (const given of paths) {
    const abs = path.resolve(cwd, given);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      throw new PathNotFound(`'${given}' does not exist`, { data: { path: given } });
    }
    if (table) {
      if (!st.isFile()) throw new InvalidArgument(`'${given}' is not a CSV file, and the model reads table rows`, { data: { path: given } });
      const needed = pre.table?.columns.map((c) => c.column) ?? [];
      for await (const rec of readCsvRows(fs.createReadStream(abs), given)) {
        if (rec.kind === 'header') {
          const missing = needed.filter((c) => !rec.columns.includes(c));
          if (missing.length) {
            throw new InvalidArgument(`'${given}' has no column ${missing.map((c) => `'${c}'`).join(', ')}, which the model reads`, {
              data: { path: given, missing },
              hint: `the model's feature columns are ${needed.map((c) => `'${c}'`).join(', ')}`,
            });
          }
        } else if (rec.kind === 'row') {
          yield { key: `${given}:${rec.line}`, row: rec.values };
        } else {
          yield { key: `${given}:${rec.line}`, error: { code: 'ItemInvalid', message: rec.message } };
        }
      }
      continue;
    }
    if (!st.isDirectory()) {
      try {
        yield { key: given, bytes: fs.readFileSync(abs) };
      } catch (e) {
        yield failure(given, e);
      }
      continue;
    }
    const w = await walk(abs, { projectRoot: abs, external: true, ...(signal ? { signal } : {}) });
    const problems = [...w.problems].sort((a, b) => (a.path < b.path ? -1 : 1));
    for (const f of w.files) {
      const key = path.join(given, f.path);
      while (problems.length && problems[0]!.path < f.path) {
        const p = problems.shift()!;
        yield { key: path.join(given, p.path), error: { code: 'ItemInvalid', message: p.message } };
      }
      try {
        yield { key, bytes: fs.readFileSync(f.abs) };
      } catch (e) {
        yield failure(key, e);
      }
    }
    for (const p of problems) yield { key: path.join(given, p.path), error: { code: 'ItemInvalid', message: p.message } };
  }
}

/**
 * Predictions for files, folders or CSV rows, one by one as they are ready: the streaming form
 * of `predict` for inputs of any size. Memory stays bounded (a chunk of inputs at a time).
 * The generator's return value is the summary (with `predictions` empty).
 *
 * @example
 * for await (const p of predictStream({ dir: 'my-dataset', paths: ['photos'], top: 1 })) {
 *   console.log(p.input, p.error ? p.error.message : p.top[0].label);
 * }
 */
export async function* predictStream(options: PredictOptions): AsyncGenerator<PredictionRow, PredictResult, undefined> {
  try {
    return yield* streamPredictions(options);
  } catch (e) {
    if (isD2Error(e) && e.caller === undefined) e.caller = 'd2.predict';
    throw e;
  }
}

async function* streamPredictions(options: PredictOptions): AsyncGenerator<PredictionRow, PredictResult, undefined> {
  if (!options.paths?.length) throw new InvalidArgument('give at least one file or folder to predict');
  const top = options.top ?? 3;
  if (!Number.isInteger(top) || top < 1) throw new InvalidArgument(`--top must be a whole number >= 1, not ${top}`);
  const { build, maxPixels, commit } = await resolveBuild(options);
  const project = openProject(options.dir);
  const predictor = await makePredictor(project.store.read(build.model), { classes: build.classes, preprocess: build.preprocess, model: build.model, maxPixels }, options.engine);
  const result: PredictResult = { model: { oid: build.model, commit, engine: predictor.engine, classes: build.classes }, count: 0, failed: 0, predictions: [] };
  const k = Math.min(top, build.classes.length);
  try {
    let chunk: Input[] = [];
    const run = async function* (): AsyncGenerator<PredictionRow> {
      const items = chunk.filter((c): c is InferenceItem => !('error' in c));
      const rows = new Map((items.length ? await predictor.run(items, k, options.signal) : []).map((r) => [r.input, r]));
      for (const c of chunk) {
        const row: PredictionRow = 'error' in c ? { input: c.key, top: [], error: c.error } : rows.get(c.key)!;
        result.count++;
        if (row.error) result.failed++;
        yield row;
      }
      options.onProgress?.({ phase: 'predict', loaded: result.count });
      chunk = [];
    };
    for await (const input of inputsOf(options.paths, build.preprocess, options.dir ?? process.cwd(), options.signal)) {
      throwIfAborted(options.signal);
      chunk.push(input);
      if (chunk.length >= CHUNK) yield* run();
    }
    if (chunk.length) yield* run();
  } finally {
    await predictor.dispose();
  }
  return result;
}

/**
 * Predict files, folders or CSV rows with a built model (the function behind `d2 predict`).
 *
 * @example
 * const r = await predict({ dir: 'my-dataset', paths: ['new-photos'], top: 1 });
 * for (const p of r.predictions) console.log(p.input, p.top[0]?.label);
 */
export async function predict(options: PredictOptions): Promise<PredictResult> {
  return withCaller('d2.predict', async () => {
    const keep = options.collect !== false;
    const kept: PredictionRow[] = [];
    const stream = predictStream(options);
    for (;;) {
      const next = await stream.next();
      if (next.done) return { ...next.value, predictions: kept };
      if (keep) kept.push(next.value);
      options.onPrediction?.(next.value);
    }
  });
}
