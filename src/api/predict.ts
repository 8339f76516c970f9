/**
 * Prediction with a built model: `Predictor` (a model plus its build's preprocessing) for
 * scripts, and `predict`, the function behind `d2 predict`, which streams predictions for
 * files, folders and CSV rows.
 *
 * Invariants:
 * - Inputs go through the same preprocessing functions the model was trained and evaluated
 *   with (project/inference.ts); predictions of a stored item equal its stored evaluation's,
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
import { parseEvaluation, type Evaluation } from '../core/evaluation.js';
import { InvalidArgument, isD2Error, PathNotFound, throwIfAborted } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import { parseJsonLinesTable, readCsvRows } from '../manifest/index.js';
import { walk } from '../workspace/index.js';
import { resolveModelBuild, type BuildRecord } from '../project/builds.js';
import type { InferenceItem, Preprocessing } from '../project/inference.js';
import { makeBuildPredictor, type PredictionRow, type Predictor } from '../project/predictor.js';
import { openProject } from '../project/project.js';
import { withCaller, type VerbOptions } from './verb.js';

export { topK, makePredictor, type ClassProbability, type PredictionRow, type Predictor } from '../project/predictor.js';
export type { ResolvedBuild } from '../project/builds.js';

export interface LoadModelOptions extends VerbOptions {
  /** The model of this revision (default: the build named by the working tree's d2.lock). */
  rev?: string;
  engine?: EngineRequest;
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
    const project = openProject(options.dir);
    const { build, maxPixels } = await resolveModelBuild(project, options);
    return makeBuildPredictor(project.store, build, maxPixels, options.engine);
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
    const project = openProject(options.dir);
    const { build, commit } = await resolveModelBuild(project, options);
    return { commit, build, evaluation: parseEvaluation(project.store.readText(build.evaluation)) };
  });
}

export interface PredictOptions extends LoadModelOptions {
  /** Image files, folders of images (searched recursively), or CSV files (rows, for table models); relative to `dir`. Text models: text files, folders of them, or CSV/JSON Lines files (their text column). */
  paths: string[];
  /** Text models: texts to predict as they are (`d2 predict --stdin`: one per line); named 'text:N' (1-based). */
  texts?: string[];
  /** Text models: the column of a CSV or JSON Lines input holding the text (default: the column the model was trained on). */
  textColumn?: string;
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
async function* inputsOf(paths: readonly string[], pre: Preprocessing, cwd: string, signal?: AbortSignal, textColumn?: string): AsyncGenerator<Input> {
  const table = pre.modality === 'table';
  for (const given of paths) {
    if (pre.modality === 'text' && /\.(csv|jsonl)$/i.test(given)) {
      yield* textRowsOf(given, path.resolve(cwd, given), textColumn ?? pre.text?.column ?? undefined);
      continue;
    }
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

/** The texts of a CSV or JSON Lines file's column, one input per row ('file:LINE'). */
async function* textRowsOf(given: string, abs: string, column: string | undefined): AsyncGenerator<Input> {
  if (!fs.existsSync(abs)) throw new PathNotFound(`'${given}' does not exist`, { data: { path: given } });
  if (column === undefined) {
    throw new InvalidArgument(`'${given}' is a table, and the model was trained on text files: which column holds the texts?`, { data: { option: 'textColumn' }, hint: "give it with option 'textColumn'" });
  }
  const missing = (columns: readonly string[]) => new InvalidArgument(`'${given}' has no column '${column}', which holds the texts the model reads`, {
    data: { path: given, column, columns }, hint: "name the text column with option 'textColumn'",
  });
  if (/\.jsonl$/i.test(given)) {
    const table = parseJsonLinesTable(fs.readFileSync(abs, 'utf8'));
    const at = table.header.indexOf(column);
    if (at < 0 && table.rows.length) throw missing(table.header);
    for (const i of table.issues) yield { key: `${given}:${i.line ?? 0}`, error: { code: 'ItemInvalid', message: i.message } };
    for (const r of table.rows) yield { key: `${given}:${r.line}`, text: r.values[at]! };
    return;
  }
  for await (const rec of readCsvRows(fs.createReadStream(abs), given)) {
    if (rec.kind === 'header') {
      if (!rec.columns.includes(column)) throw missing(rec.columns);
    } else if (rec.kind === 'row') {
      yield { key: `${given}:${rec.line}`, text: rec.values[column]! };
    } else {
      yield { key: `${given}:${rec.line}`, error: { code: 'ItemInvalid', message: rec.message } };
    }
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
  if (!options.paths?.length && !options.texts?.length) throw new InvalidArgument('give at least one file or folder to predict');
  const top = options.top ?? 3;
  if (!Number.isInteger(top) || top < 1) throw new InvalidArgument(`option 'top' must be a whole number >= 1, not ${top}`, { data: { option: 'top' } });
  const project = openProject(options.dir);
  const { build, maxPixels, commit } = await resolveModelBuild(project, options);
  const predictor = await makeBuildPredictor(project.store, build, maxPixels, options.engine);
  const result: PredictResult = { model: { oid: build.model, commit, engine: predictor.engine, classes: build.classes }, count: 0, failed: 0, predictions: [] };
  const k = Math.min(top, build.classes.length);
  if (options.texts?.length && build.preprocess.modality !== 'text') {
    await predictor.dispose();
    throw new InvalidArgument(`the model reads ${build.preprocess.modality === 'table' ? 'table rows' : 'images'}, not texts`, { data: { option: 'texts' } });
  }
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
    for (const [i, text] of (options.texts ?? []).entries()) {
      chunk.push({ key: `text:${i + 1}`, text });
      if (chunk.length >= CHUNK) yield* run();
    }
    for await (const input of inputsOf(options.paths ?? [], build.preprocess, options.dir ?? '.', options.signal, options.textColumn)) {
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
