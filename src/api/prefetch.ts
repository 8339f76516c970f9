/**
 * A head start for `d2 status` (see workspace/prefetch.ts): find the project from `dir` and
 * begin the fast-path check of its large source folders, without loading the manifest's
 * parser or git. Never throws: status works the same without a head start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { STORE_DIR } from '../store/object-store.js';
import { prefetchFolderChecks } from '../workspace/prefetch.js';
import { findProjectRoot } from './project-root.js';

export function prefetchStatus(dir: string, minEntries?: number): void {
  try {
    const root = findProjectRoot(dir);
    if (root) prefetchFolderChecks(path.join(fs.realpathSync(root), STORE_DIR, 'state'), minEntries);
  } catch {
    // only a head start
  }
}
