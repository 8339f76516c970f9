/**
 * `d2 build`: compile the dataset into a model. Resolve and pack the data (`prepareData`, the
 * same first half as `d2 data`), train with d2's fixed defaults (engine/), evaluate the model on
 * the validation and test splits and the model tests, store model and evaluation as objects,
 * and record them in d2.lock.
 *
 * Builds are content-addressed: the build key hashes every input (the packed data, which
 * covers dataset, labels, splits and preprocessing; the normalisation; the model section; the
 * engine's id; the trainer version). A build whose key was built before is reused at once;
 * an interrupted build resumes from its last epoch checkpoint (`.d2/state/checkpoint-<key>`).
 *
 * Invariants:
 * - d2.lock is written only for the working tree's build, atomically, after the model and its
 *   evaluation are durable objects; building another revision (`rev`) writes nothing to the
 *   working tree.
 * - Evaluation runs the stored model through engine/model.ts `predict` on the tensors of
 *   `loadSet`: the same path `d2 predict` and `d2 diff` use.
 * - A blocked dataset (leakage, unknown model-test items…) is refused before any training.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ItemSet } from '../core/dataset.js';
import { evaluateSet, failingModelTests, serializeEvaluation, type Evaluation } from '../core/evaluation.js';
import type { CommonOptions } from '../core/progress.js';
import { DatasetBlocked, InvalidArgument, ObjectNotFound } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import type { EpochRecord } from '../engine/checkpoint.js';
import type { Architecture } from '../engine/plan.js';
import type { EpochEvent, StopReason } from '../engine/train.js';
import { durationSeconds, LOCK_FILE, parseLock, serializeLock, type Lock } from '../manifest/index.js';
import { acquireLock, describeHolder, type ObjectStore } from '../store/index.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import { prepareData, type DataResult, type PreparedData } from './data.js';
import type { PackedDataset } from './packing.js';
import { openProject, withCaller, type Project } from './project.js';
import { loadSet, type LoadedSet } from './tensors.js';
import type { TableEncoding } from '../preprocess/index.js';

/** Bump when training or evaluation changes the model or predictions for the same inputs. */
export const TRAINER_VERSION = 'd2-trainer-2';

export interface BuildOptions extends CommonOptions {
  /** Build the model of this revision (default: the working tree). d2.lock is not written. */
  rev?: string;
  /** Engine: 'auto' (default: the fastest present), 'gpu', 'node', 'wasm' or 'cpu'. */
  engine?: EngineRequest;
  /** Train again even when a model for these inputs exists (the result is the same model). */
  force?: boolean;
  /** Training worker threads ('auto' by default; 0 trains in this thread). Results do not depend on it. */
  workers?: number | 'auto';
  /** Each epoch's figures, as it ends. */
  onEpoch?: (e: EpochEvent) => void;
  lockTimeoutMs?: number;
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
    modality: 'image' | 'table';
    config: string;
    derived: boolean;
    /** Image steps including `normalize` (empty for tables). */
    steps: PackedDataset['steps'];
    /** One item's shape as fed to the model. */
    shape: number[];
    /** Tables: how a row becomes features (fitted on train). */
    table?: TableEncoding;
  };
  /** Model object (engine/model.ts 'D2MODEL1'). */
  model: string;
  /** Evaluation object (core/evaluation.ts). */
  evaluation: string;
  preset: Lock['model']['preset'];
  seed: number;
  timeBudgetSeconds: number | null;
  architecture: Architecture;
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

export interface BuildResult {
  /** The revision built; null for the working tree. */
  commit: string | null;
  /** True when a model for these inputs existed and nothing was trained. */
  reused: boolean;
  /** The epoch a resumed build continued after, or null. */
  resumedAfterEpoch: number | null;
  /** Build record object oid. */
  oid: string;
  build: BuildRecord;
  /** Whether d2.lock was (re)written. */
  lockWritten: boolean;
  /** Training worker threads used (0: the calling thread). */
  workers: number;
  data: DataResult;
}

/** Short text form of an architecture, e.g. 'cnn conv16-pool-conv32-pool-dense64-dense10'. */
export function describeArchitecture(a: Architecture): string {
  const parts = a.layers.flatMap((l) => {
    if (l.kind === 'conv2d') return [`conv${l.filters}${l.padding === 'same' ? 's' : ''}`];
    if (l.kind === 'maxPool') return ['pool'];
    if (l.kind === 'dense') return [`dense${l.units}`];
    if (l.kind === 'dropout') return [`drop${l.rate}`];
    return [];
  });
  return `${a.family} ${parts.join('-')}`;
}

export function buildPointer(store: ObjectStore, key: string): string {
  return path.join(store.stateDir(), `build-${key}`);
}

function checkpointPath(store: ObjectStore, key: string): string {
  return path.join(store.stateDir(), `checkpoint-${key}`);
}

/** The build record of `key`, when it was built here and its objects are all present. */
export function findBuild(store: ObjectStore, key: string): { oid: string; build: BuildRecord } | undefined {
  let oid: string;
  try {
    oid = fs.readFileSync(buildPointer(store, key), 'utf8').trim();
  } catch {
    return undefined;
  }
  return readBuildRecord(store, oid);
}

/** A build record object, when it and its model and evaluation are in the store. */
export function readBuildRecord(store: ObjectStore, oid: string): { oid: string; build: BuildRecord } | undefined {
  if (!store.has(oid)) return undefined;
  const build = JSON.parse(store.readText(oid)) as BuildRecord;
  if (!store.has(build.model) || !store.has(build.evaluation)) return undefined;
  return { oid, build };
}

/** Name a stored build record by its key, so an identical build reuses it (d2 pull does this for pulled builds). */
export function recordBuildPointer(store: ObjectStore, key: string, recordOid: string): void {
  writeFileAtomicSync(buildPointer(store, key), `${recordOid}\n`);
}

export function buildKey(packedOid: string, record: PackedDataset, model: { preset: string; seed: number; timeBudgetSeconds: number | null }, engineId: string): string {
  return sha256Hex(canonicalJson({
    kind: 'd2-build-key',
    trainer: TRAINER_VERSION,
    packed: packedOid,
    // The packed record covers the pixel steps; normalisation is applied when sets are loaded.
    steps: record.steps,
    model,
    engine: engineId,
  }));
}

export function readBuild(store: ObjectStore, oid: string): BuildRecord {
  if (!store.has(oid)) throw new ObjectNotFound(`build record ${oid.slice(0, 12)} is not in the store`, { data: { oid } });
  return JSON.parse(store.readText(oid)) as BuildRecord;
}

function summary(m: { count: number; accuracy: number; macroF1: number }): SetMetricsSummary {
  return { count: m.count, accuracy: m.accuracy, macroF1: m.macroF1 };
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
      onProgress?.({ phase: 'evaluate', loaded: done, total: names.length, detail: { set: name } });
      if (s.y.length === 0) continue;
      const probs = await predict(model, s.x);
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

function lockOf(b: BuildRecord, recordOid: string, architecture: string): Lock {
  return {
    format: 1,
    dataset: b.dataset,
    classes: b.classes,
    preprocess: { modality: b.preprocess.modality, config: b.preprocess.config, derived: b.preprocess.derived, steps: b.preprocess.steps, shape: b.preprocess.shape },
    model: {
      oid: b.model, build: b.key, record: recordOid, preset: b.preset, seed: b.seed, architecture, engine: b.engine, trainer: b.trainer,
      epochs: b.epochs, stopped: b.stoppedBy,
    },
    evaluation: b.evaluation,
    metrics: b.metrics,
  };
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
export function buildOfLock(store: ObjectStore, lockText: string | undefined): { oid: string; build: BuildRecord } | undefined {
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
  options: BuildOptions,
): Promise<{ oid: string; build: BuildRecord; resumedAfterEpoch: number | null; workers: number }> {
  const { store } = project;
  const record = prepared.packed!;
  const manifest = prepared.state.manifest;
  const classes = record.classes;
  const trainSet = loadSet(store, record, 'train');
  if (trainSet.y.length === 0) {
    throw new InvalidArgument('the training split is empty: nothing to train on', {
      hint: "add labelled items, or change 'dataset.split' in d2.yaml so some go to train",
    });
  }
  const validation = loadSet(store, record, 'validation');
  const ckpt = checkpointPath(store, key);
  let resumeFrom: Uint8Array | undefined;
  let resumedAfterEpoch: number | null = null;
  if (!options.force && fs.existsSync(ckpt)) {
    try {
      resumeFrom = fs.readFileSync(ckpt);
      const { parseCheckpoint } = await import('../engine/checkpoint.js');
      resumedAfterEpoch = parseCheckpoint(resumeFrom).epochsDone;
    } catch {
      resumeFrom = undefined; // a damaged checkpoint: start over
      resumedAfterEpoch = null;
    }
  }
  const { train, planFor } = await import('../engine/train.js');
  const maxEpochs = planFor({ train: { x: trainSet.x, y: trainSet.y, shape: record.shape }, numClasses: classes.length, preset: manifest.model.preset }).maxEpochs;
  options.onProgress?.({ phase: 'train', loaded: resumedAfterEpoch ?? 0, total: maxEpochs });
  const timeBudgetSeconds = manifest.model.timeBudget === undefined ? undefined : durationSeconds(manifest.model.timeBudget);
  const trained = await train({
    train: { x: trainSet.x, y: trainSet.y, shape: record.shape },
    validation: { x: validation.x, y: validation.y, shape: record.shape },
    numClasses: classes.length,
    seed: manifest.model.seed,
    preset: manifest.model.preset,
    engine,
    ...(timeBudgetSeconds !== undefined ? { timeBudgetSeconds } : {}),
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(resumeFrom ? { resumeFrom } : {}),
    ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onCheckpoint: (bytes) => writeFileAtomicSync(ckpt, bytes),
  });
  const modelOid = store.putBytes(trained.model);
  const sets: Partial<Record<ItemSet, LoadedSet>> = { validation, test: loadSet(store, record, 'test'), modelTest: loadSet(store, record, 'modelTest') };
  const { evaluation, metrics } = await evaluateModel(trained.model, modelOid, sets, classes, prepared.datasetOid, trained.engine.name, options.onProgress);
  const evaluationOid = store.putBytes(serializeEvaluation(evaluation));
  const pre = prepared.result.preprocess!;
  const build: BuildRecord = {
    format: 1,
    kind: 'd2-build',
    key,
    declared: declaredInputs(prepared),
    dataset: prepared.datasetOid,
    packed: pre.packed,
    classes,
    preprocess: {
      modality: record.modality, config: record.config, derived: pre.derived, steps: record.steps, shape: record.shape,
      ...(record.table ? { table: record.table } : {}),
    },
    model: modelOid,
    evaluation: evaluationOid,
    preset: manifest.model.preset,
    seed: manifest.model.seed,
    timeBudgetSeconds: timeBudgetSeconds ?? null,
    architecture: trained.plan.architecture,
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
  const oid = store.putBytes(JSON.stringify(build));
  writeFileAtomicSync(buildPointer(store, key), `${oid}\n`);
  fs.rmSync(ckpt, { force: true });
  return { oid, build, resumedAfterEpoch, workers: trained.workers };
}

/** Prepare, then find or train the model of this state. Expects the store lock held. */
export async function buildPrepared(project: Project, prepared: PreparedData, options: BuildOptions): Promise<Omit<BuildResult, 'lockWritten' | 'data'>> {
  const { store } = project;
  if (prepared.result.blocked) {
    const blocking = prepared.result.problems.filter((p) => p.severity === 'error');
    throw new DatasetBlocked(`the dataset has ${blocking.length} blocking problem${blocking.length === 1 ? '' : 's'}: ${blocking.map((p) => p.message).join('; ')}`, {
      data: { problems: blocking },
      hint: "run 'd2 data' to see every problem; fix d2.yaml or the labels, then build again",
    });
  }
  if (!prepared.packed) throw new InvalidArgument('the dataset has no items: nothing to build', { hint: "add data with 'd2 add' and declare it in d2.yaml" });
  const manifest = prepared.state.manifest;
  const { selectEngine } = await import('../engine/engines.js');
  const engine = await selectEngine(options.engine ?? 'auto');
  const timeBudgetSeconds = manifest.model.timeBudget === undefined ? null : durationSeconds(manifest.model.timeBudget);
  const key = buildKey(prepared.result.preprocess!.packed, prepared.packed, { preset: manifest.model.preset, seed: manifest.model.seed, timeBudgetSeconds }, engine.info.id);
  const found = options.force ? undefined : findBuild(store, key);
  if (found) return { commit: prepared.state.commit, reused: true, resumedAfterEpoch: null, oid: found.oid, build: found.build, workers: 0 };
  const made = await trainAndStore(project, prepared, key, engine.info.name, options);
  return { commit: prepared.state.commit, reused: false, ...made };
}

/**
 * Build the model of the working tree (or of `rev`), reusing a model built before from the
 * same inputs.
 *
 * @example
 * const r = await build({ dir: 'my-dataset', onEpoch: (e) => console.log(e.epoch, e.valAccuracy) });
 * console.log(r.build.metrics.test?.accuracy, r.reused);
 */
export async function build(options: BuildOptions = {}): Promise<BuildResult> {
  return withCaller('d2.build', async () => {
    const project = openProject(options.dir);
    const lock = await acquireLock(project.store.dir, {
      command: 'd2 build',
      timeoutMs: options.lockTimeoutMs,
      signal: options.signal,
      onWait: (holder) => options.onProgress?.({ phase: 'lock', loaded: 0, detail: { waitingFor: describeHolder(holder) } }),
    });
    try {
      project.store.init();
      const prepared = await prepareData(project, {
        ...(options.rev !== undefined ? { rev: options.rev } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const made = await buildPrepared(project, prepared, options);
      let lockWritten = false;
      if (options.rev === undefined) {
        const text = serializeLock(lockOf(made.build, made.oid, describeArchitecture(made.build.architecture)));
        const file = path.join(project.root, LOCK_FILE);
        let current: string | undefined;
        try {
          current = fs.readFileSync(file, 'utf8');
        } catch {
          current = undefined;
        }
        // A lock that already names this model (same key, same weights) is kept: only its build
        // record may differ (a record holds training times), e.g. when a clone trains again.
        const theirs = current === undefined ? undefined : parseLock(current).lock;
        const same = theirs?.model.record !== undefined && theirs.model.build === made.build.key && theirs.model.oid === made.build.model &&
          current === serializeLock(lockOf(made.build, theirs.model.record, describeArchitecture(made.build.architecture)));
        if (current !== text && !same) {
          writeFileAtomicSync(file, text);
          lockWritten = true;
        }
      }
      return { ...made, lockWritten, data: prepared.result };
    } finally {
      lock.release();
    }
  });
}

/**
 * The build of a state, when one is in this store: the build its d2.lock names (what was
 * committed), else the build keyed by the state's inputs on `engine` (built with `d2 build
 * --rev`, or not yet committed). `prepared` must come from `prepareData` with preprocessing
 * for the key fallback to apply; without it only the d2.lock is consulted.
 */
export async function findBuildOf(project: Project, prepared: PreparedData, engine: EngineRequest = 'auto'): Promise<{ oid: string; build: BuildRecord } | undefined> {
  const fromLock = buildOfLock(project.store, await prepared.state.readText(LOCK_FILE));
  const current = fromLock && fromLock.build.declared === declaredInputs(prepared) ? fromLock : undefined;
  if (current) return current;
  if (!prepared.packed || !prepared.result.preprocess) return undefined;
  const manifest = prepared.state.manifest;
  const { selectEngine } = await import('../engine/engines.js');
  const info = (await selectEngine(engine)).info;
  const timeBudgetSeconds = manifest.model.timeBudget === undefined ? null : durationSeconds(manifest.model.timeBudget);
  const key = buildKey(prepared.result.preprocess.packed, prepared.packed, { preset: manifest.model.preset, seed: manifest.model.seed, timeBudgetSeconds }, info.id);
  return findBuild(project.store, key);
}
