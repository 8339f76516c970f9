/**
 * Builds: the stored build record, the build key, the key's pointer and training checkpoint
 * in `.d2/state/`, finding the build of a state, training and storing a build, and evaluating
 * a model on a packed dataset's sets. Every verb that needs a model comes here.
 *
 * Builds are content-addressed: the build key (`buildKeyOf`, the one place it is computed)
 * hashes every input — the packed data, which covers dataset, labels, splits and
 * preprocessing; the normalisation; the model section; the engine's id; the trainer version;
 * with `model.backbone`, the backbone's content (its record oid, not its path) and the layer cut
 * at (such a build's model is a head trained on the backbone's cached embeddings,
 * project/embeddings.ts; evaluation runs the head on the same embeddings); for small text and
 * table data, that the choice between the two candidates is cross-validated (k folds, in
 * memory: `crossValidateCandidates`).
 * A build whose key was built before is reused at once; an interrupted build resumes from its
 * last epoch checkpoint (`checkpoint-<key>`).
 *
 * Invariants:
 * - A build record is stored only after its model and evaluation are durable objects; its
 *   pointer (`build-<key>`) only after the record.
 * - Evaluation runs the stored model through engine/model.ts `predict` on the tensors of
 *   `loadSet`: the same path `d2 predict` and `d2 diff` use.
 * - A blocked dataset (leakage, unknown model-test items…) is refused before any training.
 * - Finding a build never trains; `ensureBuild` trains only when no build has the key.
 */
import type { ItemSet } from '../core/dataset.js';
import { evaluateSet, failingModelTests, serializeEvaluation, type Evaluation } from '../core/evaluation.js';
import type { CommonOptions } from '../core/progress.js';
import { isOid } from '../core/safe-path.js';
import { DatasetBlocked, Interrupted, InvalidArgument, ModelNotBuilt, ObjectCorrupt, ObjectNotFound, throwIfAborted } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import type { EpochRecord } from '../engine/checkpoint.js';
import { describeRecipe, FLIPS, type Architecture, type Flip } from '../engine/plan.js';
import type { EpochEvent, StopReason } from '../engine/train.js';
import { durationSeconds, LOCK_FILE, parseLock, type Lock } from '../manifest/index.js';
import type { ObjectStore } from '../store/index.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import { backboneKeyOf, type BuildBackbone } from './backbone.js';
import { embedSets } from './embeddings.js';
import { prepareData, type PreparedData } from './prepared.js';
import type { PackedDataset } from './packing.js';
import { withStoreLock, type Project } from './project.js';
import { readWorkingText, RevisionReader } from './revision.js';
import { revisionCommits } from '../git/index.js';
import { loadSet, type LoadedSet } from './tensors.js';
import type { TableEncoding } from '../preprocess/index.js';
import type { TextEncoding } from '../core/text.js';
import type { Head } from '../engine/plan.js';
import { assignFolds } from '../core/folds.js';
import { chooseCandidate, meanLoss, selectionMethodOf, type Candidate, type SelectionMethod } from '../core/model-selection.js';

export type { Candidate } from '../core/model-selection.js';

/**
 * Text and table builds train two models, softmax regression ('linear') and an MLP ('mlp':
 * one hidden layer of 64 for texts, the preset's MLP for tables), and keep the one with the
 * lower validation loss — cross-validated when the data is small (core/model-selection.ts):
 * both scores are recorded.
 */
export interface ModelSelection {
  chosen: Candidate;
  /**
   * How the choice was made: by the validation split's loss, or by the mean loss of k-fold
   * cross-validation (small data). Absent in records made before cross-validated selection
   * (they chose by validation).
   */
  method?: SelectionMethod;
  /** Folds, with 'cross-validation'. */
  k?: number;
  /**
   * Each candidate's validation loss at its best epoch (null without a validation set) and its
   * epochs, trained on the train split as the final model is; with 'cross-validation', also its
   * mean cross-validated loss (the score the choice rests on) and each fold's loss.
   */
  candidates: Record<Candidate, { valLoss: number | null; epochs: number; bestEpoch: number; cvLoss?: number | null; foldLosses?: (number | null)[] }>;
}

/** The networks a build trains: one for images; for texts and tables the two candidates. */
function candidatesOf(modality: PackedDataset['modality']): { name: Candidate | undefined; head: Head | undefined }[] {
  if (modality === 'text') return [{ name: 'linear', head: 'linear' }, { name: 'mlp', head: 'small' }];
  if (modality === 'table') return [{ name: 'linear', head: 'linear' }, { name: 'mlp', head: undefined }];
  return [{ name: undefined, head: undefined }];
}

/**
 * Bump when training or evaluation changes the model or predictions for the same inputs (d2's
 * SIMD kernels of the wasm engine sum in the order of the kernels they replaced: no bump).
 */
export const TRAINER_VERSION = 'd2-trainer-4';

/**
 * The model settings a build trains with: the manifest's model section (`modelSpecOf`), or
 * those of a cross-validation fold (project/cross-validation.ts). Part of the build key.
 */
export interface ModelSpec {
  preset: Lock['model']['preset'];
  seed: number;
  timeBudgetSeconds: number | null;
  /** At most this many epochs (cross-validation folds bound their time with it). */
  maxEpochs?: number;
  /** Which cross-validation fold this build is: k folds, this one's index, the fold seed. */
  fold?: { k: number; index: number; seed: number };
  /** d2.yaml's `preprocess.augment`, when declared (images: translations on, no mirrors, otherwise). */
  augment?: { translate: boolean; flip: Flip[] };
}

/** The model settings d2.yaml declares. */
export function modelSpecOf(manifest: PreparedData['state']['manifest']): ModelSpec {
  const m = manifest.model;
  const a = manifest.preprocess.augment;
  return {
    preset: m.preset, seed: m.seed, timeBudgetSeconds: m.timeBudget === undefined ? null : durationSeconds(m.timeBudget),
    ...(a ? { augment: { translate: a.translate, flip: [...a.flip] } } : {}),
  };
}

/** How to train when no build has the key. */
export interface TrainOptions extends CommonOptions {
  /** Engine: 'auto' (default: the fastest present), 'gpu', 'node', 'wasm' or 'cpu'. */
  engine?: EngineRequest;
  /** Train again even when a model for these inputs exists (the result is the same model). */
  force?: boolean;
  /** Training worker threads ('auto' by default; 0 trains in this thread). Results do not depend on it. */
  workers?: number | 'auto';
  /** Each epoch's figures, as it ends. */
  onEpoch?: (e: EpochEvent) => void;
  /** Train with these settings instead of the manifest's (cross-validation folds). */
  model?: ModelSpec;
}

export interface SetMetricsSummary {
  count: number;
  accuracy: number;
  macroF1: number;
}

export interface BuildMetrics {
  validation?: SetMetricsSummary;
  test?: SetMetricsSummary;
  modelTests?: { count: number; passed: number; failed: string[] };
}

/** Everything about one build, stored as an object (`d2-build` JSON) and named by its key. */
export interface BuildRecord {
  format: 1;
  kind: 'd2-build';
  key: string;
  /** Hash of what the state declared (dataset oid, preprocess and model sections): see `declaredInputs`. */
  declared: string;
  dataset: string;
  /** The packed-data record the model was trained on. */
  packed: string;
  classes: string[];
  preprocess: {
    modality: 'image' | 'table' | 'text';
    config: string;
    derived: boolean;
    /** Image steps including `normalize` (empty for tables). */
    steps: PackedDataset['steps'];
    /** One item's shape as fed to the model. */
    shape: number[];
    /** Tables: how a row becomes features (fitted on train). */
    table?: TableEncoding;
    /** Texts: how a text becomes features (vocabulary or hash buckets and IDF, fitted on train). */
    text?: TextEncoding;
  };
  /** Model object (engine/model.ts 'D2MODEL1'); with a backbone, the head over its embeddings. */
  model: string;
  /**
   * Transfer learning: the backbone whose embeddings the model (the head) reads. The inputs
   * are still images preprocessed by `preprocess`; the backbone turns them into vectors.
   */
  backbone?: BuildBackbone;
  /** Evaluation object (core/evaluation.ts). */
  evaluation: string;
  preset: Lock['model']['preset'];
  seed: number;
  timeBudgetSeconds: number | null;
  /** Cross-validation folds: the epoch limit they trained under. */
  maxEpochs?: number;
  /** Cross-validation folds: which fold of how many, and the fold seed. */
  fold?: ModelSpec['fold'];
  architecture: Architecture;
  /** How it was trained (engine/plan.ts describeRecipe); absent in records made before it. */
  recipe?: string;
  /** Text builds: the candidate models and which one was kept. */
  selection?: ModelSelection;
  engine: string;
  trainer: string;
  epochs: number;
  bestEpoch: number;
  stoppedBy: StopReason;
  /** Training wall time of this build (all runs, when resumed). */
  seconds: number;
  samplesPerSecond: number;
  history: EpochRecord[];
  metrics: BuildMetrics;
}

/** A build found or made by `ensureBuild`. */
export interface MadeBuild {
  /** The revision built; null for the working tree. */
  commit: string | null;
  /** True when a model for these inputs existed and nothing was trained. */
  reused: boolean;
  /** The epoch a resumed build continued after, or null. */
  resumedAfterEpoch: number | null;
  /** Build record object oid. */
  oid: string;
  build: BuildRecord;
  /** Training worker threads used (0: the calling thread). */
  workers: number;
  /** With a backbone, when a head was trained now: items embedded now, items whose embedding was cached. */
  embeddings?: { embedded: number; cached: number; dims: number };
}

/**
 * Short text form of an architecture, e.g. 'cnn conv16-pool-conv32-pool-dense64-dense10': a
 * convolution's filters, then its kernel when not 3×3 ('k5') and 's' for 'same' padding.
 */
export function describeArchitecture(a: Architecture): string {
  const parts = a.layers.flatMap((l) => {
    if (l.kind === 'conv2d') return [`conv${l.filters}${l.kernel !== 3 ? `k${l.kernel}` : ''}${l.padding === 'same' ? 's' : ''}`];
    if (l.kind === 'maxPool') return ['pool'];
    if (l.kind === 'dense') return [`dense${l.units}`];
    if (l.kind === 'dropout') return [`drop${l.rate}`];
    return [];
  });
  return `${a.family} ${parts.join('-')}`;
}

/** A build record with its oid. */
export interface FoundBuild {
  oid: string;
  build: BuildRecord;
}

/** The build record of `key`, when it was built here and its objects are all present. */
export function findBuild(store: ObjectStore, key: string): FoundBuild | undefined {
  const oid = store.state.readPointer('build', key);
  return oid === undefined ? undefined : readBuildRecord(store, oid);
}

/**
 * The build of `key`: through its pointer, else through any revision's d2.lock naming a record
 * of that key (the pointer may name a record `d2 gc --prune` deleted while an identical build,
 * kept because a commit names it, is still here). A record found this way gets the pointer.
 */
export async function findBuildByKey(project: Project, key: string): Promise<FoundBuild | undefined> {
  const direct = findBuild(project.store, key);
  if (direct) return direct;
  for await (const lock of everyLock(project)) {
    const record = lock.model.build === key ? lock.model.record : undefined;
    const found = record !== undefined ? readBuildRecord(project.store, record) : undefined;
    if (found && found.build.key === key) {
      recordBuildPointer(project.store, key, found.oid);
      return found;
    }
  }
  return undefined;
}

/**
 * The build named by `oid`: its build record object, or its model object (found through the
 * store's build pointers, then through every revision's d2.lock). Undefined when the store
 * has no such build (or lacks its model or evaluation).
 */
export async function findBuildByOid(project: Project, oid: string): Promise<FoundBuild | undefined> {
  const { store } = project;
  if (store.has(oid)) {
    try {
      const found = readBuildRecord(store, oid);
      if (found) return found;
    } catch {
      // not a build record (a model object is binary): look for the build whose model it is
    }
  }
  for (const { key } of store.state.list(['build'])) {
    const record = store.state.readPointer('build', key);
    const found = record === undefined ? undefined : tryReadBuildRecord(store, record);
    if (found?.build.model === oid) return found;
  }
  for await (const lock of everyLock(project)) {
    if (lock.model.oid !== oid || lock.model.record === undefined) continue;
    const found = tryReadBuildRecord(store, lock.model.record);
    if (found?.build.model === oid) return found;
  }
  return undefined;
}

function tryReadBuildRecord(store: ObjectStore, oid: string): FoundBuild | undefined {
  try {
    return readBuildRecord(store, oid);
  } catch {
    return undefined;
  }
}

/** The d2.lock of the working tree, then of every commit of every branch and tag, each distinct blob once. */
async function* everyLock(project: Project): AsyncGenerator<Lock> {
  const working = readWorkingText(project, LOCK_FILE);
  const lock = working === undefined ? undefined : parseLock(working).lock;
  if (lock) yield lock;
  let reader: RevisionReader;
  try {
    reader = await RevisionReader.open(project);
  } catch {
    return; // not in a git repository: the working tree only
  }
  const seen = new Set<string>();
  for (const commit of await revisionCommits(reader.repo)) {
    const blob = (await reader.blobs(commit, '')).get(LOCK_FILE);
    if (blob === undefined || seen.has(blob)) continue;
    seen.add(blob);
    const l = await reader.lockAt(commit);
    if (l) yield l;
  }
}

/** A build record object, when it and its model and evaluation are in the store. */
export function readBuildRecord(store: ObjectStore, oid: string): FoundBuild | undefined {
  if (!store.has(oid)) return undefined;
  const build = withTiming(store, parseBuildRecord(store.readText(oid), oid));
  if (!store.has(build.model) || !store.has(build.evaluation)) return undefined;
  return { oid, build };
}

/**
 * A build record object's text, checked: it may come from a remote (`d2 pull --with-models`),
 * so every oid and the key are 64 lower-case hex before any of them names a file. Timing is
 * not in the object (see `storedRecord`); it reads as zero until `withTiming` adds it.
 */
export function parseBuildRecord(text: string, oid: string): BuildRecord {
  let raw: Partial<BuildRecord>;
  try {
    raw = JSON.parse(text) as Partial<BuildRecord>;
  } catch (e) {
    throw new ObjectCorrupt(`build record ${oid.slice(0, 12)} is not JSON: ${(e as Error).message}`, { data: { oid }, hint: "run 'd2 fsck'" });
  }
  const bad: string[] = [];
  if (raw === null || typeof raw !== 'object' || raw.kind !== 'd2-build' || raw.format !== 1) bad.push('not a d2-build record');
  for (const f of ['key', 'declared', 'dataset', 'packed', 'model', 'evaluation'] as const) {
    if (!isOid(raw?.[f])) bad.push(`'${f}' is not an oid`);
  }
  if (!Array.isArray(raw?.classes) || !raw.classes.every((c) => typeof c === 'string')) bad.push("'classes' is not a list of names");
  const bb = raw?.backbone;
  if (raw?.recipe !== undefined && (typeof raw.recipe !== 'string' || raw.recipe.length > 500 || /[\u0000-\u001f]/.test(raw.recipe))) bad.push("'recipe' is not one line of text");
  if (bb !== undefined && (bb === null || typeof bb !== 'object' || !isOid(bb.oid) || typeof bb.layer !== 'string' || typeof bb.source !== 'string' || !Number.isInteger(bb.dims))) bad.push("'backbone' is not a backbone (source, oid, layer, dims)");
  if (bad.length) {
    throw new ObjectCorrupt(`build record ${oid.slice(0, 12)} is damaged or crafted: ${bad.join('; ')}`, { data: { oid, problems: bad }, hint: "run 'd2 fsck'; a record pulled from a remote may have to be removed there" });
  }
  const r = raw as BuildRecord;
  return {
    ...r,
    seconds: r.seconds ?? 0,
    samplesPerSecond: r.samplesPerSecond ?? 0,
    history: (r.history ?? []).map((h) => ({ ...h, seconds: h.seconds ?? 0 })),
  };
}

/**
 * What is stored as the build record object: every input and result of the build, but no
 * timing (how long it took on this host), so the same build on two machines is the same
 * object and `d2.lock`, which names it, is a function of the build's inputs. Timing is kept in
 * the store's notes (`timing-<key>`).
 */
function storedRecord(b: BuildRecord): Omit<BuildRecord, 'seconds' | 'samplesPerSecond'> {
  const { seconds: _s, samplesPerSecond: _r, history, ...rest } = b;
  return { ...rest, history: history.map(({ seconds: _e, ...h }) => h as EpochRecord) };
}

interface Timing {
  seconds: number;
  samplesPerSecond: number;
  epochSeconds: number[];
}

/** A record with this store's timing of its build, when this store trained it. */
function withTiming(store: ObjectStore, b: BuildRecord): BuildRecord {
  const bytes = store.state.readBytes('timing', b.key);
  if (!bytes) return b;
  try {
    const t = JSON.parse(bytes.toString('utf8')) as Timing;
    return { ...b, seconds: t.seconds, samplesPerSecond: t.samplesPerSecond, history: b.history.map((h, i) => ({ ...h, seconds: t.epochSeconds[i] ?? 0 })) };
  } catch {
    return b; // a damaged note is only missing timing
  }
}

/** Name a stored build record by its key, so an identical build reuses it (d2 pull does this for pulled builds). */
export function recordBuildPointer(store: ObjectStore, key: string, recordOid: string): void {
  store.state.writePointer('build', key, recordOid);
}

function buildKey(packedOid: string, record: PackedDataset, model: ModelSpec, engineId: string, backbone?: { oid: string; layer: string }): string {
  return sha256Hex(canonicalJson({
    kind: 'd2-build-key',
    trainer: TRAINER_VERSION,
    packed: packedOid,
    // The packed record covers the pixel steps; normalisation is applied when sets are loaded.
    steps: record.steps,
    // `maxEpochs` and `fold` only when set (canonical JSON drops undefined members), so the
    // key of a build of d2.yaml's own settings is what it always was.
    model: { preset: model.preset, seed: model.seed, timeBudgetSeconds: model.timeBudgetSeconds, maxEpochs: model.maxEpochs, fold: model.fold },
    // Only when d2.yaml declares augmentation, and only for images (the only data it acts on).
    augment: record.modality === 'image' ? augmentMember(model.augment) : undefined,
    // Texts and tables train two candidates and keep one (an image build's key has no such
    // member, so it is what it always was; a table build made before this trained one MLP).
    candidates: candidatesOf(record.modality).map((c) => c.name).filter((n) => n !== undefined).join('+') || undefined,
    // Only when the choice is cross-validated (small text and table data): every other key is
    // what it was before cross-validated selection.
    selection: cvMember(selectionOf(record, model)),
    engine: engineId,
    // only with a backbone (canonical JSON drops undefined), so other keys are unchanged
    backbone,
  }));
}

function augmentMember(a: ModelSpec['augment']): { translate: boolean; flip: Flip[] } | undefined {
  if (!a || (a.translate && a.flip.length === 0)) return undefined;
  return { translate: a.translate, flip: FLIPS.filter((f) => a.flip.includes(f)) };
}

/** Training options of d2.yaml's augmentation declaration. */
function augmentOptions(spec: ModelSpec): { augment?: { translate: boolean; flip: Flip[] } } {
  return spec.augment ? { augment: spec.augment } : {};
}

function cvMember(s: { method: SelectionMethod | 'none'; k?: number }): string | undefined {
  return s.method === 'cross-validation' ? `cross-validation-${s.k}` : undefined;
}

/**
 * How a build of `record` with `model` chooses between its candidates: none for images; by
 * the validation split for large data and for the fold builds of `d2 review` (whose models need
 * not be the best, and which would otherwise pay k times over); by k-fold cross-validation over
 * the train + validation items below CROSS_VALIDATE_BELOW of them (core/model-selection.ts).
 */
function selectionOf(record: PackedDataset, model: ModelSpec): { method: SelectionMethod | 'none'; k?: number } {
  if (candidatesOf(record.modality).length < 2) return { method: 'none' };
  if (model.fold) return { method: 'validation' };
  return selectionMethodOf(record.sets.train.count + record.sets.validation.count);
}

/**
 * The key of the build of prepared (packed) data on an engine: the one place it is computed.
 * `model` defaults to the state's d2.yaml settings. Undefined when the data was not packed.
 */
export function buildKeyOf(prepared: PreparedData, engineId: string, model: ModelSpec = modelSpecOf(prepared.state.manifest)): string | undefined {
  if (!prepared.packing) return undefined;
  return buildKey(prepared.packing.oid, prepared.packing.record, model, engineId, backboneKeyOf(prepared.backbone));
}

export function readBuild(store: ObjectStore, oid: string): BuildRecord {
  if (!store.has(oid)) throw new ObjectNotFound(`build record ${oid.slice(0, 12)} is not in the store`, { data: { oid } });
  return withTiming(store, parseBuildRecord(store.readText(oid), oid));
}

function summary(m: { count: number; accuracy: number; macroF1: number }): SetMetricsSummary {
  return { count: m.count, accuracy: m.accuracy, macroF1: m.macroF1 };
}

/** Interrupted, with what a rerun does, when the signal is aborted (between steps that run in this thread). */
function throwIfStopped(signal: AbortSignal | undefined, rerun: string): void {
  if (!signal?.aborted) return;
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
  throw new Interrupted('interrupted after training, before the build was recorded', { data: { reason }, hint: rerun });
}

/** Run a model over the evaluation sets and compute metrics (shared by build and diff). */
export async function evaluateModel(
  modelBytes: Uint8Array,
  modelOid: string,
  sets: Partial<Record<ItemSet, LoadedSet>>,
  classes: string[],
  datasetOid: string,
  engine: EngineRequest,
  onProgress?: CommonOptions['onProgress'],
  signal?: AbortSignal,
): Promise<{ evaluation: Evaluation; metrics: BuildMetrics }> {
  const { loadModel, predict } = await import('../engine/model.js');
  const model = await loadModel(modelBytes, { engine });
  const evaluation: Evaluation = { format: 1, model: modelOid, dataset: datasetOid, classes, sets: {} };
  const metrics: BuildMetrics = {};
  try {
    const names = Object.keys(sets) as ItemSet[];
    let done = 0;
    for (const name of names) {
      const s = sets[name]!;
      const rerun = 'the model is trained (its checkpoint is kept): the same command evaluates it again';
      throwIfStopped(signal, rerun);
      onProgress?.({ phase: 'evaluate', loaded: done, total: names.length, detail: { set: name } });
      if (s.y.length === 0) continue;
      const probs = await predict(model, s.x, signal ? { signal } : {}).catch((e: unknown) => {
        throwIfStopped(signal, rerun);
        throw e;
      });
      const e = evaluateSet({ paths: s.paths, oids: s.oids, labels: Array.from(s.y), probs }, classes);
      evaluation.sets[name] = e;
      if (name === 'validation') metrics.validation = summary(e.metrics);
      else if (name === 'test') metrics.test = summary(e.metrics);
      else if (name === 'modelTest') {
        const failed = failingModelTests(e, classes);
        metrics.modelTests = { count: e.metrics.count, passed: e.metrics.count - failed.length, failed };
      }
      done++;
    }
    onProgress?.({ phase: 'evaluate', loaded: names.length, total: names.length });
  } finally {
    model.dispose();
  }
  return { evaluation, metrics };
}

/**
 * Hash of a state's declared inputs: its dataset and the manifest's preprocess and model
 * sections. A d2.lock's build describes a state only when this matches (a commit whose data or
 * d2.yaml changed after its last build carries a stale d2.lock).
 */
export function declaredInputs(prepared: Pick<PreparedData, 'datasetOid' | 'state'>): string {
  const m = prepared.state.manifest;
  return sha256Hex(canonicalJson({ dataset: prepared.datasetOid, preprocess: m.preprocess, model: m.model }));
}

/** The build record a d2.lock text names, when its objects are in this store. */
export function buildOfLock(store: ObjectStore, lockText: string | undefined): FoundBuild | undefined {
  if (lockText === undefined) return undefined;
  const { lock } = parseLock(lockText);
  if (!lock) return undefined;
  const named = lock.model.record !== undefined ? readBuildRecord(store, lock.model.record) : undefined;
  if (named && named.build.key === lock.model.build) return named;
  return findBuild(store, lock.model.build);
}

async function trainAndStore(
  project: Project,
  prepared: PreparedData,
  key: string,
  engine: EngineRequest,
  spec: ModelSpec,
  options: TrainOptions,
): Promise<{ oid: string; build: BuildRecord; resumedAfterEpoch: number | null; workers: number; embeddings?: MadeBuild['embeddings'] }> {
  const { store } = project;
  const record = prepared.packing!.record;
  const classes = record.classes;
  // with a backbone the head trains on its embeddings (cached per item), not on pixels
  const embedded = prepared.backbone ? await embedSets(store, record, prepared.backbone, engine, options) : undefined;
  const setOf = (set: ItemSet): LoadedSet => embedded ? embedded.sets[set] : loadSet(store, record, set);
  const trainSet = setOf('train');
  const inputShape = trainSet.shape;
  if (trainSet.y.length === 0) {
    throw new InvalidArgument('the training split is empty: nothing to train on', {
      hint: "add labelled items, or change 'dataset.split' in d2.yaml so some go to train",
    });
  }
  const validation = setOf('validation');
  let resumeFrom: Uint8Array | undefined;
  let resumedAfterEpoch: number | null = null;
  const saved = options.force ? undefined : store.state.readBytes('checkpoint', key);
  if (saved) {
    try {
      resumeFrom = saved;
      const { parseCheckpoint } = await import('../engine/checkpoint.js');
      resumedAfterEpoch = parseCheckpoint(resumeFrom).epochsDone;
    } catch {
      resumeFrom = undefined; // a damaged checkpoint: start over
      resumedAfterEpoch = null;
    }
  }
  const { train, planFor } = await import('../engine/train.js');
  const timeBudgetSeconds = spec.timeBudgetSeconds ?? undefined;
  // Texts and tables: two candidates, each with its own checkpoint (either resumes after a stop).
  const heads = candidatesOf(record.modality);
  const runs: { name: Candidate | undefined; trained: Awaited<ReturnType<typeof train>> }[] = [];
  for (const { name, head } of heads) {
    const ckpt = name ? `${key}-${name}` : key;
    let resume = name ? undefined : resumeFrom;
    if (name && !options.force) resume = store.state.readBytes('checkpoint', ckpt) ?? undefined;
    const planned = planFor({ train: { x: trainSet.x, y: trainSet.y, shape: inputShape }, numClasses: classes.length, preset: spec.preset, ...(head ? { head } : {}), ...augmentOptions(spec) }).maxEpochs;
    const maxEpochs = Math.min(planned, spec.maxEpochs ?? planned);
    options.onProgress?.({ phase: 'train', loaded: name ? 0 : resumedAfterEpoch ?? 0, total: maxEpochs, ...(name ? { detail: { candidate: name } } : {}) });
    const trained = await train({
      train: { x: trainSet.x, y: trainSet.y, shape: inputShape },
      validation: { x: validation.x, y: validation.y, shape: inputShape },
      numClasses: classes.length,
      seed: spec.seed,
      preset: spec.preset,
      ...(head ? { head } : {}),
      ...augmentOptions(spec),
      engine,
      ...(timeBudgetSeconds !== undefined ? { timeBudgetSeconds: timeBudgetSeconds / heads.length } : {}),
      ...(spec.maxEpochs !== undefined ? { maxEpochs: spec.maxEpochs } : {}),
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      ...(resume ? { resumeFrom: resume } : {}),
      ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onCheckpoint: (bytes) => store.state.write('checkpoint', ckpt, bytes),
    });
    runs.push({ name, trained });
  }
  const how = selectionOf(record, spec);
  const cv = how.method === 'cross-validation' ? await crossValidateCandidates(heads, trainSet, validation, classes.length, spec, how.k!, engine, options) : undefined;
  const selection = selectModel(runs, cv);
  const trained = runs.find((r) => r.name === (selection?.chosen ?? undefined))!.trained;
  throwIfStopped(options.signal, 'the model is trained (its checkpoint is kept): the same command evaluates it again');
  const modelOid = store.putBytes(trained.model);
  const sets: Partial<Record<ItemSet, LoadedSet>> = { validation, test: setOf('test'), modelTest: setOf('modelTest') };
  const { evaluation, metrics } = await evaluateModel(trained.model, modelOid, sets, classes, prepared.datasetOid, trained.engine.name, options.onProgress, options.signal);
  const evaluationOid = store.putBytes(serializeEvaluation(evaluation));
  const pre = prepared.packing!;
  const build: BuildRecord = {
    format: 1,
    kind: 'd2-build',
    key,
    declared: declaredInputs(prepared),
    dataset: prepared.datasetOid,
    packed: pre.oid,
    classes,
    preprocess: {
      modality: record.modality, config: record.config, derived: pre.derived, steps: record.steps, shape: record.shape,
      ...(record.table ? { table: record.table } : {}),
      ...(record.text ? { text: record.text } : {}),
    },
    model: modelOid,
    ...(prepared.backbone && embedded ? { backbone: { source: prepared.backbone.source, oid: prepared.backbone.oid, layer: prepared.backbone.layer, dims: embedded.dims } } : {}),
    evaluation: evaluationOid,
    preset: spec.preset,
    seed: spec.seed,
    timeBudgetSeconds: timeBudgetSeconds ?? null,
    ...(spec.maxEpochs !== undefined ? { maxEpochs: spec.maxEpochs } : {}),
    ...(spec.fold ? { fold: spec.fold } : {}),
    architecture: trained.plan.architecture,
    recipe: describeRecipe(trained.plan),
    ...(selection ? { selection } : {}),
    engine: trained.engine.id,
    trainer: TRAINER_VERSION,
    epochs: trained.epochs,
    bestEpoch: trained.bestEpoch,
    stoppedBy: trained.stoppedBy,
    seconds: trained.history.reduce((a, h) => a + h.seconds, 0),
    samplesPerSecond: trained.samplesPerSecond,
    history: trained.history,
    metrics,
  };
  const timing: Timing = { seconds: build.seconds, samplesPerSecond: build.samplesPerSecond, epochSeconds: build.history.map((h) => h.seconds) };
  store.state.write('timing', key, JSON.stringify(timing));
  const oid = store.putBytes(JSON.stringify(storedRecord(build)));
  store.state.writePointer('build', key, oid);
  store.state.remove('checkpoint', key);
  for (const r of runs) if (r.name) store.state.remove('checkpoint', `${key}-${r.name}`);
  return { oid, build, resumedAfterEpoch, workers: trained.workers, ...(embedded ? { embeddings: { embedded: embedded.embedded, cached: embedded.cached, dims: embedded.dims } } : {}) };
}

/**
 * Of two candidates (text and table builds), the one with the lower validation loss at its
 * best epoch — or, with `cv`, the lower mean cross-validated loss; 'linear' on a tie or
 * without a score (core/model-selection.ts). Undefined for one run.
 */
function selectModel(
  runs: readonly { name: Candidate | undefined; trained: { history: EpochRecord[]; epochs: number; bestEpoch: number } }[],
  cv?: { k: number; losses: Record<Candidate, (number | null)[]> },
): ModelSelection | undefined {
  if (runs.length < 2) return undefined;
  const candidates = {} as ModelSelection['candidates'];
  for (const r of runs) {
    const name = r.name!;
    candidates[name] = { valLoss: bestLossOf(r.trained), epochs: r.trained.epochs, bestEpoch: r.trained.bestEpoch };
    if (cv) candidates[name] = { ...candidates[name], cvLoss: meanLoss(cv.losses[name]), foldLosses: cv.losses[name] };
  }
  const score = (c: Candidate) => (cv ? candidates[c].cvLoss ?? null : candidates[c].valLoss);
  const chosen = chooseCandidate({ linear: score('linear'), mlp: score('mlp') });
  return cv ? { chosen, method: 'cross-validation', k: cv.k, candidates } : { chosen, method: 'validation', candidates };
}

function bestLossOf(t: { history: EpochRecord[]; bestEpoch: number }): number | null {
  const best = t.history.find((h) => h.epoch === t.bestEpoch) ?? t.history[t.history.length - 1];
  return best?.valLoss ?? null;
}

/**
 * The cross-validated losses of each candidate: the train and validation items together, cut
 * into k folds by content hash and the build's seed (core/folds.ts, as `d2 review` cuts them);
 * for each fold, each candidate trains on the other folds — early-stopping on the held-out fold,
 * as the final model early-stops on the validation split — and scores its loss there (at its
 * best epoch, the same quantity the validation rule compares). A fold with nothing held out or
 * nothing to train on is skipped (null).
 *
 * In memory, not as fold builds: the packed sets are already loaded, these models are thrown
 * away once scored (only their losses are kept, in the build record), and the whole is part of
 * one build, keyed and cached by that build's key (project/cross-validation.ts, which stores
 * fold builds for `d2 review`, sits above this module). Deterministic: the folds depend on the
 * items' oids and the seed only, and each training is seeded.
 */
async function crossValidateCandidates(
  heads: readonly { name: Candidate | undefined; head: Head | undefined }[],
  trainSet: LoadedSet,
  validation: LoadedSet,
  numClasses: number,
  spec: ModelSpec,
  k: number,
  engine: EngineRequest,
  options: TrainOptions,
): Promise<{ k: number; losses: Record<Candidate, (number | null)[]> }> {
  const { train } = await import('../engine/train.js');
  const width = trainSet.shape.reduce((a, b) => a * b, 1);
  const oids = [...trainSet.oids, ...validation.oids];
  const x = new Float32Array(oids.length * width);
  x.set(trainSet.x, 0);
  x.set(validation.x, trainSet.x.length);
  const y = new Int32Array(oids.length);
  y.set(trainSet.y, 0);
  y.set(validation.y, trainSet.y.length);
  const folds = assignFolds(oids, k, spec.seed);
  const subset = (keep: (f: number) => boolean) => {
    const idx: number[] = [];
    folds.forEach((f, i) => { if (keep(f)) idx.push(i); });
    const sx = new Float32Array(idx.length * width);
    const sy = new Int32Array(idx.length);
    idx.forEach((i, j) => {
      sx.set(x.subarray(i * width, (i + 1) * width), j * width);
      sy[j] = y[i]!;
    });
    return { x: sx, y: sy, shape: trainSet.shape };
  };
  const losses = { linear: [], mlp: [] } as Record<Candidate, (number | null)[]>;
  const onProgress = options.onProgress;
  for (let f = 0; f < k; f++) {
    throwIfAborted(options.signal);
    const held = subset((g) => g === f);
    const rest = subset((g) => g !== f);
    for (const { name, head } of heads) {
      if (held.y.length === 0 || rest.y.length === 0) {
        losses[name!].push(null);
        continue;
      }
      const trained = await train({
        train: rest,
        validation: held,
        numClasses,
        seed: spec.seed,
        preset: spec.preset,
        ...(head ? { head } : {}),
        engine,
        ...(spec.maxEpochs !== undefined ? { maxEpochs: spec.maxEpochs } : {}),
        ...(options.workers !== undefined ? { workers: options.workers } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        // Each event names its fold and candidate; the opening event of training has no figures.
        ...(onProgress ? { onProgress: (e) => onProgress(e.phase === 'train' && !e.detail ? e : { ...e, detail: { ...e.detail, candidate: name, fold: f + 1, folds: k } }) } : {}),
      });
      losses[name!].push(bestLossOf(trained));
    }
  }
  return { k, losses };
}

/** Find or train the model of prepared data. Expects the store lock held. */
export async function ensureBuild(project: Project, prepared: PreparedData, options: TrainOptions): Promise<MadeBuild> {
  const { store } = project;
  if (prepared.blocked) {
    const blocking = prepared.resolved.problems.filter((p) => p.severity === 'error');
    throw new DatasetBlocked(`the dataset has ${blocking.length} blocking problem${blocking.length === 1 ? '' : 's'}: ${blocking.map((p) => p.message).join('; ')}`, {
      data: { problems: blocking },
      hint: "run 'd2 data' to see every problem; fix d2.yaml or the labels, then build again",
    });
  }
  if (!prepared.packing) {
    const unlabelled = prepared.resolved.left.unlabelled;
    if (unlabelled > 0 && prepared.resolved.items.length === 0) {
      throw new InvalidArgument(`the dataset has no items: ${unlabelled} items, none labelled`, {
        data: { unlabelled },
        hint: "did you mean labels from folder names? 'd2 add <folder> --labels dirname' (or write d2.sources/<source>.labels.csv)",
      });
    }
    throw new InvalidArgument('the dataset has no items: nothing to build', { hint: "add data with 'd2 add' and declare it in d2.yaml" });
  }
  const { selectEngine } = await import('../engine/engines.js');
  const engine = await selectEngine(options.engine ?? 'auto');
  const spec = options.model ?? modelSpecOf(prepared.state.manifest);
  const key = buildKeyOf(prepared, engine.info.id, spec)!;
  const found = options.force ? undefined : await findBuildByKey(project, key);
  if (found) {
    // the key holds the backbone's content, not where it was read from: report (and lock) the
    // source this state declares, so d2.lock pins it under the name d2.yaml gives it
    const b = found.build.backbone && prepared.backbone ? { ...found.build, backbone: { ...found.build.backbone, source: prepared.backbone.source } } : found.build;
    return { commit: prepared.state.commit, reused: true, resumedAfterEpoch: null, oid: found.oid, build: b, workers: 0 };
  }
  const made = await trainAndStore(project, prepared, key, engine.info.name, spec, options);
  return { commit: prepared.state.commit, reused: false, ...made };
}

/**
 * The build of a state, when one is in this store: the build its d2.lock names (what was
 * committed), else the build keyed by the state's inputs on `engine` (built with `d2 build
 * --rev`, or not yet committed). `prepared` must come from `prepareData` with preprocessing
 * for the key fallback to apply; without it only the d2.lock is consulted.
 */
export async function findBuildOf(project: Project, prepared: PreparedData, engine: EngineRequest = 'auto'): Promise<FoundBuild | undefined> {
  const fromLock = buildOfLock(project.store, await prepared.state.readText(LOCK_FILE));
  const current = fromLock && fromLock.build.declared === declaredInputs(prepared) ? fromLock : undefined;
  if (current) return current;
  if (!prepared.packing) return undefined;
  const { selectEngine } = await import('../engine/engines.js');
  const key = buildKeyOf(prepared, (await selectEngine(engine)).info.id)!;
  return findBuildByKey(project, key);
}

/** A state's prepared data and its build, when one is in this store (see `findStateBuild`). */
export interface StateBuild {
  rev: string | undefined;
  prepared: PreparedData;
  build: FoundBuild | undefined;
}

/**
 * The build of a revision (or of the working tree when `rev` is undefined): resolve the state
 * without preprocessing first — a d2.lock whose inputs match names the build at no cost —
 * and only when that fails, pack the data to find the build by its key (built with `d2 build
 * --rev` or `d2 diff --build`, or never committed). With `build: true`, a state with no build
 * is trained (d2.lock is not written). Expects the store lock held.
 */
export async function findStateBuild(
  project: Project,
  rev: string | undefined,
  options: CommonOptions & { engine?: EngineRequest; build?: boolean; train?: TrainOptions },
): Promise<StateBuild> {
  const at = { ...(rev !== undefined ? { rev } : {}), ...(options.signal ? { signal: options.signal } : {}) };
  let prepared = await prepareData(project, { ...at, preprocess: false });
  let build = await findBuildOf(project, prepared, options.engine);
  if (!build && prepared.resolved.items.length && !prepared.blocked) {
    prepared = await prepareData(project, { ...at, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
    build = await findBuildOf(project, prepared, options.engine);
    if (!build && options.build) {
      const made = await ensureBuild(project, prepared, { ...options.train, ...(options.engine ? { engine: options.engine } : {}), ...at });
      build = { oid: made.oid, build: made.build };
    }
  }
  return { rev, prepared, build };
}

/** The build of a revision, or ModelNotBuilt saying how to build it. Expects the store lock held. */
export async function requireStateBuild(project: Project, rev: string, options: CommonOptions & { engine?: EngineRequest }): Promise<FoundBuild & { prepared: PreparedData }> {
  const found = await findStateBuild(project, rev, options);
  if (!found.build) throw new ModelNotBuilt(`revision '${rev}' has no model in this store`, { data: { rev }, hint: `run 'd2 build --rev ${rev}'` });
  return { ...found.build, prepared: found.prepared };
}

/** The build a command uses, with where it comes from. */
export interface ResolvedBuild extends FoundBuild {
  maxPixels: number;
  /** The commit of `rev`; without `rev`, HEAD when HEAD's d2.lock names this build, else null. */
  commit: string | null;
}

async function lockedAtHead(project: Project, buildKey: string): Promise<string | null> {
  try {
    const reader = await RevisionReader.open(project);
    const head = await reader.head();
    if (!head) return null;
    return (await reader.lockAt(head))?.model.build === buildKey ? head : null;
  } catch {
    return null; // no git history to name: the build is still the build
  }
}

/**
 * The build a command should use: the working tree's last build (the one its d2.lock names),
 * or the build of a revision's dataset and settings (found by its key, as `d2 build` would).
 * Never trains. For `rev`, the caller holds the store lock (`resolveModelBuild` takes it).
 */
export async function findModelBuild(project: Project, options: CommonOptions & { rev?: string; engine?: EngineRequest }): Promise<ResolvedBuild> {
  if (options.rev === undefined) {
    const text = readWorkingText(project, LOCK_FILE);
    if (text === undefined) {
      throw new ModelNotBuilt('no model is built here: there is no d2.lock', { hint: "run 'd2 build' first (or give --rev REV)", data: { option: 'rev' } });
    }
    const found = buildOfLock(project.store, text);
    if (!found) {
      const named = parseLock(text).lock?.model.build;
      throw new ModelNotBuilt(`d2.lock names build ${named ? `'${named.slice(0, 12)}'` : '(none)'}, which is not in this store`, {
        data: { build: named ?? null },
        hint: "run 'd2 pull --with-models' to fetch it from the remote, or 'd2 build' to build it here",
      });
    }
    return { oid: found.oid, build: found.build, maxPixels: project.manifest.preprocess.maxPixels, commit: await lockedAtHead(project, found.build.key) };
  }
  const found = await requireStateBuild(project, options.rev, options);
  return { oid: found.oid, build: found.build, maxPixels: found.prepared.state.manifest.preprocess.maxPixels, commit: found.prepared.state.commit };
}

/** `findModelBuild` for a caller that does not hold the store lock: takes it when `rev` is given. */
export async function resolveModelBuild(project: Project, options: CommonOptions & { rev?: string; engine?: EngineRequest; lockTimeoutMs?: number }): Promise<ResolvedBuild> {
  if (options.rev === undefined) return findModelBuild(project, options);
  return withStoreLock(project, 'd2 predict', options, () => findModelBuild(project, options));
}
