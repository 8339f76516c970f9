/**
 * `d2 gc`: find — and with `prune`, delete — local objects that no revision of the repository
 * and no working state references. Kept: the raw data (listings, tables, items) of every commit
 * reachable from a branch, a tag or HEAD and of the working tree's snapshots; the model,
 * evaluation and build record each of their d2.lock files names, with that build's packed
 * preprocessing, dataset object and prediction chunks. Everything else is a cache of work no
 * revision records (a build never committed, packs of an old preprocessing) or data no
 * revision lists, and goes. A dry run is the default.
 *
 * Invariants: gc holds the store lock, so no add, build or pull is writing meanwhile, and it
 * never touches `.d2/tmp/`; when a revision's listing is not in the store, what it lists is
 * unknown and gc refuses to delete anything; state pointers (`.d2/state/`) to deleted objects
 * are removed with them, so a later build simply recomputes.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommonOptions } from '../core/progress.js';
import { InvalidArgument, LockInvalid, throwIfAborted } from '../errors/index.js';
import { openGitRepo, revisionCommits } from '../git/index.js';
import type { ObjectStore } from '../store/index.js';
import { openProject, withStoreLock } from '../project/project.js';
import { withCaller } from './verb.js';
import { predictionChunks } from '../project/predictions.js';
import { collectObjects } from '../project/reachable.js';
import { allRevisionFiles, revisionLabel } from '../project/revision.js';

export interface GcOptions extends CommonOptions {
  /** Delete the unreferenced objects (default: only report them). */
  prune?: boolean;
  lockTimeoutMs?: number;
}

export interface GcResult {
  dryRun: boolean;
  revisions: number;
  objects: number;
  referenced: number;
  unreferenced: number;
  /** Bytes the unreferenced objects take. */
  unreferencedBytes: number;
  deleted: number;
  deletedBytes: number;
  /** `.d2/state/` pointers removed or shortened because they named deleted objects. */
  pointersCleaned: number;
}

export async function gc(options: GcOptions = {}): Promise<GcResult> {
  return withCaller('d2.gc', async () => {
    const project = openProject(options.dir);
    const { store } = project;
    return withStoreLock(project, 'd2 gc', options, async () => {
      const revisions = await allRevisionFiles(project, options.onProgress);
      const badLock = revisions.find((r) => r.lockProblems);
      if (badLock && options.prune) {
        // what a damaged d2.lock names is unknown: deleting could lose the model it records
        throw new LockInvalid(`cannot tell what ${revisionLabel(badLock.commit, badLock.experiment)} needs: its d2.lock is damaged (${badLock.lockProblems![0]}), so nothing is deleted`, {
          data: { commit: badLock.commit, problems: badLock.lockProblems },
          hint: "restore d2.lock (git checkout -- d2.lock, or run 'd2 build'), then run 'd2 gc --prune' again",
        });
      }
      throwIfAborted(options.signal);
      const needed = await collectObjects(store, revisions, { kinds: new Set(['raw', 'model', 'cache']) });
      const unknown = [...needed.unexpanded].filter(([, ref]) => ref.kind === 'raw');
      if (unknown.length && options.prune) {
        const [oid, ref] = unknown[0]!;
        throw new InvalidArgument(`cannot tell what ${ref.where} needs: its listing '${oid.slice(0, 12)}' is not in the store, so nothing is deleted`, {
          data: { listings: unknown.map(([o, r]) => ({ oid: o, where: r.where })) },
          hint: "fetch it with 'd2 pull --all' (or check the store with 'd2 fsck'), then run 'd2 gc --prune' again",
        });
      }
      const keep = new Set(needed.objects.keys());
      for (const b of needed.builds.values()) for (const chunk of predictionChunks(store, b.key)) keep.add(chunk);

      const { oids } = store.listObjects();
      const garbage: { oid: string; size: number }[] = [];
      let unreferencedBytes = 0;
      for (const oid of oids) {
        if (keep.has(oid)) continue;
        const size = objectSize(store, oid);
        garbage.push({ oid, size });
        unreferencedBytes += size;
      }
      let deleted = 0;
      let deletedBytes = 0;
      let pointersCleaned = 0;
      if (options.prune) {
        const gone = new Set<string>();
        for (let i = 0; i < garbage.length; i++) {
          const { oid, size } = garbage[i]!;
          store.remove(oid);
          gone.add(oid);
          deleted++;
          deletedBytes += size;
          if (i % 1000 === 999) {
            options.onProgress?.({ phase: 'delete', loaded: i + 1, total: garbage.length });
            throwIfAborted(options.signal);
          }
        }
        pointersCleaned = store.state.forgetObjects(gone);
      }
      return {
        dryRun: !options.prune,
        revisions: revisions.length,
        objects: oids.length,
        referenced: oids.length - garbage.length,
        unreferenced: garbage.length,
        unreferencedBytes,
        deleted,
        deletedBytes,
        pointersCleaned,
      };
    });
  });
}

function objectSize(store: ObjectStore, oid: string): number {
  return store.size(oid) ?? 0;
}
