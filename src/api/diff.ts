/**
 * `d2 diff A B`: what changed between two states of a project — in the data (core/data-diff)
 * and in the model's behaviour (core/behaviour-diff) — plus threshold checks for CI.
 *
 * Both models are evaluated on the same items: the test split and model tests of the `on` side
 * (B by default), with that side's labels. A model's predictions are taken from its stored
 * evaluation where it has the item (same raw content, same model: the same prediction);
 * otherwise the model runs on the item's raw bytes through its own build's preprocessing
 * (api/inference.ts), and the computed predictions are cached as an object, so the next diff
 * of the same pair is instant.
 *
 * Invariants:
 * - A side without a built model is reported (with the command that builds it), never
 *   silently skipped; `build: true` builds it (d2.lock is not written).
 * - Paired items are the same items for both models; the truth is the `on` side's label.
 * - Nothing is written to the working tree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { diffBehaviour, type BehaviourDiff, type PairedItem } from '../core/behaviour-diff.js';
import { diffData, type DataDiff } from '../core/data-diff.js';
import type { DatasetItem } from '../core/dataset.js';
import { parseEvaluation } from '../core/evaluation.js';
import type { CommonOptions } from '../core/progress.js';
import { InvalidArgument } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import { isTableSource } from '../manifest/index.js';
import { acquireLock, describeHolder, type ObjectStore } from '../store/index.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { sha256Hex } from '../util/hash.js';
import { buildPrepared, findBuildOf, type BuildRecord } from './build.js';
import { prepareData, type PreparedData } from './data.js';
import { featuresFor, openModel, probabilities, type InferenceItem } from './inference.js';
import { openProject, withCaller, type Project } from './project.js';
import { readTableItems } from './table-source.js';

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
  /** Longest flip and example lists in the result (default 20; 0: all). */
  limit?: number;
  lockTimeoutMs?: number;
}

export interface DiffSide {
  /** What the user named ('HEAD~1'), or null for the working tree. */
  rev: string | null;
  commit: string | null;
  dataset: string;
  /** The side's model, or null when none is built. */
  model: null | {
    oid: string;
    build: string;
    preset: string;
    engine: string;
    /** Items of the evaluation set whose predictions were computed now (not stored). */
    inferred: number;
    /** Items it could not be run on (cannot be preprocessed with its steps). */
    failed: { path: string; message: string }[];
  };
}

export interface DiffResult {
  schema: typeof DIFF_SCHEMA;
  a: DiffSide;
  b: DiffSide;
  data: DataDiff;
  /** Where the evaluation items come from. */
  evaluatedOn: { rev: string | null; commit: string | null; items: number; modelTests: number };
  behaviour: BehaviourDiff | null;
  /** Sides without a model, and how to build them. */
  missing: { side: 'a' | 'b'; message: string; command: string }[];
}

interface Side {
  rev: string | undefined;
  prepared: PreparedData;
  build?: { oid: string; build: BuildRecord } | undefined;
}

async function prepareSide(project: Project, rev: string | undefined, options: DiffOptions): Promise<Side> {
  // Resolve without preprocessing first: a committed d2.lock usually names the build.
  let prepared = await prepareData(project, { ...(rev !== undefined ? { rev } : {}), preprocess: false, ...(options.signal ? { signal: options.signal } : {}) });
  let build = await findBuildOf(project, prepared, options.engine);
  if (!build && prepared.resolved.items.length && !prepared.result.blocked) {
    prepared = await prepareData(project, { ...(rev !== undefined ? { rev } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    build = await findBuildOf(project, prepared, options.engine);
    if (!build && options.build) {
      const made = await buildPrepared(project, prepared, { ...options, ...(rev !== undefined ? { rev } : {}) });
      build = { oid: made.oid, build: made.build };
    }
  }
  return { rev, prepared, build };
}

function sideOf(s: Side, inferred = 0, failed: { path: string; message: string }[] = []): DiffSide {
  const b = s.build?.build;
  return {
    rev: s.rev ?? null,
    commit: s.prepared.state.commit,
    dataset: s.prepared.datasetOid,
    model: b ? { oid: b.model, build: b.key, preset: b.preset, engine: b.engine, inferred, failed } : null,
  };
}

/** Rows of table items, read from the state's committed CSV objects. */
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

interface ItemPredictions {
  /** Per evaluation item: [label index, confidence] or undefined when it could not be run. */
  label: (string | undefined)[];
  confidence: number[];
  inferred: number;
  failed: { path: string; message: string }[];
}

/** Predictions of a build's model for the evaluation items: stored where possible, else computed (and cached). */
async function predictionsFor(project: Project, build: BuildRecord, items: readonly DatasetItem[], evalSide: PreparedData, options: DiffOptions): Promise<ItemPredictions> {
  const { store } = project;
  const evaluation = parseEvaluation(store.readText(build.evaluation));
  const k = build.classes.length;
  const stored = new Map<string, Float32Array>();
  for (const set of Object.values(evaluation.sets)) {
    const p = set.predictions;
    p.oids.forEach((oid, i) => stored.set(oid, p.probs.subarray(i * k, (i + 1) * k)));
  }
  const out: ItemPredictions = { label: new Array(items.length), confidence: new Array(items.length).fill(0), inferred: 0, failed: [] };
  const put = (i: number, probs: Float32Array) => {
    let best = 0;
    for (let c = 1; c < k; c++) if ((probs[c] as number) > (probs[best] as number)) best = c;
    out.label[i] = build.classes[best];
    out.confidence[i] = probs[best] as number;
  };
  const missing: number[] = [];
  items.forEach((it, i) => {
    const p = stored.get(it.oid);
    if (p) put(i, p);
    else missing.push(i);
  });
  if (!missing.length) return out;

  // Cached predictions of this model for exactly these items?
  const oids = [...new Set(missing.map((i) => items[i]!.oid))].sort();
  const cacheFile = path.join(store.stateDir(), `predictions-${sha256Hex(`${build.model}\n${oids.join('\n')}`).slice(0, 40)}`);
  let cached: { oids: string[]; probs: number[][]; failed: Record<string, string> } | undefined;
  try {
    const oid = fs.readFileSync(cacheFile, 'utf8').trim();
    if (store.has(oid)) cached = JSON.parse(store.readText(oid)) as typeof cached;
  } catch {
    cached = undefined;
  }
  if (!cached) {
    const byOid = new Map(missing.map((i) => [items[i]!.oid, items[i]!]));
    const rows = build.preprocess.modality === 'table' ? tableRows(store, evalSide) : undefined;
    const inputs: InferenceItem[] = oids.map((oid) => {
      if (rows) {
        const row = rows.get(oid);
        if (!row) throw new InvalidArgument(`row ${oid.slice(0, 12)} of the evaluation set is not in its table`);
        return { key: oid, row };
      }
      return { key: oid, bytes: store.read(oid) };
    });
    options.onProgress?.({ phase: 'infer', loaded: 0, total: inputs.length, detail: { model: build.model.slice(0, 12) } });
    const feats = await featuresFor(build.preprocess, inputs, { maxPixels: evalSide.state.manifest.preprocess.maxPixels, ...(options.signal ? { signal: options.signal } : {}) });
    const model = await openModel(store, build, options.engine ?? 'auto');
    let probs: Float32Array;
    try {
      probs = await probabilities(model, feats.x);
    } finally {
      model.dispose();
    }
    cached = {
      oids: feats.keys,
      probs: feats.keys.map((_, i) => Array.from(probs.subarray(i * k, (i + 1) * k))),
      failed: Object.fromEntries(feats.failed.map((f) => [f.key, `${byOid.get(f.key)?.source}/${byOid.get(f.key)?.path}: ${f.error.message}`])),
    };
    const oid = store.putBytes(JSON.stringify(cached));
    writeFileAtomicSync(cacheFile, `${oid}\n`);
    options.onProgress?.({ phase: 'infer', loaded: inputs.length, total: inputs.length });
  }
  const computed = new Map(cached.oids.map((oid, i) => [oid, Float32Array.from(cached!.probs[i]!)]));
  for (const i of missing) {
    const it = items[i]!;
    const p = computed.get(it.oid);
    if (p) {
      put(i, p);
      out.inferred++;
    } else {
      out.failed.push({ path: `${it.source}/${it.path}`, message: cached.failed[it.oid] ?? 'could not be preprocessed' });
    }
  }
  return out;
}

function cap<T>(list: T[], limit: number): T[] {
  return limit > 0 ? list.slice(0, limit) : list;
}

/**
 * Compare two states: data changes, and both models' behaviour on the same items.
 *
 * @example
 * const d = await diff({ dir: 'my-dataset', a: 'HEAD~1', b: 'HEAD' });
 * console.log(d.behaviour?.accuracy.delta, d.behaviour?.broken.length);
 */
export async function diff(options: DiffOptions = {}): Promise<DiffResult> {
  return withCaller('d2.diff', async () => {
    const project = openProject(options.dir);
    const limit = options.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 0) throw new InvalidArgument(`limit must be a whole number >= 0, not ${limit}`);
    const lock = await acquireLock(project.store.dir, {
      command: 'd2 diff',
      timeoutMs: options.lockTimeoutMs,
      signal: options.signal,
      onWait: (holder) => options.onProgress?.({ phase: 'lock', loaded: 0, detail: { waitingFor: describeHolder(holder) } }),
    });
    try {
      project.store.init();
      const a = await prepareSide(project, options.a ?? 'HEAD', options);
      const b = await prepareSide(project, options.b, options);
      const on = options.on === undefined ? b : await prepareSide(project, options.on, { ...options, build: false });
      const data = diffData(a.prepared.resolved.items, b.prepared.resolved.items, a.prepared.state.manifest, b.prepared.state.manifest);
      data.added = cap(data.added, limit);
      data.removed = cap(data.removed, limit);
      data.modified = cap(data.modified, limit);

      const evalItems = on.prepared.resolved.items.filter((i) => i.set === 'test' || i.set === 'modelTest');
      const missing: DiffResult['missing'] = [];
      for (const [name, s] of [['a', a], ['b', b]] as const) {
        if (s.build) continue;
        const command = s.rev === undefined ? 'd2 build' : `d2 build --rev ${s.rev}`;
        const why = s.prepared.result.blocked ? 'its dataset is blocked (see d2 data)' : s.prepared.resolved.items.length === 0 ? 'it has no items' : 'no model is built for it in this store';
        missing.push({ side: name, message: `${s.rev ?? 'the working tree'} has no model: ${why}`, command: `${command}  (or d2 diff --build)` });
      }
      let behaviour: BehaviourDiff | null = null;
      let aSide = sideOf(a);
      let bSide = sideOf(b);
      if (a.build && b.build) {
        const pa = await predictionsFor(project, a.build.build, evalItems, on.prepared, options);
        const pb = await predictionsFor(project, b.build.build, evalItems, on.prepared, options);
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
        aSide = sideOf(a, pa.inferred, cap(pa.failed, limit));
        bSide = sideOf(b, pb.inferred, cap(pb.failed, limit));
      }
      return {
        schema: DIFF_SCHEMA,
        a: aSide,
        b: bSide,
        data,
        evaluatedOn: { rev: on.rev ?? null, commit: on.prepared.state.commit, items: evalItems.filter((i) => i.set === 'test').length, modelTests: evalItems.filter((i) => i.set === 'modelTest').length },
        behaviour,
        missing,
      };
    } finally {
      lock.release();
    }
  });
}

/** A `--fail-on` rule: `accuracy-drop=0.01`, `recall-drop=0.05`, `f1-drop=0.02`, `broken-model-tests`, `broken=N`. */
export interface FailRule {
  kind: 'accuracy-drop' | 'f1-drop' | 'recall-drop' | 'broken-model-tests' | 'broken' | 'moved';
  threshold: number;
}

export interface FailCheck {
  rule: string;
  failed: boolean;
  detail: string;
}

const RULES: Record<FailRule['kind'], { needsValue: boolean; dflt: number }> = {
  'accuracy-drop': { needsValue: false, dflt: 0 },
  'f1-drop': { needsValue: false, dflt: 0 },
  'recall-drop': { needsValue: false, dflt: 0 },
  'broken-model-tests': { needsValue: false, dflt: 0 },
  broken: { needsValue: true, dflt: 0 },
  moved: { needsValue: false, dflt: 0 },
};

/** Parse `--fail-on` text: comma-separated rules, each `name` or `name=value`. */
export function parseFailOn(text: string): FailRule[] {
  const rules: FailRule[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name, value] = part.split('=', 2) as [string, string | undefined];
    const spec = RULES[name as FailRule['kind']];
    if (!spec) throw new InvalidArgument(`unknown --fail-on rule '${name}' (known: ${Object.keys(RULES).join(', ')})`, { hint: "e.g. --fail-on accuracy-drop=0.01,recall-drop=0.05,broken-model-tests" });
    const threshold = value === undefined ? spec.dflt : Number(value);
    if (spec.needsValue && value === undefined) throw new InvalidArgument(`--fail-on rule '${name}' needs a value, e.g. ${name}=0`);
    if (!Number.isFinite(threshold) || threshold < 0) throw new InvalidArgument(`--fail-on rule '${name}' needs a number >= 0, not '${value}'`);
    rules.push({ kind: name as FailRule['kind'], threshold });
  }
  if (!rules.length) throw new InvalidArgument('--fail-on needs at least one rule');
  return rules;
}

/**
 * Check a diff against rules. Drops are B minus A, in fractions (0.01 = one point); a rule is
 * crossed when the drop is strictly greater than its threshold. A rule about behaviour fails
 * when a side has no model (CI must not pass a change it could not check).
 */
export function checkFailOn(d: DiffResult, rules: readonly FailRule[]): FailCheck[] {
  const b = d.behaviour;
  const fmt = (x: number) => `${(x * 100).toFixed(2)} pts`;
  return rules.map((r) => {
    const name = `${r.kind}${RULES[r.kind].needsValue || r.threshold ? `=${r.threshold}` : ''}`;
    if (r.kind === 'moved') return { rule: name, failed: d.data.movedCount > r.threshold, detail: `${d.data.movedCount} items moved between splits` };
    if (!b) return { rule: name, failed: true, detail: 'no behaviour diff: a side has no model' };
    switch (r.kind) {
      case 'accuracy-drop': {
        const drop = -b.accuracy.delta;
        return { rule: name, failed: drop > r.threshold, detail: `accuracy ${b.accuracy.delta >= 0 ? 'rose' : 'dropped'} ${fmt(Math.abs(b.accuracy.delta))}` };
      }
      case 'f1-drop': {
        const drop = -b.macroF1.delta;
        return { rule: name, failed: drop > r.threshold, detail: `macro-F1 ${b.macroF1.delta >= 0 ? 'rose' : 'dropped'} ${fmt(Math.abs(b.macroF1.delta))}` };
      }
      case 'recall-drop': {
        const worst = [...b.perClass].sort((x, y) => x.recall.delta - y.recall.delta)[0];
        const drop = worst ? -worst.recall.delta : 0;
        return { rule: name, failed: drop > r.threshold, detail: worst ? `largest recall drop: '${worst.label}' ${fmt(Math.max(0, drop))}` : 'no classes' };
      }
      case 'broken-model-tests': {
        const n = b.modelTests.broken.length;
        return { rule: name, failed: n > r.threshold, detail: `${n} model tests broken` };
      }
      case 'broken': {
        const n = b.significance.broken;
        return { rule: name, failed: n > r.threshold, detail: `${n} items broken` };
      }
    }
  });
}

