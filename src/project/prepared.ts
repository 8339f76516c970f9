/**
 * Prepared data: a state resolved into its dataset — items, labels, splits, problems — stored
 * as an object, and packed (preprocessed, cached by content) for training and evaluation. The
 * first half of `d2 data`, `d2 build`, `d2 diff`, `d2 predict --rev` and every later verb that
 * needs a state's data.
 *
 * Invariants: the dataset is stored as an object whose oid is the dataset's hash; problems are
 * returned, never hidden (blocking ones make `d2 data` exit 3 and builds refuse); the dataset
 * is never silently smaller (skipped items are listed in the packing).
 */
import os from 'node:os';
import { hasBlockingProblems, serializeDataset, type Counts, type DatasetProblem, type ItemSet, type ResolvedDataset } from '../core/dataset.js';
import type { CommonOptions } from '../core/progress.js';
import { InvalidArgument, ItemInvalid, throwIfAborted } from '../errors/index.js';
import { isTableSource, isTextSource, type ImageStep, type Manifest } from '../manifest/index.js';
import { resolveBackbone, type ResolvedBackbone } from './backbone.js';
import { buildPacks, ITEM_SETS, type PackedDataset, type PackStats, type SkippedItem } from './packing.js';
import { resolvePreprocess, type ResolvedPreprocess } from './preprocess-config.js';
import { buildTablePacks } from './table-packing.js';
import { buildTextPacks } from './text-packing.js';
import type { Project } from './project.js';
import type { FilesNotAdded } from './working-tree-scan.js';
import { loadState, loadWorkingState, resolveStateDataset, type ProjectState } from './revision.js';

export interface DataPreprocessSummary {
  modality: 'image' | 'table' | 'text';
  /** Preprocessing configuration key (cache key of the preprocessed items). */
  config: string;
  /** Image steps (empty for tables). */
  steps: ImageStep[];
  /** Tables: the name of each encoded feature. */
  features?: string[];
  /** Texts: the fitted encoding's kind and size. */
  text?: { features: 'vocabulary' | 'hashing'; width: number };
  derived: boolean;
  sample?: ResolvedPreprocess['sample'];
  /** Shape of one preprocessed item: [height, width, channels]. */
  shape: number[];
  /** With `model.backbone`: where it is read from, its record, the layer cut at (the steps are its input when derived). */
  backbone?: { source: string; oid: string; layer: string };
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
  /** Items without a label, per source (never trained or evaluated on; `d2 suggest` ranks them). */
  unlabelled: Record<string, number>;
  /**
   * The working tree's files that `d2 add` has not recorded yet, per source (they are not in
   * the dataset); always empty for a revision.
   */
  filesNotAdded: FilesNotAdded[];
  preprocess?: DataPreprocessSummary;
}

/** A state's data, resolved and (unless asked not to) packed: the domain value verbs share. */
export interface PreparedData {
  project: Project;
  state: ProjectState;
  resolved: ResolvedDataset;
  datasetOid: string;
  /** True when a problem blocks building. */
  blocked: boolean;
  /** Declared sources never added. */
  notAdded: string[];
  /** The packed form, when preprocessing ran and the dataset has items. */
  packing?: Packing;
  /** The backbone d2.yaml declares (`model.backbone`), resolved and stored, when packed. */
  backbone?: ResolvedBackbone;
}

/** What packing made: the packed record (what training reads) and how it was made. */
export interface Packing {
  /** The packed record's oid. */
  oid: string;
  record: PackedDataset;
  /** Image steps as declared or derived (empty for tables). */
  steps: ImageStep[];
  derived: boolean;
  sample?: ResolvedPreprocess['sample'];
  stats: PackStats;
  seconds: number;
}

/** Whether a state's data is to be packed too (the default), or only resolved. */
export interface PrepareOptions extends CommonOptions {
  rev?: string;
  /**
   * The working tree with this manifest instead of d2.yaml (an experiment's change, applied in
   * memory: nothing is written). Not with `rev`.
   */
  manifest?: { manifest: Manifest; manifestText: string };
  preprocess?: boolean;
  workers?: number;
  /** Accept backbone files that differ from those d2.lock pinned (`d2 build --update-backbone`). */
  updateBackbone?: boolean;
}

/** Resolve a state, store its dataset and pack it (unless `preprocess: false`). Expects the lock held. */
export async function prepareData(project: Project, options: PrepareOptions): Promise<PreparedData> {
  if (options.manifest && options.rev !== undefined) throw new InvalidArgument('a manifest override applies to the working tree only, not to a revision');
  const state = options.manifest ? await loadWorkingState(project, options.manifest) : await loadState(project, options.rev);
  const resolved = await resolveStateDataset(project, state);
  const datasetOid = project.store.putBytes(serializeDataset(resolved));
  const base: PreparedData = {
    project, state, resolved, datasetOid,
    blocked: hasBlockingProblems(resolved),
    notAdded: Object.keys(state.manifest.sources).filter((n) => !state.sources.has(n)),
  };
  if (options.preprocess === false || resolved.items.length === 0) return base;
  throwIfAborted(options.signal);
  const started = Date.now();
  const used = [...new Set(resolved.items.map((i) => i.source))];
  const textSources = used.filter((n) => isTextSource(state.manifest.sources[n]!));
  if (textSources.length && textSources.length < used.length) {
    throw new InvalidArgument(`the dataset mixes text sources (${textSources.join(', ')}) with other sources (${used.filter((n) => !textSources.includes(n)).join(', ')})`, {
      hint: "keep one kind per dataset: leave the others out with 'dataset.exclude' in d2.yaml",
    });
  }
  if (textSources.length) {
    const built = await withDatasetProblems(resolved, () => buildTextPacks(project.store, state, resolved, datasetOid, { onBadItem: state.manifest.dataset.onBadItem, ...(options.signal ? { signal: options.signal } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) }));
    return { ...base, packing: { oid: built.oid, record: built.record, steps: [], derived: false, stats: built.stats, seconds: (Date.now() - started) / 1000 } };
  }
  const tables = used.filter((n) => isTableSource(state.manifest.sources[n]!));
  if (tables.length && tables.length < used.length) {
    throw new InvalidArgument(`the dataset mixes table sources (${tables.join(', ')}) with image sources (${used.filter((n) => !tables.includes(n)).join(', ')})`, {
      hint: "keep one kind per dataset: leave the others out with 'dataset.exclude' in d2.yaml",
    });
  }
  if (tables.length && state.manifest.model.backbone) {
    throw new InvalidArgument("'model.backbone' reads images, and this dataset is a table", { hint: "remove 'model.backbone' from d2.yaml, or build on image sources" });
  }
  if (tables.length) {
    const built = await withDatasetProblems(resolved, () => buildTablePacks(project.store, state, resolved, datasetOid, { onBadItem: state.manifest.dataset.onBadItem, signal: options.signal }));
    return { ...base, packing: { oid: built.oid, record: built.record, steps: [], derived: false, stats: built.stats, seconds: (Date.now() - started) / 1000 } };
  }
  const backbone = await resolveBackbone(project, state, { ...(options.updateBackbone ? { updateBackbone: true } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  const pre = await resolvePreprocess(state.manifest, resolved, project.store, backbone?.steps);
  const { createImagePool } = await import('../preprocess/index.js');
  const pool = createImagePool({ workers: options.workers ?? os.availableParallelism() });
  try {
    const built = await withDatasetProblems(resolved, () => buildPacks(project.store, resolved, datasetOid, pre.config, pool, {
      onBadItem: state.manifest.dataset.onBadItem,
      onProgress: options.onProgress,
      signal: options.signal,
    }));
    return {
      ...base,
      packing: {
        oid: built.oid, record: built.record, steps: pre.config.steps, derived: pre.derived,
        ...(pre.sample ? { sample: pre.sample } : {}), stats: built.stats, seconds: (Date.now() - started) / 1000,
      },
      ...(backbone ? { backbone } : {}),
    };
  } finally {
    await pool.close();
  }
}

/**
 * Run packing so that a failure over bad items reports everything found in the same run: every
 * bad item (with its reason) and the dataset's own problems (conflicts, leakage, empty
 * classes), in `data.problems`, so a data manager fixes them all at once.
 */
async function withDatasetProblems<T>(resolved: ResolvedDataset, pack: () => Promise<T>): Promise<T> {
  try {
    return await pack();
  } catch (e) {
    if (!(e instanceof ItemInvalid) || !Array.isArray(e.data.items)) throw e;
    const items = e.data.items as { message: string }[];
    const datasetProblems = resolved.problems.map((p) => ({ kind: 'dataset', severity: p.severity, message: p.message }));
    const problems = [...items.map((i) => ({ kind: 'item', message: i.message })), ...datasetProblems];
    const also = datasetProblems.length ? `; and ${datasetProblems.length} dataset problem${datasetProblems.length === 1 ? '' : 's'} (listed below)` : '';
    throw new ItemInvalid(`${e.message}${also}`, {
      data: { ...e.data, problems, datasetProblems },
      ...(e.hint !== undefined ? { hint: e.hint } : {}),
      cause: e,
    });
  }
}

/**
 * Pack another dataset made of `like`'s items (cross-validation folds: the same items in other
 * sets) with exactly the preprocessing `like` was packed with — the same pixel configuration
 * (derived steps are not derived again from another sample) or the same table settings — so
 * every item's pixels come from the per-item cache. Expects the lock held and `like` packed.
 */
export async function packLike(project: Project, like: PreparedData, resolved: ResolvedDataset, options: CommonOptions = {}): Promise<PreparedData> {
  const base = like.packing;
  if (!base) throw new InvalidArgument('internal: packLike needs packed data');
  const { state } = like;
  const datasetOid = project.store.putBytes(serializeDataset(resolved));
  const started = Date.now();
  const out: PreparedData = { project, state, resolved, datasetOid, blocked: false, notAdded: like.notAdded, ...(like.backbone ? { backbone: like.backbone } : {}) };
  if (resolved.items.length === 0) return out;
  if (base.record.modality === 'text') {
    const built = await buildTextPacks(project.store, state, resolved, datasetOid, { onBadItem: state.manifest.dataset.onBadItem, ...(options.signal ? { signal: options.signal } : {}) });
    return { ...out, packing: { oid: built.oid, record: built.record, steps: [], derived: false, stats: built.stats, seconds: (Date.now() - started) / 1000 } };
  }
  if (base.record.modality === 'table') {
    const built = await buildTablePacks(project.store, state, resolved, datasetOid, { onBadItem: state.manifest.dataset.onBadItem, signal: options.signal });
    return { ...out, packing: { oid: built.oid, record: built.record, steps: [], derived: false, stats: built.stats, seconds: (Date.now() - started) / 1000 } };
  }
  const { createImagePool } = await import('../preprocess/index.js');
  const pool = createImagePool({ workers: os.availableParallelism() }); // workers start only if an item is not cached
  try {
    const built = await buildPacks(project.store, resolved, datasetOid, { steps: base.steps, maxPixels: state.manifest.preprocess.maxPixels }, pool, {
      onBadItem: state.manifest.dataset.onBadItem,
      onProgress: options.onProgress,
      signal: options.signal,
    });
    return {
      ...out,
      packing: { oid: built.oid, record: built.record, steps: base.steps, derived: base.derived, ...(base.sample ? { sample: base.sample } : {}), stats: built.stats, seconds: (Date.now() - started) / 1000 },
    };
  } finally {
    await pool.close();
  }
}

/**
 * The user-facing summary of prepared data (what `d2 data` returns, and `d2 build` in `data`),
 * with the working tree's files not added yet (`filesNotAdded`; see working-tree-scan.ts).
 */
export function describePrepared(prepared: PreparedData, filesNotAdded: FilesNotAdded[] = []): DataResult {
  const { state, resolved, datasetOid } = prepared;
  const result: DataResult = {
    commit: state.commit,
    dataset: datasetOid,
    classes: resolved.classes,
    counts: resolved.counts,
    left: resolved.left,
    problems: resolved.problems,
    blocked: prepared.blocked,
    notAdded: prepared.notAdded,
    unlabelled: {},
    filesNotAdded,
  };
  for (const u of resolved.unlabelled) result.unlabelled[u.source] = (result.unlabelled[u.source] ?? 0) + 1;
  const p = prepared.packing;
  if (!p) return result;
  const packs = {} as Record<ItemSet, string | null>;
  for (const s of ITEM_SETS) packs[s] = p.record.sets[s].pack;
  result.preprocess = {
    modality: p.record.modality,
    config: p.record.config,
    steps: p.steps,
    ...(p.record.table ? { features: p.record.table.featureNames } : {}),
    ...(p.record.text ? { text: { features: p.record.text.settings.features, width: p.record.text.width } } : {}),
    derived: p.derived,
    ...(p.sample ? { sample: p.sample } : {}),
    shape: p.record.shape,
    ...(prepared.backbone ? { backbone: { source: prepared.backbone.source, oid: prepared.backbone.oid, layer: prepared.backbone.layer } } : {}),
    packed: p.oid,
    packs,
    stats: p.stats,
    skipped: ITEM_SETS.flatMap((s) => p.record.sets[s].skipped),
    seconds: p.seconds,
  };
  return result;
}

