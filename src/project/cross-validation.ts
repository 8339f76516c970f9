/**
 * Cross-validation: out-of-sample probabilities for every labelled item of a state, the input
 * of `d2 review` (confident learning needs, for each item, the prediction of a model that never
 * saw it).
 *
 * The items of train, validation and test (model tests stay out: they are never trained on, by
 * the manifest's design) are cut into k folds by content hash and a seed (core/folds.ts). Fold f
 * is an ordinary build (project/builds.ts: keyed, cached, checkpointed, resumed) of a dataset
 * made of the same items in other sets:
 * - `test`: the items of fold f — what the fold model predicts, out of sample;
 * - `validation`: the other folds' items of the validation split — the fold model's early
 *   stopping, as in `d2 build`;
 * - `train`: every other item (the other folds' train and test items).
 * Its packs copy pixels from the per-item cache (the same preprocessing as the state's own
 * build), and its model settings (`foldModelSpec`) are part of its build key, with the fold's
 * identity (k, index, seed). The fold models' stored evaluations of their `test` sets, put
 * together, are the out-of-sample evaluation (core/evaluation.ts) of every item.
 *
 * Invariants:
 * - No item is predicted by a model that trained or early-stopped on it (nor on an item of the
 *   same content: folds go by content hash).
 * - Adding items never moves another item to another fold; a fold whose items did not change is
 *   the same build, found by its key (nothing trained).
 * - The cross-validation record is stored only after every fold build and the evaluation are
 *   durable objects; its pointer (`crossval-<key>`) only after the record.
 */
import { computeMetrics, argmaxRows } from '../core/metrics.js';
import { evaluateSet, parseEvaluation, serializeEvaluation, type Evaluation } from '../core/evaluation.js';
import type { Counts, DatasetItem, ItemSet, ResolvedDataset, Split } from '../core/dataset.js';
import { SPLITS } from '../core/dataset.js';
import { assignFolds } from '../core/folds.js';
import type { CommonOptions } from '../core/progress.js';
import { isOid } from '../core/safe-path.js';
import { DatasetBlocked, InvalidArgument, ObjectCorrupt, throwIfAborted } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import type { EpochEvent } from '../engine/train.js';
import type { ObjectStore } from '../store/index.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import { ensureBuild, readBuild, TRAINER_VERSION, type ModelSpec } from './builds.js';
import { packLike, type PreparedData } from './prepared.js';
import type { Project } from './project.js';

/** Folds by default (the K = 5: each fold model trains on 80 % of the items). */
export const DEFAULT_FOLDS = 5;
/** Fold seed by default. */
export const DEFAULT_FOLD_SEED = 0;
/**
 * The fold models' network: the `fast` preset (conv·16 – pool – conv·32 – pool – dense 64 for
 * images; 256 – 128 for tables). Confident learning needs calibrated-enough out-of-sample
 * probabilities, not the best model; k of these train in the time of about one default build
 * (docs/review.md has the figures).
 */
export const FOLD_PRESET: ModelSpec['preset'] = 'fast';
/**
 * Training steps a fold model takes at most (batches of 64): epochs are capped at
 * round(FOLD_STEPS / steps per epoch), between 2 and the preset's 10 (rounded, not ceiled, so
 * folds a few items apart get the same cap). Small sets keep all 10
 * epochs (the bundled 400 images: ~10 steps an epoch); Fashion-MNIST's 60,000 images (about
 * 43,000 training items per fold, 672 steps an epoch) get 4, which keeps five folds within
 * the 10-minute target on two cores (bench/review.js).
 */
export const FOLD_STEPS = 2700;

export interface CrossValidationOptions extends CommonOptions {
  /** Number of folds, ≥ 2 (default 5). */
  k?: number;
  /** Fold seed (default 0): another seed cuts other folds. */
  seed?: number;
  engine?: EngineRequest;
  workers?: number | 'auto';
  onEpoch?: (e: EpochEvent & { fold: number }) => void;
}

/** One fold's build, as the cross-validation record keeps it. */
export interface FoldRecord {
  index: number;
  /** Items the fold model predicts (out of sample). */
  items: number;
  /** Items it trained on (and early-stopped on). */
  train: number;
  validation: number;
  /** The fold's build key and build record oid. */
  key: string;
  build: string;
  epochs: number;
  maxEpochs: number | null;
  /** Accuracy of the fold model on its own fold. */
  accuracy: number;
}

/** The stored result of a cross-validation (`d2-crossval` JSON). */
export interface CrossValidationRecord {
  format: 1;
  kind: 'd2-crossval';
  key: string;
  k: number;
  seed: number;
  /** The dataset whose items were cross-validated. */
  dataset: string;
  classes: string[];
  preset: ModelSpec['preset'];
  engine: string;
  trainer: string;
  folds: FoldRecord[];
  /** The out-of-sample evaluation object: every item's probabilities from the model of its fold. */
  evaluation: string;
  /** Over every item with an out-of-sample prediction (train, validation and test together). */
  metrics: { count: number; accuracy: number; macroF1: number };
}

/** What `crossValidate` did. */
export interface CrossValidation {
  oid: string;
  record: CrossValidationRecord;
  evaluation: Evaluation;
  /** Folds trained now (0: every fold model was found by its key). */
  trained: number;
  /** Folds resumed from a checkpoint. */
  resumed: number;
  /** Training seconds of the folds trained now. */
  seconds: number;
}

/** The items cross-validated: every labelled item but the model tests. */
export function crossValidatedItems(resolved: ResolvedDataset): DatasetItem[] {
  return resolved.items.filter((it) => it.set !== 'modelTest');
}

function countsOf(items: readonly DatasetItem[]): Record<ItemSet, Counts> {
  const counts = { train: empty(), validation: empty(), test: empty(), modelTest: empty() } as Record<ItemSet, Counts>;
  for (const it of items) {
    const c = counts[it.set];
    c.total++;
    c.perClass[it.label] = (c.perClass[it.label] ?? 0) + 1;
  }
  return counts;
}

function empty(): Counts {
  return { total: 0, perClass: {} };
}

/** The dataset of fold `f`: the fold's items in `test`, the others' validation items in `validation`, the rest in `train`. */
export function foldDataset(resolved: ResolvedDataset, items: readonly DatasetItem[], folds: readonly number[], f: number): ResolvedDataset {
  const out = items.map((it, i): DatasetItem => ({ ...it, set: folds[i] === f ? 'test' : it.set === 'validation' ? 'validation' : 'train' }));
  // The classes of the whole dataset, in its order: every fold's model has the same outputs.
  return { items: out, classes: resolved.classes, counts: countsOf(out), left: resolved.left, unlabelled: [], problems: [] };
}

/**
 * The fold models' settings: the `fast` preset, d2.yaml's seed, no time budget (a build must be
 * a function of its inputs), the epochs capped by FOLD_STEPS, and the fold's identity.
 */
export function foldModelSpec(manifestSeed: number, trainCount: number, fold: { k: number; index: number; seed: number }): ModelSpec {
  const batch = trainCount < 2000 ? 32 : 64; // the plan's batch size (engine/plan.ts)
  const stepsPerEpoch = Math.max(1, Math.ceil(trainCount / batch));
  const maxEpochs = Math.min(10, Math.max(2, Math.round(FOLD_STEPS / stepsPerEpoch)));
  return { preset: FOLD_PRESET, seed: manifestSeed, timeBudgetSeconds: null, maxEpochs, fold };
}

function crossValidationKey(k: number, seed: number, dataset: string, foldKeys: readonly string[]): string {
  return sha256Hex(canonicalJson({ kind: 'd2-crossval-key', trainer: TRAINER_VERSION, k, seed, dataset, folds: foldKeys }));
}

/** A cross-validation record object's text, checked (every oid is an oid before it names a file). */
export function parseCrossValidationRecord(text: string, oid: string): CrossValidationRecord {
  let raw: Partial<CrossValidationRecord>;
  try {
    raw = JSON.parse(text) as Partial<CrossValidationRecord>;
  } catch (e) {
    throw new ObjectCorrupt(`cross-validation record ${oid.slice(0, 12)} is not JSON: ${(e as Error).message}`, { data: { oid }, hint: "run 'd2 fsck'" });
  }
  const ok = raw !== null && typeof raw === 'object' && raw.kind === 'd2-crossval' && raw.format === 1 && isOid(raw.key) && isOid(raw.dataset) && isOid(raw.evaluation) &&
    Array.isArray(raw.folds) && raw.folds.every((f) => isOid(f?.build) && isOid(f?.key)) && Array.isArray(raw.classes);
  if (!ok) throw new ObjectCorrupt(`cross-validation record ${oid.slice(0, 12)} is damaged or crafted`, { data: { oid }, hint: "run 'd2 fsck'" });
  return raw as CrossValidationRecord;
}

function findCrossValidation(store: ObjectStore, key: string): { oid: string; record: CrossValidationRecord; evaluation: Evaluation } | undefined {
  const oid = store.state.readPointer('crossval', key);
  if (oid === undefined || !store.has(oid)) return undefined;
  try {
    const record = parseCrossValidationRecord(store.readText(oid), oid);
    if (!store.has(record.evaluation)) return undefined;
    return { oid, record, evaluation: parseEvaluation(store.readText(record.evaluation)) };
  } catch {
    return undefined; // a damaged record is only a cache miss: it is made again
  }
}

/**
 * Out-of-sample probabilities of every labelled item of `prepared` (packed data of a state),
 * by k-fold cross-validation: each fold a build found by its key or trained (then stored, so a
 * second call trains nothing). Expects the store lock held.
 */
export async function crossValidate(project: Project, prepared: PreparedData, options: CrossValidationOptions = {}): Promise<CrossValidation> {
  const { store } = project;
  const k = options.k ?? DEFAULT_FOLDS;
  const seed = options.seed ?? DEFAULT_FOLD_SEED;
  if (prepared.blocked) {
    const blocking = prepared.resolved.problems.filter((p) => p.severity === 'error');
    throw new DatasetBlocked(`the dataset has ${blocking.length} blocking problem${blocking.length === 1 ? '' : 's'}: ${blocking.map((p) => p.message).join('; ')}`, {
      data: { problems: blocking },
      hint: "run 'd2 data' to see every problem; fix d2.yaml or the labels, then review again",
    });
  }
  if (!prepared.packing) throw new InvalidArgument('the dataset has no items: nothing to review', { hint: "add data with 'd2 add' and declare it in d2.yaml" });
  const items = crossValidatedItems(prepared.resolved);
  if (items.length < 2) throw new InvalidArgument(`the dataset has ${items.length} item(s) outside the model tests: too few to cross-validate`, { hint: 'add labelled items' });
  const folds = assignFolds(items.map((it) => it.oid), k, seed);
  const classes = prepared.resolved.classes;
  const m = classes.length;

  // Every fold: find or train its build.
  const made: { index: number; key: string; oid: string; epochs: number; maxEpochs: number | null; accuracy: number; items: number; train: number; validation: number; reused: boolean; resumed: boolean; seconds: number }[] = [];
  for (let f = 0; f < k; f++) {
    throwIfAborted(options.signal);
    if (!folds.includes(f)) continue; // an empty fold has nothing to predict
    options.onProgress?.({ phase: 'fold', loaded: f, total: k, detail: { fold: f + 1 } });
    const dataset = foldDataset(prepared.resolved, items, folds, f);
    const foldPrepared = await packLike(project, prepared, dataset, { ...(options.signal ? { signal: options.signal } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
    const sets = foldPrepared.packing!.record.sets;
    if (sets.train.count === 0) continue; // nothing to train on (a tiny dataset in one fold)
    const spec = foldModelSpec(prepared.state.manifest.model.seed, sets.train.count, { k, index: f, seed });
    const onProgress = options.onProgress;
    const build = await ensureBuild(project, foldPrepared, {
      model: spec,
      ...(options.engine ? { engine: options.engine } : {}),
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      // Each event names its fold; the opening event of training has no figures, so it keeps no detail.
      ...(onProgress ? { onProgress: (e) => onProgress(e.phase === 'train' && !e.detail ? e : { ...e, detail: { ...e.detail, fold: f + 1, folds: k } }) } : {}),
      ...(options.onEpoch ? { onEpoch: (e: EpochEvent) => options.onEpoch!({ ...e, fold: f + 1 }) } : {}),
    });
    const b = build.build;
    made.push({
      index: f, key: b.key, oid: build.oid, epochs: b.epochs, maxEpochs: b.maxEpochs ?? null, accuracy: b.metrics.test?.accuracy ?? 0,
      items: sets.test.count, train: sets.train.count, validation: sets.validation.count,
      reused: build.reused, resumed: build.resumedAfterEpoch !== null, seconds: build.reused ? 0 : b.seconds,
    });
  }
  options.onProgress?.({ phase: 'fold', loaded: k, total: k });

  const key = crossValidationKey(k, seed, prepared.datasetOid, made.map((f) => f.key));
  const trained = made.filter((f) => !f.reused).length;
  const resumed = made.filter((f) => f.resumed).length;
  const seconds = made.reduce((a, f) => a + f.seconds, 0);
  const found = findCrossValidation(store, key);
  if (found) return { ...found, trained, resumed, seconds };

  // Each item's row from the evaluation of its fold's model.
  const rows = new Map<string, Float32Array>();
  for (const f of made) {
    const e = parseEvaluation(store.readText(readBuild(store, f.oid).evaluation));
    const t = e.sets.test?.predictions;
    if (!t) continue;
    // Fold builds have the dataset's classes in its order (foldDataset); checked all the same.
    if (e.classes.join('\n') !== classes.join('\n')) throw new InvalidArgument(`internal: fold ${f.index} has other classes than the dataset`);
    t.paths.forEach((p, i) => rows.set(p, t.probs.subarray(i * m, (i + 1) * m)));
  }
  const evaluation: Evaluation = { format: 1, model: key, dataset: prepared.datasetOid, classes, sets: {} };
  const allLabels: number[] = [];
  const allProbs: Float32Array[] = [];
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  for (const split of SPLITS as readonly Split[]) {
    const members = items.filter((it) => it.set === split && rows.has(`${it.source}/${it.path}`));
    if (!members.length) continue;
    const probs = new Float32Array(members.length * m);
    members.forEach((it, i) => probs.set(rows.get(`${it.source}/${it.path}`)!, i * m));
    const labels = members.map((it) => classIndex.get(it.label)!);
    evaluation.sets[split] = evaluateSet({ paths: members.map((it) => `${it.source}/${it.path}`), oids: members.map((it) => it.oid), labels, probs }, classes);
    allLabels.push(...labels);
    allProbs.push(probs);
  }
  const flat = new Float32Array(allLabels.length * m);
  let at = 0;
  for (const p of allProbs) {
    flat.set(p, at);
    at += p.length;
  }
  const overall = computeMetrics(allLabels, argmaxRows(flat, m), classes);
  const evaluationOid = store.putBytes(serializeEvaluation(evaluation));
  const record: CrossValidationRecord = {
    format: 1, kind: 'd2-crossval', key, k, seed, dataset: prepared.datasetOid, classes, preset: FOLD_PRESET,
    engine: made.length ? readBuild(store, made[0]!.oid).engine : '', trainer: TRAINER_VERSION,
    folds: made.map((f) => ({ index: f.index, items: f.items, train: f.train, validation: f.validation, key: f.key, build: f.oid, epochs: f.epochs, maxEpochs: f.maxEpochs, accuracy: f.accuracy })),
    evaluation: evaluationOid,
    metrics: { count: overall.count, accuracy: overall.accuracy, macroF1: overall.macroF1 },
  };
  const oid = store.putBytes(JSON.stringify(record));
  store.state.writePointer('crossval', key, oid);
  return { oid, record, evaluation, trained, resumed, seconds };
}
