/**
 * `d2 fsck`: check the object store. Every object is re-hashed and compared with its name;
 * every raw object the working tree and the repository's revisions reference (reachable.ts)
 * must exist with the size its listing records. With `repair`, damaged objects are moved to
 * `.d2/quarantine/`, then good copies of them and of missing ones are fetched from the remote
 * when one is configured (verified, as every download); without a remote, the next `d2 add`
 * stores them again from the working files.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommonOptions } from '../core/progress.js';
import { throwIfAborted } from '../errors/index.js';
import { openGitRepo, revisionCommits } from '../git/index.js';
import { openProject, withStoreLock } from '../project/project.js';
import { withCaller } from './verb.js';
import { collectObjects } from '../project/reachable.js';
import { allRevisionFiles } from '../project/revision.js';
import { openConfiguredRemote, readRemotes } from '../project/remotes.js';
import { allowListeners, download } from '../project/transfer.js';

export interface FsckOptions extends CommonOptions {
  /** Move corrupt objects to .d2/quarantine/; then fetch good copies of them and of missing ones from the remote, when one is configured. */
  repair?: boolean;
  /** The remote `repair` fetches from (default: the default remote). */
  remote?: string;
  lockTimeoutMs?: number;
}

export interface FsckProblem {
  oid: string;
  problem: 'corrupt' | 'missing' | 'size';
  detail: string;
  /** Where the object is referenced, e.g. "source 'fashion' (HEAD): shirt/1.png". */
  referencedBy?: string;
}

export interface FsckResult {
  ok: boolean;
  objects: number;
  bytes: number;
  problems: FsckProblem[];
  /** Files in the store that are not objects (left for a human to look at). */
  strays: string[];
  quarantined: string[];
  /** Objects fetched from the remote by `repair` (good copies of corrupt or missing ones). */
  repaired: string[];
  /** Models and evaluations the d2.lock files name that are not here (not a fault: 'd2 pull --with-models' or 'd2 build' makes them). */
  absentModels: number;
  /** Revisions whose references were checked (the working tree included). */
  revisions: number;
}

export async function fsck(options: FsckOptions = {}): Promise<FsckResult> {
  return withCaller('d2.fsck', async () => {
    const project = openProject(options.dir);
    const store = project.store;
    return withStoreLock(project, 'd2 fsck', options, async () => {
      const problems: FsckProblem[] = [];
      const { oids, strays } = store.listObjects();
      let bytes = 0;
      const corrupt = new Set<string>();
      for (let i = 0; i < oids.length; i++) {
        const oid = oids[i]!;
        const problem = store.verify(oid);
        if (problem) {
          problems.push({ oid, problem: 'corrupt', detail: problem });
          corrupt.add(oid);
        } else {
          bytes += store.size(oid) ?? 0;
        }
        if (i % 500 === 499) {
          throwIfAborted(options.signal);
          options.onProgress?.({ phase: 'verify', loaded: i + 1, total: oids.length });
          await new Promise((r) => setImmediate(r));
        }
      }
      options.onProgress?.({ phase: 'verify', loaded: oids.length, total: oids.length });

      // References: every object the working tree and the revisions of the repository need
      // (raw data; models and evaluations their d2.lock files name are only counted when absent:
      // a clone need not have them).
      const revisions = await allRevisionFiles(project);
      const needed = await collectObjects(store, revisions, { kinds: new Set(['raw', 'model']) });
      let absentModels = 0;
      for (const [oid, ref] of needed.objects) {
        if (corrupt.has(oid)) {
          const p = problems.find((x) => x.oid === oid);
          if (p && p.referencedBy === undefined) p.referencedBy = ref.where;
          continue;
        }
        const size = store.size(oid);
        if (size === undefined) {
          if (ref.kind === 'raw') problems.push({ oid, problem: 'missing', detail: needed.unexpanded.has(oid) ? 'listing object missing' : 'object missing', referencedBy: ref.where });
          else absentModels++;
          continue;
        }
        if (ref.size !== undefined && size !== ref.size) problems.push({ oid, problem: 'size', detail: `${size} bytes, listing says ${ref.size}`, referencedBy: ref.where });
      }
      const repaired: string[] = [];
      const quarantined: string[] = [];
      const remoteName = options.repair ? options.remote ?? (Object.keys(readRemotes(project).remotes).length ? undefined : null) : null;
      if (options.repair) {
        for (const oid of corrupt) {
          store.quarantine(oid);
          quarantined.push(oid);
        }
        const wanted = [...new Set(problems.map((p) => p.oid))].filter((o) => !store.has(o));
        if (remoteName !== null && wanted.length) {
          const remote = openConfiguredRemote(project, remoteName);
          try {
            allowListeners(options.signal);
            await remote.check({ ...(options.signal ? { signal: options.signal } : {}), access: 'read' });
            await download(store, remote, wanted, {
              phase: 'repair',
              ...(options.signal ? { signal: options.signal } : {}),
              ...(options.onProgress ? { onProgress: options.onProgress } : {}),
            });
          } finally {
            await remote.close();
          }
          for (const o of wanted) if (store.has(o)) repaired.push(o);
        }
      }
      const fixed = new Set(repaired);
      const remaining = problems.filter((p) => !fixed.has(p.oid));
      return { ok: remaining.length === 0, objects: oids.length, bytes, problems, strays, quarantined, repaired, absentModels, revisions: revisions.length };
    });
  });
}
