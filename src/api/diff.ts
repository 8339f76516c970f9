/**
 * `d2 diff A B`: what changed between two states of a project — in the data (core/data-diff)
 * and in the model's behaviour (core/behaviour-diff) — plus `--fail-on` checks for CI
 * (core/fail-on).
 *
 * Both models are evaluated on the same items: the test split and model tests of the `on` side
 * (B by default), with that side's labels. A model's prediction for an item is taken, in order:
 * 1. from its build's stored evaluation, when the build evaluated an item with the same oid
 *    (same raw content, same model, same preprocessing: the same prediction);
 * 2. from its prediction cache: chunks (`d2-predictions` objects, core/predictions.ts) listed
 *    in `.d2/state/predictions-<build key>`, written by earlier diffs;
 * 3. by running the model now on the item's raw bytes (or table row) through its own build's
 *    preprocessing (api/inference.ts: the one preprocessing path), in batches; the result is
 *    added to the cache as one more chunk.
 *
 * Invariants:
 * - A side without a built model is reported (with the command that builds it), never
 *   silently skipped; `build: true` builds it (d2.lock is not written).
 * - Paired items are the same items for both models; the truth is the `on` side's label.
 * - A model is never fed another build's preprocessing.
 * - Nothing is written to the working tree; the store gets only immutable objects and the
 *   cache pointer (rewritten atomically under the store lock).
 */
import fs from 'node:fs';
import path from 'node:path';
import { diffBehaviour, type BehaviourDiff, type PairedItem } from '../core/behaviour-diff.js';
import { classRenames, diffData, type DataDiff } from '../core/data-diff.js';
import type { DatasetItem } from '../core/dataset.js';
import { parseEvaluation } from '../core/evaluation.js';
import { checkFailOn, parseFailOn, type FailCheck, type FailRule } from '../core/fail-on.js';
import { parsePredictionChunk, rowsByOid, serializePredictionChunk } from '../core/predictions.js';
import type { CommonOptions } from '../core/progress.js';
import { InvalidArgument, throwIfAborted } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import type { LoadedModel } from '../engine/model.js';
import { isTableSource } from '../manifest/index.js';
import type { ImagePool } from '../preprocess/index.js';
import { acquireLock, describeHolder, type ObjectStore } from '../store/index.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { canonicalJson } from '../util/canonical-json.js';
import { buildPrepared, findBuildOf, type BuildRecord } from './build.js';
import { prepareData, type PreparedData } from './data.js';
import { featuresFor, openModel, probabilities, type InferenceItem } from './inference.js';
import { openProject, withCaller, type Project } from './project.js';
import { readTableItems } from './table-source.js';

export { checkFailOn, parseFailOn, type FailCheck, type FailRule };

export const DIFF_SCHEMA = 'd2-diff/1';

export interface DiffOptions extends CommonOptions {
  /** The old side: a revision (default 'HEAD'). */
  a?: string;
  /** The new side: a revision, or undefined for the working tree. */
  b?: string;
  /** Evaluate on this revision's test split and model tests (default: B's). */
  on?: string;
  /** Build a side that has no model (d2.lock is not written). */
  build?: boolean;
  /** Engine for builds and inference (default: the fastest present). */
  engine?: EngineRequest;
  /** Longest lists of items in the result (default 20; 0: all). Counts are always complete. */
  limit?: number;
  /** Thresholds to check (`accuracy-drop=0.01,broken-model-tests` or parsed rules): the result's `checks`. */
  failOn?: string | readonly FailRule[];
  lockTimeoutMs?: number;
}

export interface DiffModel {
  /** Model object oid. */
  oid: string;
  /** Build record object oid. */
  build: string;
  /** Build key (the hash of every input of the build). */
  key: string;
  preset: string;
  engine: string;
  /**
   * The model's classes that the evaluation side renamed or merged away (`labelMap`, or every
   * item relabelled alike): its answers are read with the new name.
   */
  classMap: Record<string, string>;
  /** Evaluation items whose predictions come from the build's stored evaluation. */
  stored: number;
  /** Evaluation items the model was run on (its own preprocessing), now or by an earlier diff. */
  inferred: number;
  /** Of `inferred`, the items run in this diff (0 when every prediction was cached). */
  computedNow: number;
  /** Evaluation items the model could not be run on (they cannot be preprocessed with its steps). */
  failed: { path: string; message: string }[];
  failedCount: number;
}

export interface DiffSide {
  /** What the user named ('HEAD~1'), or null for the working tree. */
  rev: string | null;
  commit: string | null;
  /** The side's dataset oid. */
  dataset: string;
  /** The side's model, or null when none is built. */
  model: DiffModel | null;
}

export interface DiffResult {
  schema: typeof DIFF_SCHEMA;
  a: DiffSide;
  b: DiffSide;
  data: DataDiff;
  /** Where the evaluation items come from: a side's test split and model tests, with its labels. */
  evaluatedOn: { rev: string | null; commit: string | null; items: number; modelTests: number };
  /** Both models on the evaluation items; null when a side has no model. */
  behaviour: BehaviourDiff | null;
  /** Sides without a model: why, and the command that builds it. */
  missing: { side: 'a' | 'b'; message: string; command: string }[];
  /** The `failOn` rules, checked (present only when rules were given). */
  checks?: FailCheck[];
}

interface Side {
  rev: string | undefined;
  prepared: PreparedData;
  build?: { oid: string; build: BuildRecord } | undefined;
}

async function prepareSide(project: Project, rev: string | undefined, options: DiffOptions): Promise<Side> {
  const at = { ...(rev !== undefined ? { rev } : {}), ...(options.signal ? { signal: options.signal } : {}) };
  // Resolve without preprocessing first: a d2.lock whose inputs match names the build.
  let prepared = await prepareData(project, { ...at, preprocess: false });
  let build = await findBuildOf(project, prepared, options.engine);
  if (!build && prepared.resolved.items.length && !prepared.result.blocked) {
    // Built without a d2.lock (`d2 build --rev`, `d2 diff --build`): found by its key, which
    // needs the packed data.
    prepared = await prepareData(project, { ...at, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
    build = await findBuildOf(project, prepared, options.engine);
    if (!build && options.build) {
      const made = await buildPrepared(project, prepared, { ...options, ...(rev !== undefined ? { rev } : {}) });
      build = { oid: made.oid, build: made.build };
    }
  }
  return { rev, prepared, build };
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

/** A model's predictions for the evaluation items (index-aligned; undefined: could not run). */
interface ItemPredictions {
  label: (string | undefined)[];
  confidence: number[];
  stored: number;
  inferred: number;
  computedNow: number;
  failed: { path: string; message: string }[];
}

/** Items run per batch: bounds memory (raw bytes and features of one batch at a time). */
const BATCH = 1024;

/** `.d2/state/predictions-<build key>`: the oids of the build's prediction chunks, one a line. */
function chunkPointer(store: ObjectStore, key: string): string {
  return path.join(store.stateDir(), `predictions-${key}`);
}

function readChunks(store: ObjectStore, build: BuildRecord): { rows: Map<string, Float32Array>; failed: Map<string, string> } {
  const rows = new Map<string, Float32Array>();
  const failed = new Map<string, string>();
  let oids: string[] = [];
  try {
    oids = fs.readFileSync(chunkPointer(store, build.key), 'utf8').split('\n').filter(Boolean);
  } catch {
    return { rows, failed };
  }
  for (const oid of oids) {
    if (!store.has(oid)) continue; // a chunk lost (gc): its items are run again
    try {
      const chunk = parsePredictionChunk(store.readText(oid));
      if (chunk.model !== build.model || chunk.classes.length !== build.classes.length) continue;
      rowsByOid(chunk, rows);
      for (const [k, v] of Object.entries(chunk.failed)) failed.set(k, v);
    } catch {
      // a damaged chunk is only a cache miss
    }
  }
  return { rows, failed };
}

/**
 * Run a build's model on items it has no prediction for: raw bytes (or table rows) through
 * its own preprocessing, in batches, and store the result as one more chunk of its cache.
 */
async function runModel(project: Project, build: BuildRecord, items: readonly DatasetItem[], evalSide: PreparedData, options: DiffOptions): Promise<{ rows: Map<string, Float32Array>; failed: Map<string, string> }> {
  const { store } = project;
  const k = build.classes.length;
  const table = build.preprocess.modality === 'table' ? tableRows(store, evalSide) : undefined;
  const oids: string[] = [];
  const probs: number[][] = [];
  const failed: Record<string, string> = {};
  // A model reads one kind of item: images, or rows of a table.
  const other = items.find((it) => {
    const decl = evalSide.state.manifest.sources[it.source];
    return decl !== undefined && isTableSource(decl) !== Boolean(table);
  });
  if (other) {
    const reads = table ? 'table rows' : 'images';
    throw new InvalidArgument(`model ${build.model.slice(0, 7)} reads ${reads}, but the evaluation item '${other.source}/${other.path}' is ${table ? 'an image' : 'a table row'}: the two models cannot be compared on the same items`, {
      hint: "compare revisions whose datasets are of the same kind, or choose the evaluation set with '--on'",
    });
  }
  let model: LoadedModel | undefined;
  let pool: ImagePool | undefined;
  try {
    model = await openModel(store, build, options.engine ?? 'auto');
    if (!table) pool = (await import('../preprocess/index.js')).createImagePool();
    for (let start = 0; start < items.length; start += BATCH) {
      throwIfAborted(options.signal);
      options.onProgress?.({ phase: 'infer', loaded: start, total: items.length, detail: { model: build.model } });
      const batch = items.slice(start, start + BATCH);
      const inputs: InferenceItem[] = batch.map((it) => {
        if (table) {
          const row = table.get(it.oid);
          if (!row) throw new InvalidArgument(`row '${it.source}/${it.path}' of the evaluation set is not in its table`);
          return { key: it.oid, row };
        }
        return { key: it.oid, bytes: store.read(it.oid, it.size) };
      });
      const feats = await featuresFor(build.preprocess, inputs, {
        maxPixels: evalSide.state.manifest.preprocess.maxPixels,
        ...(pool ? { pool } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const p = feats.keys.length ? await probabilities(model, feats.x) : new Float32Array(0);
      feats.keys.forEach((oid, i) => {
        oids.push(oid);
        probs.push(Array.from(p.subarray(i * k, (i + 1) * k)));
      });
      for (const f of feats.failed) failed[f.key] = f.error.message;
    }
    options.onProgress?.({ phase: 'infer', loaded: items.length, total: items.length, detail: { model: build.model } });
  } finally {
    model?.dispose();
    await pool?.close();
  }
  const chunk = { format: 1 as const, build: build.key, model: build.model, classes: build.classes, oids, probs: Float32Array.from(probs.flat()), failed };
  const oid = store.putBytes(serializePredictionChunk(chunk));
  const pointer = chunkPointer(store, build.key);
  let before = '';
  try {
    before = fs.readFileSync(pointer, 'utf8');
  } catch {
    before = '';
  }
  writeFileAtomicSync(pointer, `${before}${oid}\n`);
  const failedMap = new Map(Object.entries(failed));
  return { rows: rowsByOid(chunk), failed: failedMap };
}

/** Predictions of a build's model for the evaluation items: stored where possible, else cached, else computed now. */
async function predictionsFor(project: Project, build: BuildRecord, items: readonly DatasetItem[], evalSide: PreparedData, classMap: Record<string, string>, options: DiffOptions): Promise<ItemPredictions> {
  const { store } = project;
  const k = build.classes.length;
  const evaluation = parseEvaluation(store.readText(build.evaluation));
  const stored = new Map<string, Float32Array>();
  for (const set of Object.values(evaluation.sets)) rowsByOid({ oids: set.predictions.oids, probs: set.predictions.probs, classes: evaluation.classes }, stored);
  const out: ItemPredictions = { label: new Array(items.length), confidence: new Array(items.length).fill(0), stored: 0, inferred: 0, computedNow: 0, failed: [] };
  const put = (i: number, probs: Float32Array) => {
    let best = 0;
    for (let c = 1; c < k; c++) if ((probs[c] as number) > (probs[best] as number)) best = c;
    const label = build.classes[best]!;
    out.label[i] = classMap[label] ?? label;
    out.confidence[i] = probs[best] as number;
  };
  let cache: { rows: Map<string, Float32Array>; failed: Map<string, string> } | undefined;
  const pending: number[] = [];
  items.forEach((it, i) => {
    const p = stored.get(it.oid);
    if (p) {
      put(i, p);
      out.stored++;
      return;
    }
    cache ??= readChunks(store, build);
    const c = cache.rows.get(it.oid);
    if (c) {
      put(i, c);
      out.inferred++;
    } else if (cache.failed.has(it.oid)) {
      out.failed.push({ path: `${it.source}/${it.path}`, message: cache.failed.get(it.oid)! });
    } else {
      pending.push(i);
    }
  });
  if (!pending.length) return out;
  // Each distinct content once.
  const unique = [...new Map(pending.map((i) => [items[i]!.oid, items[i]!])).values()];
  const computed = await runModel(project, build, unique, evalSide, options);
  for (const i of pending) {
    const it = items[i]!;
    const p = computed.rows.get(it.oid);
    if (p) {
      put(i, p);
      out.inferred++;
      out.computedNow++;
    } else {
      out.failed.push({ path: `${it.source}/${it.path}`, message: computed.failed.get(it.oid) ?? 'could not be preprocessed' });
    }
  }
  return out;
}

function cap<T>(list: T[], limit: number): T[] {
  return limit > 0 ? list.slice(0, limit) : list;
}

function modelOf(s: Side, p?: ItemPredictions, limit = 0, classMap: Record<string, string> = {}): DiffModel | null {
  const b = s.build;
  if (!b) return null;
  return {
    oid: b.build.model, build: b.oid, key: b.build.key, preset: b.build.preset, engine: b.build.engine, classMap,
    stored: p?.stored ?? 0, inferred: p?.inferred ?? 0, computedNow: p?.computedNow ?? 0,
    failed: cap(p?.failed ?? [], limit), failedCount: p?.failed.length ?? 0,
  };
}

/** A side's classes renamed or merged away on the evaluation side (core/data-diff `classRenames`). */
function classMapOf(s: Side, on: Side): Record<string, string> {
  if (s === on) return {};
  const classes = new Set(s.build?.build.classes ?? []);
  return Object.fromEntries(Object.entries(classRenames(s.prepared.resolved.items, on.prepared.resolved.items)).filter(([x]) => classes.has(x)));
}

function missingOf(name: 'a' | 'b', s: Side): DiffResult['missing'][number] {
  const why = s.prepared.result.blocked
    ? 'its dataset is blocked (see d2 data)'
    : s.prepared.resolved.items.length === 0 ? 'its dataset has no items' : 'no model is built for it in this store';
  return {
    side: name,
    message: `${s.rev ?? 'the working tree'} has no model: ${why}`,
    command: s.rev === undefined ? 'd2 build' : `d2 build --rev ${s.rev}`,
  };
}

/**
 * Compare two states: what changed in the data, and how both models behave on the same items.
 *
 * @example
 * const d = await diff({ dir: 'my-dataset', a: 'HEAD~1', b: 'HEAD', failOn: 'accuracy-drop=0.01' });
 * console.log(d.behaviour?.accuracy.delta, d.behaviour?.significance.pValue, d.checks);
 */
export async function diff(options: DiffOptions = {}): Promise<DiffResult> {
  return withCaller('d2.diff', async () => {
    const limit = options.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 0) throw new InvalidArgument(`limit must be a whole number >= 0, not ${limit}`);
    const rules = typeof options.failOn === 'string' ? parseFailOn(options.failOn) : options.failOn;
    const project = openProject(options.dir);
    const lock = await acquireLock(project.store.dir, {
      command: 'd2 diff',
      timeoutMs: options.lockTimeoutMs,
      signal: options.signal,
      onWait: (holder) => options.onProgress?.({ phase: 'lock', loaded: 0, detail: { waitingFor: describeHolder(holder) } }),
    });
    try {
      project.store.init();
      const aRev = options.a ?? 'HEAD';
      const a = await prepareSide(project, aRev, options);
      const b = options.b === aRev ? a : await prepareSide(project, options.b, options);
      // The evaluation side needs its items and labels only.
      let on = b;
      if (options.on !== undefined && options.on !== options.b) {
        on = options.on === aRev ? a : { rev: options.on, prepared: await prepareData(project, { rev: options.on, preprocess: false, ...(options.signal ? { signal: options.signal } : {}) }) };
      }

      const data = diffData(a.prepared.resolved.items, b.prepared.resolved.items, a.prepared.state.manifest, b.prepared.state.manifest);
      data.added = cap(data.added, limit);
      data.removed = cap(data.removed, limit);
      data.modified = cap(data.modified, limit);
      data.renamed = cap(data.renamed, limit);
      data.modelTests.added = cap(data.modelTests.added, limit);
      data.modelTests.removed = cap(data.modelTests.removed, limit);

      const evalItems = on.prepared.resolved.items.filter((i) => i.set === 'test' || i.set === 'modelTest');
      const missing: DiffResult['missing'] = [];
      if (!a.build) missing.push(missingOf('a', a));
      if (!b.build) missing.push(missingOf('b', b));
      let behaviour: BehaviourDiff | null = null;
      let aModel = modelOf(a);
      let bModel = modelOf(b);
      if (a.build && b.build) {
        const mapA = classMapOf(a, on);
        const mapB = classMapOf(b, on);
        const pa = await predictionsFor(project, a.build.build, evalItems, on.prepared, mapA, options);
        const pb = b.build.oid === a.build.oid && canonicalJson(mapA) === canonicalJson(mapB) ? pa : await predictionsFor(project, b.build.build, evalItems, on.prepared, mapB, options);
        const paired: PairedItem[] = [];
        evalItems.forEach((it, i) => {
          const la = pa.label[i];
          const lb = pb.label[i];
          if (la === undefined || lb === undefined) return;
          paired.push({
            path: `${it.source}/${it.path}`, oid: it.oid, truth: it.label, modelTest: it.set === 'modelTest',
            before: { label: la, confidence: pa.confidence[i]! }, after: { label: lb, confidence: pb.confidence[i]! },
          });
        });
        behaviour = diffBehaviour(paired);
        behaviour.fixed = cap(behaviour.fixed, limit);
        behaviour.broken = cap(behaviour.broken, limit);
        aModel = modelOf(a, pa, limit, mapA);
        bModel = modelOf(b, pb, limit, mapB);
      }
      const side = (s: Side, model: DiffModel | null): DiffSide => ({ rev: s.rev ?? null, commit: s.prepared.state.commit, dataset: s.prepared.datasetOid, model });
      const result: DiffResult = {
        schema: DIFF_SCHEMA,
        a: side(a, aModel),
        b: side(b, bModel),
        data,
        evaluatedOn: {
          rev: on.rev ?? null,
          commit: on.prepared.state.commit,
          items: evalItems.filter((i) => i.set === 'test').length,
          modelTests: evalItems.filter((i) => i.set === 'modelTest').length,
        },
        behaviour,
        missing,
      };
      if (rules) result.checks = checkFailOn(result, rules);
      return result;
    } finally {
      lock.release();
    }
  });
}
