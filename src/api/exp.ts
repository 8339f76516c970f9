/**
 * `d2 exp run|list|show|apply|remove`: experiments — try a variant of d2.yaml without committing
 * it. `expRun` applies `--set` changes in memory, builds the working tree so changed (the build
 * cache makes a repeat free) and records the experiment under `refs/d2/exps/<name>`
 * (project/experiments.ts; docs/experiments.md). `d2 diff HEAD NAME` compares one like a
 * revision; `expApply` writes its change into d2.yaml for a commit.
 *
 * Invariants: only `expApply` writes to the working tree (d2.yaml, and d2.lock when the
 * experiment's build is the working tree's); run, list, show and remove touch git refs and the
 * store only.
 */
import path from 'node:path';
import type { EpochEvent } from '../engine/train.js';
import type { EngineRequest } from '../engine/engines.js';
import { ExperimentNotFound, InvalidArgument } from '../errors/index.js';
import { configureSharing, isRecordName, type RemoteSharing } from '../git/index.js';
import { MANIFEST_FILE, type AppliedSetting, type ManifestSetting } from '../manifest/index.js';
import { declaredInputs, describeArchitecture, ensureBuild, readBuildRecord } from '../project/builds.js';
import {
  applyExperiment, experimentEntry, experimentNames, listExperiments, parseSettings, planSettings, readExperiment, recordExperiment, removeExperiment,
  type ExpEntry,
} from '../project/experiments.js';
import { writeLockFor } from '../project/lock-writer.js';
import { prepareData } from '../project/prepared.js';
import { RevisionReader } from '../project/revision.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { runVerb, type VerbOptions } from './verb.js';

export type { ExpEntry, ExpRecord } from '../project/experiments.js';
export type { AppliedSetting, ManifestSetting } from '../manifest/index.js';

export interface ExpRunOptions extends VerbOptions {
  /** Changes to d2.yaml: 'model.preset=thorough' (VALUE is YAML; empty removes the key) or { key, value }. */
  set?: readonly (string | ManifestSetting)[];
  /** The experiment's name (default: 'exp-' and 7 hex digits of its change, data and build). */
  name?: string;
  /** A note on the experiment: what it tries. */
  message?: string;
  /** Replace an experiment of that name that records something else. */
  force?: boolean;
  /** Engine: 'auto' (default), 'gpu', 'node', 'wasm' or 'cpu'. */
  engine?: EngineRequest;
  /** Training worker threads ('auto' by default). */
  workers?: number | 'auto';
  onEpoch?: (e: EpochEvent) => void;
}

export interface ExpRunResult {
  experiment: ExpEntry;
  /** True when a model for these inputs existed and nothing was trained. */
  reused: boolean;
  /** True when an experiment of that name was replaced. */
  replaced: boolean;
  /** git remotes given the refspecs that carry experiments on `git push`/`git fetch` by this call. */
  sharing: RemoteSharing[];
}

/**
 * Build the working tree with a change to d2.yaml applied in memory, and record it as an
 * experiment (nothing is written to the working tree).
 *
 * @example
 * const r = await expRun({ dir: 'my-dataset', set: ['model.preset=thorough'], message: 'bigger model?' });
 * console.log(r.experiment.name, r.experiment.headline?.accuracy, r.experiment.delta?.accuracy);
 */
export async function expRun(options: ExpRunOptions = {}): Promise<ExpRunResult> {
  if (options.name !== undefined && !isRecordName(options.name)) {
    throw new InvalidArgument(`'${options.name}' is not a usable experiment name: use letters, digits, '.', '_' and '-' (at most 100)`, { data: { option: 'name' } });
  }
  return runVerb('d2.expRun', options, { lock: 'd2 exp run' }, async (project) => {
    const plan = planSettings(project, parseSettings(options.set ?? []));
    const reader = await RevisionReader.open(project); // not in a git repository: say so before training
    const at = { ...(options.signal ? { signal: options.signal } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) };
    const prepared = await prepareData(project, { ...at, manifest: { manifest: plan.manifest, manifestText: plan.manifestText } });
    const made = await ensureBuild(project, prepared, {
      ...at,
      ...(options.engine ? { engine: options.engine } : {}),
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
    });
    const { record, replaced } = await recordExperiment(project, reader, prepared, plan.applied, { oid: made.oid, build: made.build }, {
      ...(options.name !== undefined ? { name: options.name } : {}),
      ...(options.message !== undefined ? { note: options.message } : {}),
      ...(options.force ? { force: true } : {}),
    });
    const sharing = (await configureSharing(reader.repo)).filter((s) => s.added.length);
    return { experiment: await experimentEntry(reader, record), reused: made.reused, replaced, sharing };
  });
}

export const EXP_SORTS = ['accuracy', 'macroF1', 'created', 'name'] as const;
export type ExpSort = (typeof EXP_SORTS)[number];

export interface ExpListOptions extends VerbOptions {
  /** Order: 'accuracy' (default) or 'macroF1', best first; 'created', newest first; 'name'. */
  sort?: ExpSort;
}

export interface ExpListResult {
  experiments: ExpEntry[];
  sortedBy: ExpSort;
  /** Experiments that could not be read (damaged or crafted records). */
  problems: string[];
}

/**
 * Every experiment with its metrics, best first.
 *
 * @example
 * const { experiments } = await expList({ dir: 'my-dataset', sort: 'macroF1' });
 * for (const e of experiments) console.log(e.name, e.settings, e.headline?.macroF1);
 */
export async function expList(options: ExpListOptions = {}): Promise<ExpListResult> {
  const sort = options.sort ?? 'accuracy';
  if (!EXP_SORTS.includes(sort)) throw new InvalidArgument(`option 'sort' must be one of ${EXP_SORTS.join(', ')}, not '${String(sort)}'`, { data: { option: 'sort' } });
  return runVerb('d2.expList', options, {}, async (project) => {
    const reader = await RevisionReader.open(project);
    const { records, problems } = await listExperiments(reader);
    const experiments = await Promise.all(records.map((r) => experimentEntry(reader, r)));
    const metric = (e: ExpEntry): number => (sort === 'macroF1' ? e.headline?.macroF1 : e.headline?.accuracy) ?? -1;
    experiments.sort((a, b) => {
      if (sort === 'name') return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
      if (sort === 'created') return a.created < b.created ? 1 : a.created > b.created ? -1 : 0;
      return metric(b) - metric(a) || (a.name < b.name ? -1 : 1);
    });
    return { experiments, sortedBy: sort, problems };
  });
}

export interface ExpNameOptions extends VerbOptions {
  name: string;
}

export interface ExpShowResult {
  experiment: ExpEntry;
  /** The tree recording it (`git ls-tree` shows its files). */
  tree: string;
  /** Its d2.yaml. */
  manifest: string;
  /** Whether its build (model and evaluation) is in this store. */
  built: boolean;
  architecture?: string;
  epochs?: number;
}

/**
 * One experiment: its change, data, build, metrics and note.
 *
 * @example
 * const { experiment, built } = await expShow({ dir: 'my-dataset', name: 'exp-1a2b3c4' });
 */
export async function expShow(options: ExpNameOptions): Promise<ExpShowResult> {
  return runVerb('d2.expShow', options, {}, async (project) => {
    const reader = await RevisionReader.open(project);
    const { tree, record } = await readExperiment(reader, options.name);
    const found = readBuildRecord(project.store, record.build.record);
    return {
      experiment: await experimentEntry(reader, record),
      tree,
      manifest: (await reader.readText(tree, MANIFEST_FILE)) ?? '',
      built: found !== undefined,
      ...(found ? { architecture: describeArchitecture(found.build.architecture), epochs: found.build.epochs } : {}),
    };
  });
}

export interface ExpApplyResult {
  name: string;
  settings: AppliedSetting[];
  /** False when d2.yaml already had every value. */
  manifestWritten: boolean;
  /** True when d2.lock now records the experiment's build (the working tree's data is the experiment's). */
  lockWritten: boolean;
  /** Why d2.lock was not written, when it was not. */
  lockReason?: string;
  /** A commit message that says what was applied. */
  message: string;
}

/**
 * Write an experiment's change into d2.yaml (keeping its comments), and its build into d2.lock
 * when the working tree's data is the experiment's — then `d2 commit` records it.
 *
 * @example
 * const r = await expApply({ dir: 'my-dataset', name: 'exp-1a2b3c4' });
 * await commit({ dir: 'my-dataset', message: r.message });
 */
export async function expApply(options: ExpNameOptions): Promise<ExpApplyResult> {
  return runVerb('d2.expApply', options, { lock: 'd2 exp apply' }, async (project) => {
    const reader = await RevisionReader.open(project);
    const { record } = await readExperiment(reader, options.name);
    const plan = applyExperiment(project.manifestText, record);
    const manifestWritten = plan.manifestText !== project.manifestText;
    if (manifestWritten) writeFileAtomicSync(path.join(project.root, MANIFEST_FILE), plan.manifestText);
    const applied = { ...project, manifest: plan.manifest, manifestText: plan.manifestText };
    const prepared = await prepareData(applied, { preprocess: false, ...(options.signal ? { signal: options.signal } : {}) });
    const found = readBuildRecord(project.store, record.build.record);
    let lockReason: string | undefined;
    if (prepared.datasetOid !== record.dataset) lockReason = "the working tree's data is not the experiment's: run d2 build to record a model in d2.lock";
    else if (!found) lockReason = "the experiment's build is not in this store (d2 pull --exps fetches it, or d2 build trains it)";
    else if (found.build.declared !== declaredInputs(prepared)) lockReason = "d2.yaml differs from the experiment's in other keys: run d2 build";
    if (lockReason === undefined) writeLockFor(project, found!);
    const lockWritten = lockReason === undefined;
    const summary = record.settings.map((s) => `${s.key}=${typeof s.value === 'string' ? s.value : JSON.stringify(s.value)}`).join(', ');
    return {
      name: record.name,
      settings: plan.applied,
      manifestWritten,
      lockWritten,
      ...(lockReason !== undefined ? { lockReason } : {}),
      message: `Apply experiment ${record.name}${summary ? `: ${summary}` : ''}${record.note ? `\n\n${record.note}` : ''}`,
    };
  });
}

export interface ExpRemoveOptions extends VerbOptions {
  names?: readonly string[];
  /** Remove every experiment. */
  all?: boolean;
}

export interface ExpRemoveResult {
  removed: string[];
}

/**
 * Remove experiments (their refs; `d2 gc --prune` then frees the objects only they needed).
 *
 * @example
 * await expRemove({ dir: 'my-dataset', names: ['exp-1a2b3c4'] });
 */
export async function expRemove(options: ExpRemoveOptions): Promise<ExpRemoveResult> {
  if (!options.all && !options.names?.length) throw new InvalidArgument("name the experiments to remove, or give option 'all'", { data: { option: 'all' } });
  return runVerb('d2.expRemove', options, {}, async (project) => {
    const reader = await RevisionReader.open(project);
    const known = await experimentNames(reader);
    const names = options.all ? known : [...new Set(options.names)];
    const unknown = names.filter((n) => !known.includes(n));
    if (unknown.length) {
      // all named exist, or nothing is removed
      throw new ExperimentNotFound(`no experiment '${unknown[0]}'${unknown.length > 1 ? ` (and ${unknown.length - 1} more)` : ''}`, { data: { name: unknown[0], known: known.slice(0, 50) }, hint: "see 'd2 exp list'" });
    }
    const removed: string[] = [];
    for (const name of names) if (await removeExperiment(reader, name)) removed.push(name);
    return { removed };
  });
}
