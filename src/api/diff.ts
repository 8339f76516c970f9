/**
 * `d2 diff A B`: what changed between two states of a project — in the data (core/data-diff)
 * and in the model's behaviour (core/behaviour-diff) — plus `--fail-on` checks for CI
 * (core/fail-on).
 *
 * The comparison itself is the comparisons service (project/comparison.ts, shared with
 * `d2 report`): both models on the same items — the test split and model tests of the `on`
 * side (B by default), with that side's labels — through the predictions service. This verb
 * cuts the item lists at `limit` and checks the `failOn` rules.
 *
 * `a` may be a range 'A..B' (git's notation): then it names both sides.
 *
 * Invariants:
 * - A side without a built model is reported (with the command that builds it), never
 *   silently skipped; `build: true` builds it (d2.lock is not written).
 * - Paired items are the same items for both models; the truth is the `on` side's label.
 * - A model is never fed another build's preprocessing.
 * - Nothing is written to the working tree; the store gets only immutable objects and the
 *   cache pointer (rewritten atomically under the store lock).
 */
import { checkFailOn, parseFailOn, type FailCheck, type FailRule } from '../core/fail-on.js';
import { parseRange } from '../core/revision-range.js';
import { InvalidArgument } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import { compareStates, DIFF_SCHEMA, type DiffModel, type DiffResult, type DiffSide } from '../project/comparison.js';
import { beginFilesNotAdded } from '../project/working-tree-scan.js';
import { COMMON_OPTIONS, runVerb, type VerbOptions } from './verb.js';

export { checkFailOn, parseFailOn, DIFF_SCHEMA, type FailCheck, type FailRule, type DiffModel, type DiffResult, type DiffSide };

export interface DiffOptions extends VerbOptions {
  /** The old side: a revision (default 'HEAD'), or a range 'A..B' naming both sides. */
  a?: string;
  /** The new side: a revision, or undefined for the working tree. */
  b?: string;
  /** Evaluate on this revision's test split and model tests (default: B's). */
  on?: string;
  /** Build a side that has no model (d2.lock is not written). */
  build?: boolean;
  /** Engine for builds and inference (default: the fastest present). */
  engine?: EngineRequest;
  /** Longest lists of items in the result (default 20; 0: all). Counts are always complete. */
  limit?: number;
  /** Thresholds to check (`accuracy-drop=0.01,broken-model-tests` or parsed rules): the result's `checks`. */
  failOn?: string | readonly FailRule[];
}

const DIFF_OPTIONS: Record<keyof DiffOptions, true> = { ...COMMON_OPTIONS, lockTimeoutMs: true, a: true, b: true, on: true, build: true, engine: true, limit: true, failOn: true };

function cap<T>(list: T[], limit: number): T[] {
  return limit > 0 ? list.slice(0, limit) : list;
}

/** The result with every list of items cut at `limit` (counts stay complete). */
function capLists(r: DiffResult, limit: number): DiffResult {
  const { data } = r;
  data.added = cap(data.added, limit);
  data.removed = cap(data.removed, limit);
  data.modified = cap(data.modified, limit);
  data.renamed = cap(data.renamed, limit);
  data.modelTests.added = cap(data.modelTests.added, limit);
  data.modelTests.removed = cap(data.modelTests.removed, limit);
  if (r.behaviour) {
    r.behaviour.fixed = cap(r.behaviour.fixed, limit);
    r.behaviour.broken = cap(r.behaviour.broken, limit);
  }
  for (const s of [r.a, r.b]) if (s.model) s.model.failed = cap(s.model.failed, limit);
  return r;
}

/**
 * Compare two states: what changed in the data, and how both models behave on the same items.
 *
 * @example
 * const d = await diff({ dir: 'my-dataset', a: 'HEAD~1', b: 'HEAD', failOn: 'accuracy-drop=0.01' });
 * console.log(d.behaviour?.accuracy.delta, d.behaviour?.significance.pValue, d.checks);
 */
export async function diff(options: DiffOptions = {}): Promise<DiffResult> {
  const limit = options.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 0) throw new InvalidArgument(`option 'limit' must be a whole number >= 0, not ${limit}`, { data: { option: 'limit' } });
  const rules = typeof options.failOn === 'string' ? parseFailOn(options.failOn) : options.failOn;
  const range = options.a !== undefined ? parseRange(options.a) : undefined;
  if (range && options.b !== undefined) {
    throw new InvalidArgument(`give either a range ('${options.a}') or two revisions, not both`, { data: { option: 'b' } });
  }
  const aRev = range ? range.from : (options.a ?? 'HEAD');
  const bRev = range ? range.to : options.b;
  return runVerb('d2.diff', options, { lock: 'd2 diff', options: DIFF_OPTIONS }, async (project) => {
    const notAddedScan = aRev === undefined || bRev === undefined ? beginFilesNotAdded(project, options) : Promise.resolve([]);
    const { result } = await compareStates(project, {
      a: aRev, b: bRev, build: options.build === true, train: options,
      ...(options.on !== undefined ? { on: options.on } : {}),
      ...(options.engine ? { engine: options.engine } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const notAdded = await notAddedScan;
    for (const side of [result.a, result.b]) if (side.rev === null) side.filesNotAdded = notAdded;
    capLists(result, limit);
    if (rules) result.checks = checkFailOn(result, rules);
    return result;
  });
}
