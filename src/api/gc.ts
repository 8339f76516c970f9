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
import { InvalidArgument, throwIfAborted } from '../errors/index.js';
import { openGitRepo, revisionCommits } from '../git/index.js';
import { acquireLock, type ObjectStore } from '../store/index.js';
import { openProject, withCaller } from './project.js';
import { collectObjects, RevisionReader, workingFiles, type RevisionFiles } from './reachable.js';

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
    const lock = await acquireLock(store.dir, { command: 'd2 gc', timeoutMs: options.lockTimeoutMs, signal: options.signal });
    try {
      const revisions: RevisionFiles[] = [workingFiles(project)];
      try {
        const repo = await openGitRepo(project.root);
        const reader = new RevisionReader(project, repo);
        const commits = await revisionCommits(repo);
        for (let i = 0; i < commits.length; i++) {
          revisions.push(await reader.at(commits[i]!));
          if (i % 50 === 49) options.onProgress?.({ phase: 'revisions', loaded: i + 1, total: commits.length });
        }
      } catch (e) {
        if ((e as { code?: string }).code !== 'NotAGitRepository') throw e;
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
          fs.rmSync(store.objectPath(oid), { force: true });
          gone.add(oid);
          deleted++;
          deletedBytes += size;
          if (i % 1000 === 999) {
            options.onProgress?.({ phase: 'delete', loaded: i + 1, total: garbage.length });
            throwIfAborted(options.signal);
          }
        }
        pointersCleaned = cleanPointers(store, gone);
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
    } finally {
      lock.release();
    }
  });
}

function objectSize(store: ObjectStore, oid: string): number {
  try {
    return fs.statSync(store.objectPath(oid)).size;
  } catch {
    return 0;
  }
}

function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
  } catch {
    return [];
  }
}

/** The prediction chunks `d2 diff` cached for a build (`.d2/state/predictions-<key>`). */
function predictionChunks(store: ObjectStore, key: string): string[] {
  return readLines(path.join(store.stateDir(), `predictions-${key}`));
}

/**
 * Drop what `.d2/state/` says about deleted objects: single-oid pointers (build-*, packed-*)
 * naming one are removed, lists (packs-*, predictions-*) lose those lines. Each file is
 * rewritten atomically; stat caches and checkpoints name no object and are left alone.
 */
function cleanPointers(store: ObjectStore, gone: ReadonlySet<string>): number {
  let n = 0;
  let names: string[];
  try {
    names = fs.readdirSync(store.stateDir());
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!/^(build|packed|packs|predictions)-/.test(name)) continue;
    const file = path.join(store.stateDir(), name);
    const lines = readLines(file);
    const kept = lines.filter((l) => !gone.has(l));
    if (kept.length === lines.length) continue;
    n++;
    if (kept.length === 0 || /^(build|packed)-/.test(name)) {
      fs.rmSync(file, { force: true });
    } else {
      const tmp = `${file}.tmp-${process.pid}`;
      fs.writeFileSync(tmp, `${kept.join('\n')}\n`);
      fs.renameSync(tmp, file);
    }
  }
  return n;
}
