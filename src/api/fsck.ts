/**
 * `d2 fsck`: check the object store. Every object is re-hashed and compared with its name;
 * every object referenced by the working snapshots and by HEAD's must exist with the size its
 * listing records. With `repair`, damaged objects are moved to `.d2/quarantine/` so that the
 * next `d2 add` stores them again from the working files.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommonOptions } from '../core/progress.js';
import { throwIfAborted } from '../errors/index.js';
import { headCommit, openGitRepo, readFileAtCommit } from '../git/index.js';
import { snapshotPath } from '../manifest/index.js';
import { acquireLock } from '../store/index.js';
import { relativePosix } from '../util/paths.js';
import { openProject, parseSnapshotText, readListing, readWorkingSource, withCaller } from './project.js';

export interface FsckOptions extends CommonOptions {
  repair?: boolean;
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
}

export async function fsck(options: FsckOptions = {}): Promise<FsckResult> {
  return withCaller('d2.fsck', async () => {
    const project = openProject(options.dir);
    const store = project.store;
    const lock = await acquireLock(store.dir, { command: 'd2 fsck', timeoutMs: options.lockTimeoutMs, signal: options.signal });
    try {
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
          bytes += fs.statSync(store.objectPath(oid)).size;
        }
        if (i % 500 === 499) {
          throwIfAborted(options.signal);
          options.onProgress?.({ phase: 'verify', loaded: i + 1, total: oids.length });
          await new Promise((r) => setImmediate(r));
        }
      }
      options.onProgress?.({ phase: 'verify', loaded: oids.length, total: oids.length });

      // References: listings of the working snapshots and of HEAD's. A table source's items
      // are rows of its table object, which must exist; a folder source's items are objects.
      const listings = new Map<string, string>();
      const tables = new Set<string>();
      const noteTable = (s: { listing: string; table?: string }, where: string): void => {
        if (s.table === undefined) return;
        tables.add(s.listing);
        if (!store.has(s.table) && !corrupt.has(s.table)) problems.push({ oid: s.table, problem: 'missing', detail: 'table object missing', referencedBy: where });
      };
      for (const name of Object.keys(project.manifest.sources)) {
        const w = readWorkingSource(project, name);
        if (w) {
          listings.set(w.snapshot.listing, `source '${name}'`);
          noteTable(w.snapshot, `source '${name}'`);
        }
      }
      try {
        const repo = await openGitRepo(project.root);
        const head = await headCommit(repo);
        const prefix = relativePosix(repo.dir, project.root);
        if (head) {
          for (const name of Object.keys(project.manifest.sources)) {
            const text = await readFileAtCommit(repo, head, prefix === '.' ? snapshotPath(name) : `${prefix}/${snapshotPath(name)}`);
            if (text) {
              const s = parseSnapshotText(text, snapshotPath(name));
              if (!listings.has(s.listing)) listings.set(s.listing, `source '${name}' (HEAD)`);
              noteTable(s, `source '${name}' (HEAD)`);
            }
          }
        }
      } catch {
        // no git repository: only the working snapshots are checked
      }
      for (const [listingOid, where] of listings) {
        if (corrupt.has(listingOid)) continue;
        if (!store.has(listingOid)) {
          problems.push({ oid: listingOid, problem: 'missing', detail: 'listing object missing', referencedBy: where });
          continue;
        }
        if (tables.has(listingOid)) continue;
        for (const e of readListing(store, listingOid)) {
          if (corrupt.has(e.oid)) continue;
          let size: number;
          try {
            size = fs.statSync(store.objectPath(e.oid)).size;
          } catch {
            problems.push({ oid: e.oid, problem: 'missing', detail: 'object missing', referencedBy: `${where}: ${e.path}` });
            continue;
          }
          if (size !== e.size) problems.push({ oid: e.oid, problem: 'size', detail: `${size} bytes, listing says ${e.size}`, referencedBy: `${where}: ${e.path}` });
        }
      }
      const quarantined: string[] = [];
      if (options.repair) {
        const qdir = path.join(store.dir, 'quarantine');
        fs.mkdirSync(qdir, { recursive: true });
        for (const oid of corrupt) {
          fs.renameSync(store.objectPath(oid), path.join(qdir, oid));
          quarantined.push(oid);
        }
      }
      return { ok: problems.length === 0, objects: oids.length, bytes, problems, strays, quarantined };
    } finally {
      lock.release();
    }
  });
}
