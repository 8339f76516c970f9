/**
 * `d2 review [REV]`: the labels most likely wrong. Prepare the state's data (the same first
 * half as `d2 build`), get out-of-sample probabilities of every labelled item by k-fold
 * cross-validation (project/cross-validation.ts: each fold a cached build), find label issues
 * by confident learning (project/label-issues.ts: stored by content), then say which suspects
 * are new or relabelled since another revision (default: the previous commit) and put those
 * first, and leave out the ones a reviewer kept (d2.review/kept.csv) while their evidence holds.
 *
 * Invariants: nothing in the working tree is written (the store only: fold builds, the
 * cross-validation record, the review); reviewing the same data again trains nothing.
 */
import type { LabelIssueFilter } from '../core/confident-learning.js';
import { LABEL_ISSUE_FILTERS } from '../core/confident-learning.js';
import type { EngineRequest } from '../engine/engines.js';
import type { EpochEvent } from '../engine/train.js';
import { InvalidArgument, RevNotFound } from '../errors/index.js';
import { suggest } from '../manifest/index.js';
import { crossValidate, crossValidatedItems, type FoldRecord } from '../project/cross-validation.js';
import { findLabelIssuesOf, isKept, noteReviewOfDataset, readKept, type ClassNoise, type Suspect } from '../project/label-issues.js';
import { prepareData } from '../project/prepared.js';
import type { Project } from '../project/project.js';
import { loadState, resolveStateDataset, RevisionReader, type ProjectState } from '../project/revision.js';
import { runVerb, type VerbOptions } from './verb.js';

export interface ReviewOptions extends VerbOptions {
  /** Review this revision (default: the working tree). */
  rev?: string;
  /**
   * Mark suspects new or relabelled since this revision. Default: the previous commit (HEAD for
   * the working tree, the first parent of `rev`); null: mark nothing.
   */
  since?: string | null;
  /** Suspects listed (default 20; 0: all). Counts are always complete. */
  limit?: number;
  /** Only suspects labelled, or suggested as, one of these classes. */
  classes?: string[];
  /** Also list suspects a reviewer kept (d2.review/kept.csv). */
  all?: boolean;
  /** Folds (default 5). */
  k?: number;
  /** Fold seed (default 0). */
  foldSeed?: number;
  /** Confident learning's filter (default 'prune_by_noise_rate'). */
  filter?: LabelIssueFilter;
  engine?: EngineRequest;
  /** Training worker threads of the fold models ('auto' by default). */
  workers?: number | 'auto';
  /** Each fold model's epochs, as they end. */
  onEpoch?: (e: EpochEvent & { fold: number }) => void;
}

/** A suspect as `review` lists it. */
export interface ReviewSuspect extends Suspect {
  /** 'new': not in `since` (or its content changed); 'relabelled': its label changed since; null: neither. */
  change: 'new' | 'relabelled' | null;
  /** The label it had in `since`, when relabelled. */
  previousLabel?: string;
  /** True when a reviewer kept it with this evidence (listed only with option 'all'). */
  kept: boolean;
}

export interface ReviewCrossValidation {
  /** The cross-validation record object, and its key. */
  oid: string;
  key: string;
  k: number;
  seed: number;
  preset: string;
  engine: string;
  folds: FoldRecord[];
  /** Fold models trained now (0: all were built before), and resumed from a checkpoint. */
  trained: number;
  resumed: number;
  /** Training seconds of the folds trained now. */
  seconds: number;
  /** The out-of-sample evaluation object (core/evaluation.ts format). */
  evaluation: string;
  /** Cross-validated figures over every reviewed item. */
  count: number;
  accuracy: number;
  macroF1: number;
}

export interface ReviewResult {
  /** The revision reviewed; null for the working tree. */
  commit: string | null;
  /** What `change` is measured against (null: nothing). */
  since: string | null;
  dataset: string;
  classes: string[];
  filter: LabelIssueFilter;
  crossValidation: ReviewCrossValidation;
  /** The stored review object (all suspects, thresholds, joint). */
  review: string;
  counts: {
    /** Items reviewed (every labelled item but the model tests, with an out-of-sample prediction). */
    items: number;
    /** Labelled items left without one: skipped by preprocessing, or in a fold with nothing to train on. */
    unscored: number;
    /** Suspects flagged by confident learning. */
    flagged: number;
    /** Of those, kept by a reviewer with the same evidence (hidden unless option 'all'). */
    kept: number;
    /** Suspects after `kept` and `classes`; of them, new and relabelled since `since`. */
    shown: number;
    new: number;
    relabelled: number;
    /** Suspects in `suspects` (at most `limit`). */
    listed: number;
  };
  /** Estimated label noise per class pair, from the calibrated confident joint, largest first. */
  noise: ClassNoise[];
  /** New and relabelled suspects first, then the rest; each group most likely wrong first. */
  suspects: ReviewSuspect[];
}

async function defaultSince(project: Project, rev: string | undefined): Promise<string | null> {
  try {
    const reader = await RevisionReader.open(project);
    if (rev === undefined) return (await reader.head()) ?? null;
    return await reader.resolve(`${rev}~1`);
  } catch (e) {
    if (e instanceof RevNotFound || (e as { code?: string }).code === 'NotAGitRepository') return null; // a first commit
    throw e;
  }
}

/**
 * The items whose labels are most likely wrong, by k-fold cross-validation and confident
 * learning, with what changed since the previous commit first.
 *
 * @example
 * const r = await review({ dir: 'my-dataset', limit: 10 });
 * console.log(r.crossValidation.accuracy);
 * for (const s of r.suspects) console.log(s.path, s.label, '→', s.suggested, s.confidence, s.change);
 */
export async function review(options: ReviewOptions = {}): Promise<ReviewResult> {
  return runVerb('d2.review', options, { lock: 'd2 review' }, async (project) => {
    const limit = options.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 0) throw new InvalidArgument(`option 'limit' must be a whole number >= 0, not ${String(limit)}`, { data: { option: 'limit' } });
    const filter = options.filter ?? 'prune_by_noise_rate';
    if (!LABEL_ISSUE_FILTERS.includes(filter)) {
      throw new InvalidArgument(`unknown filter '${String(filter)}' (expected one of: ${LABEL_ISSUE_FILTERS.join(', ')})`, { data: { option: 'filter' } });
    }
    const at = {
      ...(options.rev !== undefined ? { rev: options.rev } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const prepared = await prepareData(project, { ...at, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
    const classes = prepared.resolved.classes;
    for (const c of options.classes ?? []) {
      if (!classes.includes(c)) {
        const dym = suggest(c, classes);
        throw new InvalidArgument(`unknown class '${c}'${dym ? ` (did you mean '${dym}'?)` : ''}`, { data: { option: 'classes', value: c, classes } });
      }
    }
    const cv = await crossValidate(project, prepared, {
      ...(options.k !== undefined ? { k: options.k } : {}),
      ...(options.foldSeed !== undefined ? { seed: options.foldSeed } : {}),
      ...(options.engine ? { engine: options.engine } : {}),
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const found = findLabelIssuesOf(project.store, cv, filter);
    // The last review of this data: what `d2 report` shows for any revision with the same data.
    noteReviewOfDataset(project.store, found.oid, found.review);
    if (options.rev === undefined) project.store.state.writePointer('review', 'working', found.oid);

    // What changed since the previous commit (or `since`).
    const since = options.since === undefined ? await defaultSince(project, options.rev) : options.since === null ? null : await (await RevisionReader.open(project)).resolve(options.since);
    const before = new Map<string, { oid: string; label: string }>();
    if (since !== null) {
      const state = await loadState(project, since);
      for (const it of (await resolveStateDataset(project, state)).items) before.set(`${it.source}/${it.path}`, { oid: it.oid, label: it.label });
    }
    const kept = await readKept(prepared.state);
    const wanted = options.classes?.length ? new Set(options.classes) : undefined;

    let keptCount = 0;
    const shown: ReviewSuspect[] = [];
    for (const s of found.review.suspects) {
      const isKeptNow = isKept(s, kept);
      if (isKeptNow) keptCount++;
      if (isKeptNow && !options.all) continue;
      if (wanted && !wanted.has(s.label) && !wanted.has(s.suggested)) continue;
      const was = before.get(s.path);
      let change: ReviewSuspect['change'] = null;
      if (since !== null && (!was || was.oid !== s.oid)) change = 'new';
      else if (was && was.label !== s.label) change = 'relabelled';
      shown.push({ ...s, change, ...(change === 'relabelled' ? { previousLabel: was!.label } : {}), kept: isKeptNow });
    }
    // Stable: within each group, the review's ranking (most likely wrong first).
    const ordered = [...shown.filter((s) => s.change !== null), ...shown.filter((s) => s.change === null)];
    const suspects = limit > 0 ? ordered.slice(0, limit) : ordered;
    const r = cv.record;
    return {
      commit: prepared.state.commit,
      since,
      dataset: prepared.datasetOid,
      classes,
      filter,
      crossValidation: {
        oid: cv.oid, key: r.key, k: r.k, seed: r.seed, preset: r.preset, engine: r.engine, folds: r.folds,
        trained: cv.trained, resumed: cv.resumed, seconds: cv.seconds, evaluation: r.evaluation,
        count: r.metrics.count, accuracy: r.metrics.accuracy, macroF1: r.metrics.macroF1,
      },
      review: found.oid,
      counts: {
        items: found.review.items,
        unscored: crossValidatedItems(prepared.resolved).length - found.review.items,
        flagged: found.review.suspects.length,
        kept: keptCount,
        shown: shown.length,
        new: shown.filter((s) => s.change === 'new').length,
        relabelled: shown.filter((s) => s.change === 'relabelled').length,
        listed: suspects.length,
      },
      noise: found.review.noise,
      suspects,
    };
  });
}
