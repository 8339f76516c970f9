/**
 * Checks begun before they are asked for. A no-op `d2 status` over a large folder spends most
 * of its time in two things that need not wait for each other: loading d2's modules and
 * lstat'ing every cached file. The launcher calls `prefetchFolderChecks` first (through
 * cli/prefetch.ts), so the stat of every large source folder runs on a helper thread while
 * the modules load; status then takes the checks it can use and cancels the rest.
 *
 * Invariant: a prefetched check is only used for the cache file it was read from and the
 * folder it stat'ed (the cache's recorded root), and status still compares the listing the
 * manifest names with the one the cache was written for: a prefetch can only save time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PARALLEL_MIN, startStatHelper } from './parallel-stat.js';
import { StatCache } from './stat-cache.js';
import { beginUnchangedCheck, type UnchangedCheck } from './unchanged.js';

export interface PrefetchedCheck {
  cache: StatCache;
  check: UnchangedCheck;
}

/** By cache file. */
const prefetched = new Map<string, PrefetchedCheck>();

/**
 * Begin the fast-path check of every folder with a stat cache in `stateDir` holding at least
 * `minEntries` files (below PARALLEL_MIN a helper thread costs more than it saves).
 */
export function prefetchFolderChecks(stateDir: string, minEntries = PARALLEL_MIN): void {
  let names: string[];
  try {
    names = fs.readdirSync(stateDir).filter((n) => n.startsWith('stat-'));
  } catch {
    return;
  }
  for (const name of names) {
    const file = path.join(stateDir, name);
    // A cache this small holds too few entries to want a helper (each takes 64 bytes or more).
    if ((fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0) < minEntries * 64) continue;
    // The helper first: its start-up (tens of ms) overlaps reading the cache.
    const helper = startStatHelper();
    const cache = StatCache.read(file);
    const root = cache.root;
    if (cache.size < minEntries || cache.listing === undefined || root === undefined) {
      void helper?.release();
      continue;
    }
    const check = beginUnchangedCheck(root, cache, helper);
    if (check) prefetched.set(file, { cache, check });
  }
}

/** The check prefetched from `cacheFile`, if it stat'ed the files of `folder`. */
export function takePrefetched(cacheFile: string, folder: string): PrefetchedCheck | undefined {
  const p = prefetched.get(cacheFile);
  if (!p) return undefined;
  prefetched.delete(cacheFile);
  if (p.cache.root === folder) return p;
  void p.check.cancel();
  return undefined;
}

/**
 * The check prefetched from `cacheFile`, left in place for `takePrefetched` (its answer is
 * remembered, so status does not stat the files again), if it stat'ed the files of `folder`.
 */
export function peekPrefetched(cacheFile: string, folder: string): PrefetchedCheck | undefined {
  const p = prefetched.get(cacheFile);
  return p && p.cache.root === folder ? p : undefined;
}

/** Stop every prefetched check nobody took. */
export async function cancelPrefetched(): Promise<void> {
  const left = [...prefetched.values()];
  prefetched.clear();
  for (const p of left) await p.check.cancel();
}
