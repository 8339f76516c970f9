/**
 * `d2 pull [REV]`: fetch from a remote what a revision needs and this store lacks — its raw
 * data by default; with `withModels` the model, evaluation and build record its d2.lock names
 * (so `d2 build` reuses them instead of training); with `withCache` its packed preprocessing —
 * then write the working copies of the sources' files that are missing (a fresh clone has none).
 *
 * Invariants: every object is verified against its oid before it gets a name in the store
 * (transfer.ts); pulled builds and packs are registered only when all their objects arrived;
 * a working file that exists is never overwritten. An interrupted pull keeps what it fetched.
 */
import type { CommonOptions } from '../core/progress.js';
import { ObjectCorrupt, ObjectNotFound } from '../errors/index.js';
import { headCommit, openGitRepo, resolveRev, revisionCommits } from '../git/index.js';
import { recordBuildPointer } from '../project/builds.js';
import { registerPackedRecord } from '../project/packing.js';
import { openProject, withStoreLock } from '../project/project.js';
import { writeWorkingFiles } from '../project/working-files.js';
import { withCaller } from './verb.js';
import { collectObjects, type ObjectKind } from '../project/reachable.js';
import { experimentFiles, RevisionReader, workingFiles, type RevisionFiles } from '../project/revision.js';
import { openConfiguredRemote } from '../project/remotes.js';
import { allowListeners, download, type TransferFailure } from '../project/transfer.js';

export interface PullOptions extends CommonOptions {
  remote?: string;
  /** The revision whose objects to fetch (default: HEAD and the working tree's sources). */
  rev?: string;
  /** Every revision of every branch and tag. */
  all?: boolean;
  withModels?: boolean;
  withCache?: boolean;
  /** Also the experiments' data and models (refs/d2/exps/*, as `git fetch` brought them); implies `withModels`. */
  exps?: boolean;
  /** Do not write missing working files of the sources. */
  noCheckout?: boolean;
  lockTimeoutMs?: number;
}

export interface PullResult {
  remote: string;
  location: string;
  revisions: number;
  /** Objects the revisions need (of the kinds pulled). */
  needed: number;
  /** Of those, already in the local store. */
  present: number;
  fetched: number;
  bytes: number;
  /** Builds whose model can now be reused by `d2 build`. */
  builds: number;
  /** Working files written (missing from the sources' folders). */
  restored: number;
  /** Working files that exist with other content, left as they are. */
  keptModified: number;
  seconds: number;
}

export async function pull(options: PullOptions = {}): Promise<PullResult> {
  return withCaller('d2.pull', async () => {
    const started = performance.now();
    allowListeners(options.signal);
    const project = openProject(options.dir);
    const { store } = project;
    const remote = openConfiguredRemote(project, options.remote);
    try {
      return await withStoreLock(project, 'd2 pull', options, async () => {
        store.cleanTmp();
        const repo = await openGitRepo(project.root);
        const reader = new RevisionReader(project, repo);
        const revisions: RevisionFiles[] = [];
        let checkout = !options.noCheckout;
        if (options.all) {
          for (const c of await revisionCommits(repo)) revisions.push(await reader.at(c));
          revisions.push(workingFiles(project));
        } else if (options.rev !== undefined) {
          const commit = await resolveRev(repo, options.rev);
          revisions.push(await reader.at(commit));
          // Working files are written only for the revision checked out.
          if (commit !== (await headCommit(repo))) checkout = false;
        } else {
          revisions.push(workingFiles(project));
          const head = await headCommit(repo);
          if (head) revisions.push(await reader.at(head));
        }
        if (options.exps) revisions.push(...(await experimentFiles(reader)));
        const kinds = new Set<ObjectKind>(['raw', ...(options.withModels || options.exps ? ['model' as const] : []), ...(options.withCache ? ['cache' as const] : [])]);
        const signal = options.signal ? { signal: options.signal } : {};
        await remote.check({ ...signal, access: 'read' });

        const failures: TransferFailure[] = [];
        let fetched = 0;
        let bytes = 0;
        let present = 0;
        const fetch = async (oids: string[], phase: string, where: (oid: string) => string | undefined): Promise<void> => {
          const s = await download(store, remote, oids, { phase, ...signal, ...(options.onProgress ? { onProgress: options.onProgress } : {}), where });
          fetched += s.objects;
          bytes += s.bytes;
          failures.push(...s.failures);
        };
        const needed = await collectObjects(store, revisions, {
          kinds,
          fetchIndex: async (wanted) => fetch([...wanted.keys()], 'fetch-index', (o) => wanted.get(o)?.where),
        });
        const leaves = [...needed.objects.keys()].filter((oid) => !store.has(oid));
        await fetch(leaves, 'fetch', (o) => needed.objects.get(o)?.where);
        present = Math.max(0, needed.objects.size - fetched - failures.length);

        let builds = 0;
        if (kinds.has('model')) {
          for (const [oid, b] of needed.builds) {
            if (store.has(oid) && store.has(b.model) && store.has(b.evaluation)) {
              recordBuildPointer(store, b.key, oid);
              builds++;
            }
          }
          // A lock without a record oid (written before remotes) still gets its model and evaluation.
        }
        if (kinds.has('cache')) for (const [oid, r] of needed.packed) registerPackedRecord(store, oid, r);

        let restored = 0;
        let keptModified = 0;
        if (checkout) {
          options.onProgress?.({ phase: 'checkout', loaded: 0 });
          const written = writeWorkingFiles(project, store, workingFiles(project).snapshots);
          restored = written.restored.length;
          keptModified = written.keptModified.length;
        }

        const corrupt = failures.filter((f) => f.problem === 'corrupt');
        const missing = failures.filter((f) => f.problem !== 'corrupt');
        const detail = { fetched, failures: failures.slice(0, 100), failureCount: failures.length };
        if (corrupt.length) {
          const f = corrupt[0]!;
          throw new ObjectCorrupt(`${corrupt.length} object(s) on remote '${remote.name}' are corrupt and were not stored (first: '${f.oid.slice(0, 12)}', ${f.where ?? ''}): ${f.message}`, {
            data: detail,
            hint: `the ${fetched} good object(s) were stored; from a machine whose 'd2 fsck' is clean, replace the remote's copies with 'd2 push --force', then pull again`,
          });
        }
        if (missing.length) {
          const f = missing[0]!;
          throw new ObjectNotFound(`${missing.length} object(s) could not be fetched from remote '${remote.name}' (first: '${f.oid.slice(0, 12)}', ${f.where ?? ''}): ${f.message}`, {
            data: detail,
            hint: `the ${fetched} other object(s) were stored; 'd2 push' from a machine that has them, then pull again`,
          });
        }
        return {
          remote: remote.name,
          location: remote.location,
          revisions: revisions.length,
          needed: needed.objects.size,
          present,
          fetched,
          bytes,
          builds,
          restored,
          keptModified,
          seconds: (performance.now() - started) / 1000,
        };
      });
    } finally {
      await remote.close();
    }
  });
}
