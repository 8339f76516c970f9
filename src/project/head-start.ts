/**
 * A head start for `d2 status`, run by the launcher before the rest of d2 loads: find the
 * project from `dir`, begin the fast-path check of its large source folders
 * (workspace/prefetch.ts), and, when asked, answer from the clean-status stamp
 * (status-stamp.ts). Loads neither the manifest's parser nor git. Never throws: status works
 * the same without a head start.
 */
import fs from 'node:fs';
import { stateDirOf } from '../store/layout.js';
import { prefetchFolderChecks } from '../workspace/prefetch.js';
import { findProjectRoot } from './project-root.js';
import { statusFromStamp, type StatusResult } from './status-stamp.js';

/**
 * Begin the folder checks of the project found from `dir`; with `fromStamp`, also return the
 * last clean status if nothing it depended on changed (else undefined: run status in full).
 * `minEntries` is for tests (see workspace/prefetch.ts).
 */
export async function statusHeadStart(dir: string, fromStamp: boolean, minEntries?: number): Promise<StatusResult | undefined> {
  try {
    const found = findProjectRoot(dir);
    if (!found) return undefined;
    const root = fs.realpathSync(found);
    prefetchFolderChecks(stateDirOf(root), minEntries);
    return fromStamp ? await statusFromStamp(root) : undefined;
  } catch {
    return undefined; // only a head start
  }
}
