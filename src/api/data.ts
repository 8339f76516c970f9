/**
 * `d2 data`: resolve the manifest into the dataset — items, labels, splits — report its counts
 * and its problems, and prepare its preprocessed form (packs), reusing everything cached.
 * `d2 build` runs the same steps before training (project/prepared.ts).
 *
 * Invariants: problems are returned, never hidden (blocking ones make the CLI exit 3); the
 * dataset is never silently smaller (skipped items are listed).
 */
import type { CommonOptions } from '../core/progress.js';
import { describePrepared, prepareData, type DataResult } from '../project/prepared.js';
import { beginFilesNotAdded } from '../project/working-tree-scan.js';
import { COMMON_OPTIONS, runVerb } from './verb.js';

export type { DataPreprocessSummary, DataResult } from '../project/prepared.js';
export type { FilesNotAdded } from '../project/working-tree-scan.js';

export interface DataOptions extends CommonOptions {
  /** Resolve the dataset of this revision (default: the working tree). */
  rev?: string;
  /** Also preprocess and pack (default true). */
  preprocess?: boolean;
  /** Worker threads for preprocessing (default: one per core). */
  workers?: number;
  lockTimeoutMs?: number;
}

/**
 * Resolve the dataset and prepare its packs (the function behind `d2 data`).
 *
 * @example
 * const r = await data({ dir: 'my-dataset' });
 * console.log(r.counts.train.items, r.problems);
 */
export async function data(options: DataOptions = {}): Promise<DataResult> {
  return runVerb('d2.data', options, { lock: 'd2 data', options: { ...COMMON_OPTIONS, rev: true, preprocess: true, workers: true, lockTimeoutMs: true } }, async (project) => {
    const notAdded = options.rev === undefined ? beginFilesNotAdded(project, options) : Promise.resolve([]);
    const prepared = await prepareData(project, options);
    return describePrepared(prepared, await notAdded);
  });
}
