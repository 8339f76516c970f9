/**
 * `.d2/state/`: the store's mutable notes about immutable objects — which build a key made,
 * which packs, prediction chunks, thumbnails and maps are cached, training
 * checkpoints, stat caches and the clean-status stamp. This module is the one place that
 * names a file there (docs/store-format.md lists the kinds).
 *
 * Kinds and their contents:
 * - `build-<build key>`: one oid, the build record (a pointer);
 * - `packed-<dataset[:32]>-<config[:32]>`: one oid, the packed record of (dataset, config);
 * - `packs-<config>`: oids of the packs cached for a preprocessing configuration, one a line;
 * - `predictions-<build key>`: oids of a build's prediction chunks, one a line;
 * - `thumbnails-<size>`: oids of thumbnail chunks (`d2 report`), one a line;
 * - `projection-<hash>`: one oid, a cached feature-space map (UMAP) of a model on some items;
 * - `crossval-<cross-validation key>`: one oid, the cross-validation record (`d2 review`'s folds);
 * - `review-<review key>`: one oid, a stored review (likely label errors); `review-working`: the
 *   last review of the working tree (what `d2 label --keep` reads its evidence from);
 * - `checkpoint-<build key>`: a training checkpoint (bytes; names no object);
 * - `embeddings-<embedding key>`: a backbone's embeddings of items, by item oid (bytes, see
 *   project/embeddings.ts; names no object);
 * - `timing-<build key>`: how long this store's training of a build took (JSON; names no object);
 * - `stat-<source>`: a source's stat cache (bytes; names no object);
 * - `status-clean`: the clean-status stamp (names no object).
 *
 * Invariants:
 * - Every write is atomic (tmp, fsync, rename, fsync of the folder): a reader sees the old
 *   file or the new one, never a mix, whatever instant a crash comes at.
 * - A note is only a cache: losing one costs recomputation, never data; a note naming a
 *   missing object is treated as absent by its reader.
 * - Keys are checked to be plain names (no separator, no '..'), so no key names a file outside
 *   `state/`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UnsafePath } from '../errors/index.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { stateDirOf } from './layout.js';

/** Kinds of `.d2/state/` file whose content is object ids (a pointer or a list). */
export type PointerKind = 'build' | 'packed' | 'packs' | 'predictions' | 'thumbnails' | 'projection' | 'crossval' | 'review';
/** Every kind of `.d2/state/` file. */
export type StateKind = PointerKind | 'checkpoint' | 'timing' | 'stat' | 'status-clean' | 'embeddings';

const POINTER_KINDS: readonly PointerKind[] = ['build', 'packed', 'packs', 'predictions', 'thumbnails', 'projection', 'crossval', 'review'];
/** Pointers hold one oid; lists hold any number (one a line). */
const SINGLE: ReadonlySet<PointerKind> = new Set(['build', 'packed', 'projection', 'crossval', 'review']);

const KEY = /^[A-Za-z0-9_.-]+$/;

export class StateFiles {
  constructor(readonly dir: string) {}

  /** The state notes of the project at `projectRoot`. */
  static of(projectRoot: string): StateFiles {
    return new StateFiles(stateDirOf(projectRoot));
  }

  /** The file of one note (the folder may not exist yet). */
  path(kind: StateKind, key?: string): string {
    if (kind === 'status-clean') return path.join(this.dir, kind);
    // Keys come from records that may have arrived from a remote: no separator, no '..'.
    if (key === undefined || !KEY.test(key) || key.includes('..')) {
      throw new UnsafePath(`unsafe '${kind}' state file key '${String(key).slice(0, 80)}': expected letters, digits, '.', '_' or '-'`, {
        data: { kind, key: String(key).slice(0, 80) },
        hint: "the record that named it is damaged or crafted: run 'd2 fsck'",
      });
    }
    return path.join(this.dir, `${kind}-${key}`);
  }

  /** The state file name of the packed record of (dataset, configuration). */
  static packedKey(dataset: string, config: string): string {
    return `${dataset.slice(0, 32)}-${config.slice(0, 32)}`;
  }

  exists(): boolean {
    return fs.existsSync(this.dir);
  }

  readBytes(kind: StateKind, key?: string): Buffer | undefined {
    try {
      return fs.readFileSync(this.path(kind, key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** The oid a pointer names, if it exists. */
  readPointer(kind: PointerKind, key: string): string | undefined {
    const lines = this.readLines(kind, key);
    return lines[0];
  }

  /** The oids a list (or pointer) holds, in order; [] when absent. */
  readLines(kind: PointerKind, key: string): string[] {
    const bytes = this.readBytes(kind, key);
    if (!bytes) return [];
    return bytes.toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean);
  }

  write(kind: StateKind, key: string | undefined, data: string | Uint8Array): void {
    fs.mkdirSync(this.dir, { recursive: true });
    writeFileAtomicSync(this.path(kind, key), data);
  }

  writePointer(kind: PointerKind, key: string, oid: string): void {
    this.write(kind, key, `${oid}\n`);
  }

  writeLines(kind: PointerKind, key: string, oids: readonly string[]): void {
    this.write(kind, key, oids.length ? `${oids.join('\n')}\n` : '');
  }

  /** Add one oid to a list (rewritten atomically; callers hold the store lock). */
  appendLine(kind: PointerKind, key: string, oid: string): void {
    this.writeLines(kind, key, [...this.readLines(kind, key), oid]);
  }

  remove(kind: StateKind, key?: string): void {
    fs.rmSync(this.path(kind, key), { force: true });
  }

  /** The notes of the given kinds present now, as (kind, key). */
  list(kinds: readonly StateKind[]): { kind: StateKind; key: string }[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: { kind: StateKind; key: string }[] = [];
    for (const name of names.sort()) {
      if (name.includes('.tmp')) continue;
      const kind = kinds.find((k) => (k === 'status-clean' ? name === k : name.startsWith(`${k}-`)));
      if (kind) out.push({ kind, key: kind === 'status-clean' ? '' : name.slice(kind.length + 1) });
    }
    return out;
  }

  /**
   * Forget deleted objects: pointers naming one are removed, lists lose those lines (each
   * file rewritten atomically). Returns how many files changed. Checkpoints, stat caches and
   * the stamp name no object and are left alone.
   */
  forgetObjects(gone: ReadonlySet<string>): number {
    let n = 0;
    for (const { kind, key } of this.list(POINTER_KINDS)) {
      const k = kind as PointerKind;
      const lines = this.readLines(k, key);
      const kept = lines.filter((l) => !gone.has(l));
      if (kept.length === lines.length) continue;
      n++;
      if (kept.length === 0 || SINGLE.has(k)) this.remove(k, key);
      else this.writeLines(k, key, kept);
    }
    return n;
  }
}
