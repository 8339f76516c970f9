/**
 * Which objects a revision needs: the graph from the committed text files (source snapshots,
 * d2.lock) through the index objects they name (listings, build records, packed records) to
 * the leaves (raw items, models, packs). `d2 push`, `d2 pull`, `d2 fsck` and `d2 gc` all walk it
 * here, so "what commit X needs" means one thing.
 *
 * Kinds: `raw` — listings, tables and raw items (what a dataset is made of); `model` — the
 * model, evaluation and build record a d2.lock names; a backbone (its record and files) counts
 * as `raw` when d2.lock pins it, as `model` when a build record names it; the build a backbone
 * was made from (`model.backbone.build`: its record, model and evaluation) as `model`; `cache` — what can be computed again
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
import { parseBackboneRecord } from './backbone.js';
import { findBuild, parseBuildRecord, type BuildRecord } from './builds.js';
import { parsePackedRecord, type PackedDataset } from './packing.js';
import { readListing } from './sources.js';
import { revisionLabel, type RevisionFiles } from './revision.js';

export type ObjectKind = 'raw' | 'model' | 'cache';

export interface ObjectRef {
  kind: ObjectKind;
  /** Where it is referenced, for messages: "source 'fashion' at 1a2b3c4: shirt/1.png". */
  where: string;
  /** Size recorded by the reference (raw items), when known. */
  size?: number;
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

type IndexKind = 'listing' | 'record' | 'packed' | 'backbone' | 'backbone-build';

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
    const at = revisionLabel(rev.commit, rev.experiment);
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
    // a backbone is an input of the build, as raw items are: pushed and pulled with them
    if (lock?.backbone && kinds.has('raw')) expand(lock.backbone.oid, 'backbone', { kind: 'raw', where: `backbone '${lock.backbone.source}' in d2.lock ${at}` });
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
        const build = parseBuildRecord(store.readText(oid), oid);
        builds.set(oid, build);
        if (build.backbone && kinds.has('model')) expand(build.backbone.oid, 'backbone', { kind: 'model', where: `backbone of build ${build.key.slice(0, 12)} (${ref.where})` });
        if (kinds.has('cache')) {
          const cref: ObjectRef = { kind: 'cache', where: `build ${build.key.slice(0, 12)} (${ref.where})` };
          need(build.dataset, cref);
          expand(build.packed, 'packed', cref);
        }
      } else if (kind === 'backbone') {
        const record = parseBackboneRecord(store.readText(oid), oid);
        for (const [name, file] of Object.entries(record.files)) need(file, { kind: ref.kind, where: `${ref.where}: ${name}` });
        // made from another d2 build: that build (record, model, evaluation) is part of the model
        if (record.build !== undefined && kinds.has('model')) expand(record.build, 'backbone-build', { kind: 'model', where: `build the backbone was made from (${ref.where})` });
      } else if (kind === 'backbone-build') {
        const build = parseBuildRecord(store.readText(oid), oid);
        builds.set(oid, build);
        need(build.model, ref);
        need(build.evaluation, ref);
        if (build.backbone) expand(build.backbone.oid, 'backbone', ref);
      } else {
        const record = parsePackedRecord(store.readText(oid), oid);
        packed.set(oid, record);
        for (const s of Object.values(record.sets)) if (s.pack) need(s.pack, ref);
      }
    }
  }
  return { objects, unexpanded, builds, packed };
}
