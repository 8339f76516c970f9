/**
 * The fast path of a no-op `d2 status`: is a source folder exactly as the stat cache last saw
 * it, without listing a single folder? git's untracked cache, for d2.
 *
 * Invariant (what makes it sound): the cache's folders were stat'ed before they were read, by
 * a walk that saw only regular files, plain folders and hidden entries, and the cache's entries
 * are exactly that walk's files. Adding, removing or renaming an entry changes its folder's
 * mtime (POSIX), so when every recorded folder still has its stat (and was not racy when
 * recorded) the folder holds the same names; when every file then still has its recorded stat
 * (not racy either), it holds the same bytes. Anything else, or any doubt, answers false and the
 * caller walks the folder as usual.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beginStatAll, KIND_FILE, STRIDE, type StatHelper } from './parallel-stat.js';
import type { StatCache } from './stat-cache.js';

/** A fast-path check under way: the stat of the cached files has begun (on the helper thread). */
export interface UnchangedCheck {
  /** True when the folder is exactly as the cache last saw it (false: walk it). Asked twice, the same answer. */
  result(): Promise<boolean>;
  /** The answer is not wanted (no effect once asked for). */
  cancel(): Promise<void>;
}

/**
 * Begin the check early, so that the stat of every cached file runs on the helper thread while
 * the caller does other work (status reads git meanwhile). Undefined when the cache cannot
 * answer (no folders recorded: the last walk was not of a plain tree). A `helper` given is
 * used, or released when the cache cannot answer.
 */
export function beginUnchangedCheck(dir: string, cache: StatCache, helper?: StatHelper): UnchangedCheck | undefined {
  const folders = cache.folders;
  if (!folders) {
    void helper?.release();
    return undefined;
  }
  const run = beginStatAll(statPrefix(dir), cache.pathList, helper);
  let answer: Promise<boolean> | undefined;
  const answerNow = async (): Promise<boolean> => {
    for (let i = 0; i < folders.paths.length; i++) {
      const rel = folders.paths[i]!;
      let st: fs.Stats | undefined;
      try {
        st = rel === '' ? fs.statSync(dir) : fs.lstatSync(path.join(dir, rel));
      } catch {
        st = undefined;
      }
      if (!st?.isDirectory() || !cache.matchesFolder(i, st)) {
        await run.cancel();
        return false;
      }
    }
    return cache.matchesStats(await run.finish(), STRIDE, KIND_FILE);
  };
  return {
    result: () => (answer ??= answerNow()),
    cancel: async () => {
      if (!answer) await run.cancel();
    },
  };
}

/**
 * What to put before each cached path (they use '/', which every platform's lstat accepts):
 * relative to the working directory when the folder is inside it, since the kernel then walks
 * fewer path components per file (d2 never changes its working directory; should a script do
 * so meanwhile, the files are not found and the check answers false).
 */
function statPrefix(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  const base = rel === '' ? '' : rel.startsWith('..') || path.isAbsolute(rel) ? dir : rel;
  return base === '' || base.endsWith(path.sep) ? base : `${base}${path.sep}`;
}

export async function unchangedSinceCache(dir: string, cache: StatCache): Promise<boolean> {
  return (await beginUnchangedCheck(dir, cache)?.result()) ?? false;
}
