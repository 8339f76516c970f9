/**
 * `d2 build`: compile the dataset into a model. Prepare the data (project/prepared.ts, the
 * same first half as `d2 data`), find or train the build (project/builds.ts: fixed defaults,
 * evaluation on the validation and test splits and the model tests), and record it in
 * d2.lock (project/lock-writer.ts).
 *
 * Invariants: d2.lock is written only for the working tree's build; building another
 * revision (`rev`) writes nothing to the working tree.
 */
import type { EpochEvent } from '../engine/train.js';
import { throwIfAborted } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import { ensureBuild, type BuildRecord } from '../project/builds.js';
import { writeLockFor } from '../project/lock-writer.js';
import { describePrepared, prepareData, type DataResult } from '../project/prepared.js';
import { beginFilesNotAdded } from '../project/working-tree-scan.js';
import { COMMON_OPTIONS, runVerb, type VerbOptions } from './verb.js';

export interface BuildOptions extends VerbOptions {
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
  /** Accept backbone files that differ from those d2.lock pinned (docs/backbone.md). */
  updateBackbone?: boolean;
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
  /** With a backbone, when a head was trained: items embedded now and items whose embedding was cached. */
  embeddings?: { embedded: number; cached: number; dims: number };
  data: DataResult;
}

const BUILD_OPTIONS: Record<keyof BuildOptions, true> = { ...COMMON_OPTIONS, lockTimeoutMs: true, rev: true, engine: true, force: true, workers: true, onEpoch: true, updateBackbone: true };

/**
 * Build the model of the working tree (or of `rev`), reusing a model built before from the
 * same inputs.
 *
 * @example
 * const r = await build({ dir: 'my-dataset', onEpoch: (e) => console.log(e.epoch, e.valAccuracy) });
 * console.log(r.build.metrics.test?.accuracy, r.reused);
 */
export async function build(options: BuildOptions = {}): Promise<BuildResult> {
  return runVerb('d2.build', options, { lock: 'd2 build', options: BUILD_OPTIONS }, async (project) => {
    // Files never added are not in the dataset: counted meanwhile, so the result can say so.
    const notAddedScan = options.rev === undefined ? beginFilesNotAdded(project, options) : Promise.resolve([]);
    const prepared = await prepareData(project, {
      ...(options.rev !== undefined ? { rev: options.rev } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.updateBackbone ? { updateBackbone: true } : {}),
    });
    const notAdded = await notAddedScan;
    const made = await ensureBuild(project, prepared, options);
    // Ctrl-C after the build was stored: d2.lock is left as it was (a rerun reuses the build).
    throwIfAborted(options.signal);
    const lockWritten = options.rev === undefined && writeLockFor(project, made);
    return { ...made, lockWritten, data: describePrepared(prepared, notAdded) };
  });
}
