/**
 * `d2 diff A B`: what changed between two states of a project — in the data (core/data-diff)
 * and in the model's behaviour (core/behaviour-diff) — plus `--fail-on` checks for CI
 * (core/fail-on).
 *
 * Both models are evaluated on the same items: the test split and model tests of the `on` side
 * (B by default), with that side's labels. A model's predictions come from the predictions
 * service (project/predictions.ts: stored evaluation, else cache, else run now through the
 * model's own preprocessing).
 *
 * `a` may be a range 'A..B' (git's notation): then it names both sides.
 *
 * Invariants:
 * - A side without a built model is reported (with the command that builds it), never
 *   silently skipped; `build: true` builds it (d2.lock is not written).
 * - Paired items are the same items for both models; the truth is the `on` side's label.
 * - A model is never fed another build's preprocessing.
 * - Nothing is written to the working tree; the store gets only immutable objects and the
 *   cache pointer (rewritten atomically under the store lock).
 */
import { diffBehaviour, type BehaviourDiff, type PairedItem } from '../core/behaviour-diff.js';
import { classRenames, diffData, type DataDiff } from '../core/data-diff.js';
import type { DatasetItem } from '../core/dataset.js';
import { checkFailOn, parseFailOn, type FailCheck, type FailRule } from '../core/fail-on.js';
import { argmaxRows } from '../core/metrics.js';
import { parseRange } from '../core/revision-range.js';
import { InvalidArgument } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import { canonicalJson } from '../util/canonical-json.js';
import { findStateBuild, type StateBuild } from '../project/builds.js';
import { predictItems } from '../project/predictions.js';
import { prepareData, type PreparedData } from '../project/prepared.js';
import type { Project } from '../project/project.js';
import { beginFilesNotAdded, type FilesNotAdded } from '../project/working-tree-scan.js';
import { COMMON_OPTIONS, runVerb, type VerbOptions } from './verb.js';

export { checkFailOn, parseFailOn, type FailCheck, type FailRule };

export const DIFF_SCHEMA = 'd2-diff/1';

export interface DiffOptions extends VerbOptions {
  /** The old side: a revision (default 'HEAD'), or a range 'A..B' naming both sides. */
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
  /** The working tree's side only: files `d2 add` has not recorded yet (not in its dataset). */
  filesNotAdded?: FilesNotAdded[];
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

type Side = StateBuild;

const DIFF_OPTIONS: Record<keyof DiffOptions, true> = { ...COMMON_OPTIONS, lockTimeoutMs: true, a: true, b: true, on: true, build: true, engine: true, limit: true, failOn: true };

/** A model's predictions for the evaluation items (index-aligned; undefined: could not run). */
interface ItemPredictions {
  label: (string | undefined)[];
  confidence: number[];
  stored: number;
  inferred: number;
  computedNow: number;
  failed: { path: string; message: string }[];
}

/** Predictions of a build's model for the evaluation items, read with the evaluation side's class names. */
async function predictionsFor(project: Project, s: Side, items: readonly DatasetItem[], evalSide: PreparedData, classMap: Record<string, string>, options: DiffOptions): Promise<ItemPredictions> {
  const build = s.build!.build;
  const k = build.classes.length;
  const p = await predictItems(project, build, items, evalSide, options);
  const out: ItemPredictions = {
    label: new Array(items.length), confidence: new Array(items.length).fill(0),
    stored: p.stored, inferred: p.inferred, computedNow: p.computedNow, failed: p.failed.map((f) => ({ path: f.path, message: f.message })),
  };
  p.probs.forEach((row, i) => {
    if (!row) return;
    const best = argmaxRows(row, k)[0]!;
    const label = build.classes[best]!;
    out.label[i] = classMap[label] ?? label;
    out.confidence[i] = row[best] as number;
  });
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
  const why = s.prepared.blocked
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
  const limit = options.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 0) throw new InvalidArgument(`option 'limit' must be a whole number >= 0, not ${limit}`, { data: { option: 'limit' } });
  const rules = typeof options.failOn === 'string' ? parseFailOn(options.failOn) : options.failOn;
  const range = options.a !== undefined ? parseRange(options.a) : undefined;
  if (range && options.b !== undefined) {
    throw new InvalidArgument(`give either a range ('${options.a}') or two revisions, not both`, { data: { option: 'b' } });
  }
  const aRev = range ? range.from : (options.a ?? 'HEAD');
  const bRev = range ? range.to : options.b;
  return runVerb('d2.diff', options, { lock: 'd2 diff', options: DIFF_OPTIONS }, async (project) => {
    const notAddedScan = aRev === undefined || bRev === undefined ? beginFilesNotAdded(project, options) : Promise.resolve([]);
    const sideOf = (rev: string | undefined) => findStateBuild(project, rev, {
      ...(options.engine ? { engine: options.engine } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      build: options.build === true,
      train: options,
    });
    {
      const a = await sideOf(aRev);
      const b = bRev === aRev ? a : await sideOf(bRev);
      // The evaluation side needs its items and labels only.
      let on = b;
      if (options.on !== undefined && options.on !== bRev) {
        on = options.on === aRev ? a : { rev: options.on, build: undefined, prepared: await prepareData(project, { rev: options.on, preprocess: false, ...(options.signal ? { signal: options.signal } : {}) }) };
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
        const pa = await predictionsFor(project, a, evalItems, on.prepared, mapA, options);
        const pb = b.build.oid === a.build.oid && canonicalJson(mapA) === canonicalJson(mapB) ? pa : await predictionsFor(project, b, evalItems, on.prepared, mapB, options);
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
      const notAdded = await notAddedScan;
      const side = (s: Side, model: DiffModel | null): DiffSide => ({
        rev: s.rev ?? null, commit: s.prepared.state.commit, dataset: s.prepared.datasetOid, model,
        ...(s.rev === undefined ? { filesNotAdded: notAdded } : {}),
      });
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
    }
  });
}
