/**
 * Which objects a revision needs: the graph from the committed text files (source snapshots,
 * d2.lock) through the index objects they name (listings, build records, packed records) to
 * the leaves (raw items, models, packs). `d2 push`, `d2 pull`, `d2 fsck` and `d2 gc` all walk it
 * here, so "what commit X needs" means one thing.
 *
 * Kinds: `raw` — listings, tables and raw items (what a dataset is made of); `model` — the
 * model, evaluation and build record a d2.lock names; `cache` — what can be computed again
 * (packed records and packs, the dataset object, prediction chunks).
 *
 * Invariant: an index object that is not in the local store is never guessed around: it is
 * fetched through `fetchIndex` when given, else reported in `unexpanded`, so a caller deciding
 * what to delete (gc) knows when it cannot know.
 */
import fs from 'node:fs';
import path from 'node:path';
import { blobOidsAtCommit, readFileAtCommit, type GitRepo } from '../git/index.js';
import { LOCK_FILE, parseLock, SOURCES_DIR, type Lock, type Snapshot } from '../manifest/index.js';
import type { ObjectStore } from '../store/index.js';
import { relativePosix } from '../util/paths.js';
import { findBuild, type BuildRecord } from './build.js';
import type { PackedDataset } from './packing.js';
import { parseSnapshotText, readListing, type Project } from './project.js';

export type ObjectKind = 'raw' | 'model' | 'cache';

export interface ObjectRef {
  kind: ObjectKind;
  /** Where it is referenced, for messages: "source 'fashion' at 1a2b3c4: shirt/1.png". */
  where: string;
  /** Size recorded by the reference (raw items), when known. */
  size?: number;
}

/** The d2 files of one revision that reference objects. */
export interface RevisionFiles {
  /** null: the working tree. */
  commit: string | null;
  snapshots: { name: string; snapshot: Snapshot }[];
  lock?: Lock;
}

export function revisionLabel(commit: string | null): string {
  return commit ? `at ${commit.slice(0, 7)}` : 'in the working tree';
}

/** Reads the d2 files of commits, parsing each distinct blob once (most commits share most files). */
export class RevisionReader {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly locks = new Map<string, Lock | undefined>();
  private readonly prefix: string;

  constructor(private readonly project: Project, private readonly repo: GitRepo) {
    const p = relativePosix(repo.dir, project.root);
    this.prefix = p === '.' ? '' : `${p}/`;
  }

  async at(commit: string): Promise<RevisionFiles> {
    const out: RevisionFiles = { commit, snapshots: [] };
    const sources = await blobOidsAtCommit(this.repo, commit, `${this.prefix}${SOURCES_DIR}`);
    for (const [file, blob] of [...sources].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (!file.endsWith('.yaml')) continue;
      let s = this.snapshots.get(blob);
      if (!s) {
        const text = await readFileAtCommit(this.repo, commit, `${this.prefix}${SOURCES_DIR}/${file}`);
        if (text === undefined) continue;
        s = parseSnapshotText(text, `${SOURCES_DIR}/${file} (at ${commit.slice(0, 7)})`);
        this.snapshots.set(blob, s);
      }
      out.snapshots.push({ name: s.source, snapshot: s });
    }
    const root = await blobOidsAtCommit(this.repo, commit, this.prefix ? this.prefix.slice(0, -1) : '');
    const lockBlob = root.get(LOCK_FILE);
    if (lockBlob !== undefined) {
      if (!this.locks.has(lockBlob)) {
        const text = await readFileAtCommit(this.repo, commit, `${this.prefix}${LOCK_FILE}`);
        this.locks.set(lockBlob, text === undefined ? undefined : parseLock(text).lock);
      }
      const lock = this.locks.get(lockBlob);
      if (lock) out.lock = lock;
    }
    return out;
  }
}

/** The working tree's d2 files (snapshots written by `d2 add`, d2.lock written by `d2 build`). */
export function workingFiles(project: Project): RevisionFiles {
  const out: RevisionFiles = { commit: null, snapshots: [] };
  const dir = path.join(project.root, SOURCES_DIR);
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort();
  } catch {
    // no source added yet
  }
  for (const n of names) {
    const s = parseSnapshotText(fs.readFileSync(path.join(dir, n), 'utf8'), `${SOURCES_DIR}/${n}`);
    out.snapshots.push({ name: s.source, snapshot: s });
  }
  try {
    const lock = parseLock(fs.readFileSync(path.join(project.root, LOCK_FILE), 'utf8')).lock;
    if (lock) out.lock = lock;
  } catch {
    // no d2.lock
  }
  return out;
}

export interface CollectOptions {
  kinds: ReadonlySet<ObjectKind>;
  /** Bring missing index objects into the local store (pull); without it they are `unexpanded`. */
  fetchIndex?: (wanted: Map<string, ObjectRef>) => Promise<void>;
}

export interface NeededObjects {
  /** Every object needed (index objects included), with its first reference. */
  objects: Map<string, ObjectRef>;
  /** Index objects that are not in the local store, so what they name is unknown. */
  unexpanded: Map<string, ObjectRef>;
  /** Build records needed, by oid (for pointers after a pull). */
  builds: Map<string, BuildRecord>;
  /** Packed records needed, by oid. */
  packed: Map<string, PackedDataset>;
}

type IndexKind = 'listing' | 'record' | 'packed';

/** Walk the object graph of `revisions` down to the leaves of the wanted kinds. */
export async function collectObjects(store: ObjectStore, revisions: readonly RevisionFiles[], options: CollectOptions): Promise<NeededObjects> {
  const { kinds } = options;
  const objects = new Map<string, ObjectRef>();
  const unexpanded = new Map<string, ObjectRef>();
  const builds = new Map<string, BuildRecord>();
  const packed = new Map<string, PackedDataset>();
  const need = (oid: string, ref: ObjectRef): void => {
    if (!objects.has(oid)) objects.set(oid, ref);
  };
  let frontier = new Map<string, { kind: IndexKind; ref: ObjectRef }>();
  const expand = (oid: string, kind: IndexKind, ref: ObjectRef): void => {
    need(oid, ref);
    if (!frontier.has(oid)) frontier.set(oid, { kind, ref });
  };

  for (const rev of revisions) {
    const at = revisionLabel(rev.commit);
    if (kinds.has('raw')) {
      for (const { name, snapshot } of rev.snapshots) {
        const ref: ObjectRef = { kind: 'raw', where: `source '${name}' ${at}` };
        if (snapshot.table !== undefined) {
          need(snapshot.listing, ref);
          need(snapshot.table, ref);
        } else {
          expand(snapshot.listing, 'listing', ref);
        }
      }
    }
    const lock = rev.lock;
    if (lock && (kinds.has('model') || kinds.has('cache'))) {
      const ref: ObjectRef = { kind: 'model', where: `d2.lock ${at}` };
      if (kinds.has('model')) {
        need(lock.model.oid, ref);
        need(lock.evaluation, ref);
      }
      const record = lock.model.record ?? findBuild(store, lock.model.build)?.oid;
      if (record !== undefined) expand(record, 'record', ref);
    }
  }

  const expanded = new Set<string>();
  while (frontier.size) {
    const current = frontier;
    frontier = new Map();
    const missing = new Map<string, ObjectRef>();
    for (const [oid, { ref }] of current) if (!store.has(oid)) missing.set(oid, ref);
    if (missing.size && options.fetchIndex) await options.fetchIndex(missing);
    for (const [oid, { kind, ref }] of current) {
      if (expanded.has(oid)) continue;
      expanded.add(oid);
      if (!store.has(oid)) {
        unexpanded.set(oid, ref);
        continue;
      }
      if (kind === 'listing') {
        for (const e of readListing(store, oid)) need(e.oid, { kind: 'raw', where: `${ref.where}: ${e.path}`, size: e.size });
      } else if (kind === 'record') {
        const build = JSON.parse(store.readText(oid)) as BuildRecord;
        builds.set(oid, build);
        if (kinds.has('cache')) {
          const cref: ObjectRef = { kind: 'cache', where: `build ${build.key.slice(0, 12)} (${ref.where})` };
          need(build.dataset, cref);
          expand(build.packed, 'packed', cref);
        }
      } else {
        const record = JSON.parse(store.readText(oid)) as PackedDataset;
        packed.set(oid, record);
        for (const s of Object.values(record.sets)) if (s.pack) need(s.pack, ref);
      }
    }
  }
  return { objects, unexpanded, builds, packed };
}
