/**
 * `d2 push`: send a remote the objects the committed revisions need and it lacks — raw data
 * (listings, tables, items) and the models the d2.lock files name, and with `withCache` the
 * packed preprocessing too. Which revisions: every commit reachable from the branches and tags
 * (git's "everything"), or those named.
 *
 * Invariant: push only reads the local store (no lock: adds and builds go on meanwhile) and
 * every object is re-hashed before it leaves; the remote shows an object only when complete,
 * so an interrupted push is resumed by running it again (what arrived is not sent twice).
 */
import type { CommonOptions } from '../core/progress.js';
import { ObjectNotFound, ObjectCorrupt } from '../errors/index.js';
import { openGitRepo, resolveRev, revisionCommits } from '../git/index.js';
import { collectObjects, type ObjectKind, type ObjectRef } from '../project/reachable.js';
import { experimentFiles, RevisionReader, type RevisionFiles } from '../project/revision.js';
import { openProject } from '../project/project.js';
import { withCaller } from './verb.js';
import { openConfiguredRemote } from '../project/remotes.js';
import { allowListeners, upload, type TransferFailure } from '../project/transfer.js';

export interface PushOptions extends CommonOptions {
  /** Remote name (default: the default remote). */
  remote?: string;
  /** Revisions to push (default: every commit of every branch and tag). */
  revs?: string[];
  /** Also packed preprocessing (re-computable, but large datasets take minutes to prepare). */
  withCache?: boolean;
  /** Upload every needed object even if the remote has it (replaces copies found corrupt on the remote). */
  force?: boolean;
  /** Also the experiments' data and models (refs/d2/exps/*; `git push` carries the records themselves). */
  exps?: boolean;
}

export interface PushResult {
  remote: string;
  location: string;
  revisions: number;
  /** Objects the revisions need (of the kinds pushed). */
  needed: number;
  /** Of those, already on the remote. */
  present: number;
  uploaded: number;
  bytes: number;
  /** Models and caches the lock files name that were never built on this machine (nothing to send). */
  notBuiltHere: number;
  seconds: number;
}

export async function push(options: PushOptions = {}): Promise<PushResult> {
  return withCaller('d2.push', async () => {
    const started = performance.now();
    allowListeners(options.signal);
    const project = openProject(options.dir);
    const { store } = project;
    const remote = openConfiguredRemote(project, options.remote);
    try {
      const repo = await openGitRepo(project.root);
      const commits = options.revs?.length
        ? [...new Set(await Promise.all(options.revs.map((r) => resolveRev(repo, r))))]
        : await revisionCommits(repo);
      const reader = new RevisionReader(project, repo);
      const revisions: RevisionFiles[] = [];
      for (const c of commits) revisions.push(await reader.at(c));
      if (options.exps) revisions.push(...(await experimentFiles(reader)));
      const kinds = new Set<ObjectKind>(['raw', 'model', ...(options.withCache ? ['cache' as const] : [])]);
      await remote.check(options.signal ? { signal: options.signal } : {});
      options.onProgress?.({ phase: 'collect', loaded: 0 });
      const needed = await collectObjects(store, revisions, { kinds });

      const missingRaw: [string, ObjectRef][] = [];
      const local: string[] = [];
      let notBuiltHere = 0;
      for (const [oid, ref] of needed.objects) {
        if (store.has(oid)) local.push(oid);
        else if (ref.kind === 'raw') missingRaw.push([oid, ref]);
        else notBuiltHere++;
      }
      // A listing that is not here hides the items it lists: report it (it is in `objects` already).

      options.onProgress?.({ phase: 'compare', loaded: 0, total: local.length });
      const present = options.force ? new Set<string>() : await remote.has(local, options.signal ? { signal: options.signal } : {});
      const toSend = local.filter((o) => !present.has(o));
      const stats = await upload(store, remote, toSend, {
        phase: 'upload',
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        where: (oid) => needed.objects.get(oid)?.where,
      });
      const corrupt = stats.failures.filter((f: TransferFailure) => f.problem === 'corrupt');
      if (corrupt.length) {
        throw new ObjectCorrupt(`${corrupt.length} object(s) are corrupt in the local store and were not pushed (first: '${corrupt[0]!.oid}', ${corrupt[0]!.where ?? ''})`, {
          data: { corrupt, uploaded: stats.objects },
          hint: "run 'd2 fsck --repair', then push again (everything else was sent)",
        });
      }
      if (missingRaw.length) {
        const [oid, ref] = missingRaw[0]!;
        throw new ObjectNotFound(`${missingRaw.length} object(s) the revisions need are not in the local store (first: '${oid.slice(0, 12)}', ${ref.where})`, {
          data: { missing: missingRaw.slice(0, 100).map(([o, r]) => ({ oid: o, where: r.where })), missingCount: missingRaw.length, uploaded: stats.objects },
          hint: "everything else was pushed; 'd2 pull' them from another remote, or push only the revisions you have (d2 push REV)",
        });
      }
      return {
        remote: remote.name,
        location: remote.location,
        revisions: revisions.length,
        needed: local.length,
        present: present.size,
        uploaded: stats.objects,
        bytes: stats.bytes,
        notBuiltHere,
        seconds: (performance.now() - started) / 1000,
      };
    } finally {
      await remote.close();
    }
  });
}
