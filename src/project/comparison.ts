/**
 * Comparisons: two states of a project — what changed in the data (core/data-diff) and how
 * both models behave on the same items (core/behaviour-diff). The one implementation behind
 * `d2 diff` (which cuts the lists and checks `--fail-on`) and `d2 report` (which draws it,
 * item by item, with feature vectors); also a single state's model on its own evaluation
 * items (`evaluateState`).
 *
 * Both models are evaluated on the same items: the test split and model tests of the `on`
 * side (B by default), with that side's labels. A model's predictions come from the
 * predictions service (project/predictions.ts: stored evaluation, else cache, else run now
 * through the model's own preprocessing).
 *
 * Invariants:
 * - A side without a built model is reported (with the command that builds it), never
 *   silently skipped; `build: true` builds it (d2.lock is not written).
 * - Paired items are the same items for both models; the truth is the `on` side's label.
 * - A model is never fed another build's preprocessing.
 * - Lists in the result are complete (callers cut them); nothing is written to the working
 *   tree; the store gets only immutable objects and cache notes (under the store lock).
 */
import { diffBehaviour, type BehaviourDiff, type PairedItem } from '../core/behaviour-diff.js';
import { classRenames, diffData, type DataDiff } from '../core/data-diff.js';
import type { DatasetItem } from '../core/dataset.js';
import type { FailCheck } from '../core/fail-on.js';
import { argmaxRows } from '../core/metrics.js';
import type { CommonOptions } from '../core/progress.js';
import type { EngineRequest } from '../engine/engines.js';
import { canonicalJson } from '../util/canonical-json.js';
import { findStateBuild, type StateBuild, type TrainOptions } from './builds.js';
import { predictItems } from './predictions.js';
import { prepareData, type PreparedData } from './prepared.js';
import type { Project } from './project.js';
import type { FilesNotAdded } from './working-tree-scan.js';
import { readTextItems, textOfItem } from './text-packing.js';
import { textSnippet } from '../core/text.js';
import { isTextSource } from '../manifest/index.js';

export const DIFF_SCHEMA = 'd2-diff/1';

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

/** One model's outputs on the evaluation items, index-aligned with them. */
export interface SidePredictions {
  /** Predicted label, read with the evaluation side's class names (undefined: could not run). */
  label: (string | undefined)[];
  /** The predicted class's probability. */
  confidence: number[];
  /** Probability rows, in the build's class order. */
  probs: (Float32Array | undefined)[];
  /** Penultimate-layer feature vectors, when asked for. */
  features?: (Float32Array | undefined)[];
  stored: number;
  inferred: number;
  computedNow: number;
  failed: { path: string; message: string }[];
}

export interface ComparisonOptions extends CommonOptions {
  /** The old side (a revision). */
  a: string;
  /** The new side: a revision, or undefined for the working tree. */
  b: string | undefined;
  /** Evaluate on this revision's test split and model tests (default: B's). */
  on?: string;
  /** Build a side that has no model (d2.lock is not written). */
  build?: boolean;
  engine?: EngineRequest;
  /** Also read each item's penultimate-layer feature vector (from the cache, or by running the model). */
  features?: boolean;
  /** How to train a side built with `build`. */
  train?: TrainOptions;
}

/** A comparison with what it was made from, item by item. */
export interface Comparison {
  /** The full result: every list complete, no checks. */
  result: DiffResult;
  /** The evaluation items (test split and model tests of the `on` side). */
  items: DatasetItem[];
  a: StateBuild;
  b: StateBuild;
  on: StateBuild;
  /** Each model's outputs on `items`, when both sides have a model. */
  predictions?: { a: SidePredictions; b: SidePredictions };
}

/** The evaluation items of a state: its test split and model tests. */
export function evaluationItems(prepared: PreparedData): DatasetItem[] {
  return prepared.resolved.items.filter((i) => i.set === 'test' || i.set === 'modelTest');
}

/**
 * A build's model on items of `evalSide`, with its answers read through `classMap`. Expects
 * the store lock held (the predictions cache may grow).
 */
export async function predictSide(
  project: Project, s: StateBuild, items: readonly DatasetItem[], evalSide: PreparedData, classMap: Record<string, string>,
  options: CommonOptions & { engine?: EngineRequest; features?: boolean },
): Promise<SidePredictions> {
  const build = s.build!.build;
  const k = build.classes.length;
  const p = await predictItems(project, build, items, evalSide, options);
  const out: SidePredictions = {
    label: new Array(items.length), confidence: new Array(items.length).fill(0), probs: p.probs,
    stored: p.stored, inferred: p.inferred, computedNow: p.computedNow, failed: p.failed.map((f) => ({ path: f.path, message: f.message })),
    ...(p.features ? { features: p.features } : {}),
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

/** A side's model as a diff reports it (null: no model). */
export function modelOf(s: StateBuild, p?: SidePredictions, classMap: Record<string, string> = {}): DiffModel | null {
  const b = s.build;
  if (!b) return null;
  return {
    oid: b.build.model, build: b.oid, key: b.build.key, preset: b.build.preset, engine: b.build.engine, classMap,
    stored: p?.stored ?? 0, inferred: p?.inferred ?? 0, computedNow: p?.computedNow ?? 0,
    failed: p?.failed ?? [], failedCount: p?.failed.length ?? 0,
  };
}

/** A side's classes renamed or merged away on the evaluation side (core/data-diff `classRenames`). */
export function classMapOf(s: StateBuild, on: StateBuild): Record<string, string> {
  if (s === on) return {};
  const classes = new Set(s.build?.build.classes ?? []);
  return Object.fromEntries(Object.entries(classRenames(s.prepared.resolved.items, on.prepared.resolved.items)).filter(([x]) => classes.has(x)));
}

/** Why a state has no model, and the command that builds it. */
export function missingOf(name: 'a' | 'b', s: StateBuild): DiffResult['missing'][number] {
  const why = s.prepared.blocked
    ? 'its dataset is blocked (see d2 data)'
    : s.prepared.resolved.items.length === 0 ? 'its dataset has no items' : 'no model is built for it in this store';
  return {
    side: name,
    message: `${s.rev ?? 'the working tree'} has no model: ${why}`,
    command: s.rev === undefined ? 'd2 build' : `d2 build --rev ${s.rev}`,
  };
}

/** Find the build of a state as a comparison does (never trains unless `build`). Expects the store lock held. */
export function findSide(project: Project, rev: string | undefined, options: Omit<ComparisonOptions, 'a' | 'b'>): Promise<StateBuild> {
  return findStateBuild(project, rev, {
    ...(options.engine ? { engine: options.engine } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    build: options.build === true,
    train: options.train ?? {},
  });
}

/**
 * Compare two states: the data, and both models on the same items. Expects the store lock
 * held. Lists are complete.
 */
export async function compareStates(project: Project, options: ComparisonOptions): Promise<Comparison> {
  const aRev = options.a;
  const bRev = options.b;
  const a = await findSide(project, aRev, options);
  const b = bRev === aRev ? a : await findSide(project, bRev, options);
  // The evaluation side needs its items and labels only.
  let on = b;
  if (options.on !== undefined && options.on !== bRev) {
    on = options.on === aRev ? a : { rev: options.on, build: undefined, prepared: await prepareData(project, { rev: options.on, preprocess: false, ...(options.signal ? { signal: options.signal } : {}) }) };
  }
  const data = diffData(a.prepared.resolved.items, b.prepared.resolved.items, a.prepared.state.manifest, b.prepared.state.manifest);
  const items = evaluationItems(on.prepared);
  const missing: DiffResult['missing'] = [];
  if (!a.build) missing.push(missingOf('a', a));
  if (!b.build) missing.push(missingOf('b', b));
  let behaviour: BehaviourDiff | null = null;
  let aModel = modelOf(a);
  let bModel = modelOf(b);
  let predictions: Comparison['predictions'];
  if (a.build && b.build) {
    const mapA = classMapOf(a, on);
    const mapB = classMapOf(b, on);
    const pa = await predictSide(project, a, items, on.prepared, mapA, options);
    const pb = b.build.oid === a.build.oid && canonicalJson(mapA) === canonicalJson(mapB) ? pa : await predictSide(project, b, items, on.prepared, mapB, options);
    const paired: PairedItem[] = [];
    items.forEach((it, i) => {
      const la = pa.label[i];
      const lb = pb.label[i];
      if (la === undefined || lb === undefined) return;
      paired.push({
        path: `${it.source}/${it.path}`, oid: it.oid, truth: it.label, modelTest: it.set === 'modelTest',
        before: { label: la, confidence: pa.confidence[i]! }, after: { label: lb, confidence: pb.confidence[i]! },
      });
    });
    behaviour = diffBehaviour(paired);
    addTextSnippets(project.store, on.prepared, behaviour);
    aModel = modelOf(a, pa, mapA);
    bModel = modelOf(b, pb, mapB);
    predictions = { a: pa, b: pb };
  }
  const side = (s: StateBuild, model: DiffModel | null): DiffSide => ({ rev: s.rev ?? null, commit: s.prepared.state.commit, dataset: s.prepared.datasetOid, model });
  const result: DiffResult = {
    schema: DIFF_SCHEMA,
    a: side(a, aModel),
    b: side(b, bModel),
    data,
    evaluatedOn: {
      rev: on.rev ?? null,
      commit: on.prepared.state.commit,
      items: items.filter((i) => i.set === 'test').length,
      modelTests: items.filter((i) => i.set === 'modelTest').length,
    },
    behaviour,
    missing,
  };
  return { result, items, a, b, on, ...(predictions ? { predictions } : {}) };
}

/**
 * Text datasets: each flipped item's snippet (the start of its text), so a diff says what the
 * text was and not only its path. An item whose text cannot be read gets none.
 */
function addTextSnippets(store: Project['store'], prepared: PreparedData, behaviour: BehaviourDiff): void {
  const decls = prepared.state.manifest.sources;
  const flips = [...behaviour.fixed, ...behaviour.broken, ...behaviour.modelTests.fixed, ...behaviour.modelTests.broken];
  if (!flips.length) return;
  const byOid = new Map(prepared.resolved.items.map((it) => [it.oid, it]));
  const sources = [...new Set(flips.map((f) => byOid.get(f.oid)?.source).filter((s): s is string => s !== undefined && decls[s] !== undefined && isTextSource(decls[s]!)))];
  if (!sources.length) return;
  const texts = readTextItems(store, prepared.state, sources);
  for (const f of flips) {
    const it = byOid.get(f.oid);
    if (!it || !sources.includes(it.source)) continue;
    try {
      f.snippet = textSnippet(textOfItem(store, texts, it, prepared.state.manifest.preprocess.text.maxBytes));
    } catch {
      // an unreadable text (it failed preprocessing too): no snippet
    }
  }
}
