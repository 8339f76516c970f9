/**
 * `d2 data`: resolve the manifest into the dataset — items, labels, splits — report its counts
 * and its problems, and prepare its preprocessed form (packs), reusing everything cached.
 * `d2 build` runs the same steps before training.
 *
 * Invariants: the dataset is stored as an object whose oid is the dataset's hash; problems are
 * returned, never hidden (blocking ones make the CLI exit 3 and `d2 build` refuse); the
 * dataset is never silently smaller (skipped items are listed).
 */
import os from 'node:os';
import { hasBlockingProblems, serializeDataset, type Counts, type DatasetProblem, type ItemSet, type ResolvedDataset } from '../core/dataset.js';
import type { CommonOptions } from '../core/progress.js';
import { InvalidArgument, throwIfAborted } from '../errors/index.js';
import { isTableSource, type ImageStep } from '../manifest/index.js';
import { acquireLock, describeHolder } from '../store/index.js';
import { buildPacks, ITEM_SETS, type PackedDataset, type PackStats, type SkippedItem } from './packing.js';
import { resolvePreprocess, type ResolvedPreprocess } from './preprocess-config.js';
import { buildTablePacks } from './table-packing.js';
import { openProject, withCaller, type Project } from './project.js';
import { loadState, resolveStateDataset, type ProjectState } from './state.js';

export interface DataOptions extends CommonOptions {
  /** Resolve the dataset of this revision (default: the working tree). */
  rev?: string;
  /** Also preprocess and pack (default true). */
  preprocess?: boolean;
  /** Worker threads for preprocessing (default: one per core). */
  workers?: number;
  lockTimeoutMs?: number;
}

export interface DataPreprocessSummary {
  modality: 'image' | 'table';
  /** Preprocessing configuration key (cache key of the preprocessed items). */
  config: string;
  /** Image steps (empty for tables). */
  steps: ImageStep[];
  /** Tables: the name of each encoded feature. */
  features?: string[];
  derived: boolean;
  sample?: ResolvedPreprocess['sample'];
  /** Shape of one preprocessed item: [height, width, channels]. */
  shape: number[];
  /** The packed record's oid (what training reads). */
  packed: string;
  packs: Record<ItemSet, string | null>;
  stats: PackStats;
  skipped: SkippedItem[];
  seconds: number;
}

export interface DataResult {
  commit: string | null;
  /** The dataset's oid: the hash of its items, labels and splits. */
  dataset: string;
  classes: string[];
  counts: Record<ItemSet, Counts>;
  left: ResolvedDataset['left'];
  problems: DatasetProblem[];
  /** True when a problem blocks building (leakage not allowed, a model test not found…). */
  blocked: boolean;
  /** Declared sources that were never added (they are not in the dataset). */
  notAdded: string[];
  preprocess?: DataPreprocessSummary;
}

export interface PreparedData {
  project: Project;
  state: ProjectState;
  resolved: ResolvedDataset;
  datasetOid: string;
  result: DataResult;
  packed?: PackedDataset;
}

/** The shared first half of `data` and `build`: resolve, store the dataset, pack. Expects the lock held. */
export async function prepareData(project: Project, options: DataOptions): Promise<PreparedData> {
  const state = await loadState(project, options.rev);
  const resolved = await resolveStateDataset(project, state);
  const datasetOid = project.store.putBytes(serializeDataset(resolved));
  const result: DataResult = {
    commit: state.commit,
    dataset: datasetOid,
    classes: resolved.classes,
    counts: resolved.counts,
    left: resolved.left,
    problems: resolved.problems,
    blocked: hasBlockingProblems(resolved),
    notAdded: Object.keys(state.manifest.sources).filter((n) => !state.sources.has(n)),
  };
  if (options.preprocess === false || resolved.items.length === 0) return { project, state, resolved, datasetOid, result };
  throwIfAborted(options.signal);
  const started = Date.now();
  const used = [...new Set(resolved.items.map((i) => i.source))];
  const tables = used.filter((n) => isTableSource(state.manifest.sources[n]!));
  if (tables.length && tables.length < used.length) {
    throw new InvalidArgument(`the dataset mixes table sources (${tables.join(', ')}) with image sources (${used.filter((n) => !tables.includes(n)).join(', ')})`, {
      hint: "keep one kind per dataset: leave the others out with 'dataset.exclude' in d2.yaml",
    });
  }
  if (tables.length) {
    const built = await buildTablePacks(project.store, state, resolved, datasetOid, { onBadItem: state.manifest.dataset.onBadItem, signal: options.signal });
    result.preprocess = summary(built, [], false, undefined, started);
    return { project, state, resolved, datasetOid, result, packed: built.record };
  }
  const pre = await resolvePreprocess(state.manifest, resolved, project.store);
  const { createImagePool } = await import('../preprocess/index.js');
  const pool = createImagePool({ workers: options.workers ?? os.availableParallelism() });
  try {
    const built = await buildPacks(project.store, resolved, datasetOid, pre.config, pool, {
      onBadItem: state.manifest.dataset.onBadItem,
      onProgress: options.onProgress,
      signal: options.signal,
    });
    result.preprocess = summary(built, pre.config.steps, pre.derived, pre.sample, started);
    return { project, state, resolved, datasetOid, result, packed: built.record };
  } finally {
    await pool.close();
  }
}

function summary(built: { oid: string; record: PackedDataset; stats: PackStats }, steps: ImageStep[], derived: boolean, sample: ResolvedPreprocess['sample'], started: number): DataPreprocessSummary {
  const packs = {} as Record<ItemSet, string | null>;
  for (const s of ITEM_SETS) packs[s] = built.record.sets[s].pack;
  return {
    modality: built.record.modality,
    config: built.record.config,
    steps,
    ...(built.record.table ? { features: built.record.table.featureNames } : {}),
    derived,
    ...(sample ? { sample } : {}),
    shape: built.record.shape,
    packed: built.oid,
    packs,
    stats: built.stats,
    skipped: ITEM_SETS.flatMap((s) => built.record.sets[s].skipped),
    seconds: (Date.now() - started) / 1000,
  };
}

export async function data(options: DataOptions = {}): Promise<DataResult> {
  return withCaller('d2.data', async () => {
    const project = openProject(options.dir);
    const lock = await acquireLock(project.store.dir, {
      command: 'd2 data',
      timeoutMs: options.lockTimeoutMs,
      signal: options.signal,
      onWait: (holder) => options.onProgress?.({ phase: 'lock', loaded: 0, detail: { waitingFor: describeHolder(holder) } }),
    });
    try {
      project.store.init();
      return (await prepareData(project, options)).result;
    } finally {
      lock.release();
    }
  });
}
