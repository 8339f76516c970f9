/**
 * Writing sources' working files from the local store: `d2 pull` writes the files a fresh
 * clone lacks, `d2 restore` brings back files deleted (or, when forced, changed) since `d2 add`
 * recorded them, from the working snapshots or from a revision's.
 *
 * Invariants:
 * - Every target is checked before anything is written: inside the project, through real
 *   folders only (a committed symbolic link cannot carry a write outside it, as git checks on
 *   checkout); when any is not, UnsafePath names them and nothing is written.
 * - A file that exists is never overwritten unless `overwrite` is set, and then only when its
 *   content differs from the recorded one; each write goes through a temporary file and a
 *   rename, so a file is either the old one or the recorded one.
 * - Sources outside the project (`external`) are never written to.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UnsafePath } from '../errors/index.js';
import { isTableSource, type Snapshot } from '../manifest/index.js';
import type { ObjectStore } from '../store/index.js';
import { hashFileSync } from '../util/hash.js';
import { relativePosix } from '../util/paths.js';
import { StatCache } from '../workspace/index.js';
import type { Project } from './project.js';
import { readListing, statCachePath } from './sources.js';

/** A source file, by source name and its path in the source (a table: its own file name). */
export interface SourceFile {
  source: string;
  path: string;
}

export interface WriteWorkingFilesOptions {
  /** Only these files (default: every file of every source). */
  only?: (source: string, itemPath: string) => boolean;
  /** Replace an existing file whose content differs from the recorded one (default: keep it). */
  overwrite?: boolean;
  /**
   * Tell a changed file from an unchanged one by content (stat cache, then a hash) rather than
   * by size alone; `d2 pull` trusts sizes (a clone's files are new), `d2 restore` checks.
   */
  compareContent?: boolean;
  /** Called once every file is planned, before the first write: what it throws stops the writing. */
  beforeWrite?: () => void;
}

export interface WrittenFiles {
  /** Files written (missing before, or replaced with `overwrite`). */
  restored: SourceFile[];
  /** Existing files whose content differs from the recorded one, left as they are. */
  keptModified: SourceFile[];
  /** Files whose recorded content is not in the local store (`d2 pull` fetches it). */
  notInStore: SourceFile[];
}

interface PlannedWrite {
  file: SourceFile;
  oid: string;
  target: string;
}

/**
 * The first part of `target`'s path below `root` that is a symbolic link or not a folder, if
 * any.
 */
function unsafeParent(root: string, target: string): string | undefined {
  const rel = path.relative(root, path.dirname(target));
  if (rel === '') return undefined;
  if (rel.startsWith('..') || path.isAbsolute(rel)) return path.dirname(target);
  let dir = root;
  for (const part of rel.split(path.sep)) {
    dir = path.join(dir, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(dir);
    } catch {
      return undefined; // from here on nothing exists: mkdir makes real folders
    }
    if (st.isSymbolicLink() || !st.isDirectory()) return dir;
  }
  return undefined;
}

/** Write the recorded files of `snapshots` that are missing (or changed, with `overwrite`). */
export function writeWorkingFiles(
  project: Project,
  store: ObjectStore,
  snapshots: readonly { name: string; snapshot: Snapshot }[],
  options: WriteWorkingFilesOptions = {},
): WrittenFiles {
  const out: WrittenFiles = { restored: [], keptModified: [], notInStore: [] };
  const writes: PlannedWrite[] = [];
  for (const { name, snapshot } of snapshots) {
    const decl = project.manifest.sources[name];
    if (!decl || decl.external) continue;
    const base = path.resolve(project.root, decl.path);
    const cache = options.compareContent ? StatCache.read(statCachePath(project, name)) : undefined;
    const plan = (file: SourceFile, oid: string, target: string, size: number): void => {
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(target);
      } catch {
        st = undefined;
      }
      if (st) {
        if (!differs(st, target, file.path, oid, size, cache)) return;
        if (!options.overwrite || !st.isFile()) {
          out.keptModified.push(file);
          return;
        }
      }
      if (store.has(oid)) writes.push({ file, oid, target });
      else out.notInStore.push(file);
    };
    if (snapshot.table !== undefined && isTableSource(decl)) {
      const file = { source: name, path: path.basename(base) };
      if (!options.only || options.only(name, file.path)) plan(file, snapshot.table, base, store.size(snapshot.table) ?? snapshot.bytes);
      continue;
    }
    if (!store.has(snapshot.listing)) continue;
    for (const e of readListing(store, snapshot.listing)) {
      if (options.only && !options.only(name, e.path)) continue;
      plan({ source: name, path: e.path }, e.oid, path.join(base, ...e.path.split('/')), e.size);
    }
  }
  options.beforeWrite?.();
  const unsafe = [...new Set(writes.flatMap((w) => unsafeParent(project.root, w.target) ?? []))];
  if (unsafe.length) {
    const shown = unsafe.slice(0, 20).map((p) => relativePosix(project.root, p));
    throw new UnsafePath(`cannot write working files through '${shown[0]}': it is a symbolic link or not a folder${unsafe.length > 1 ? ` (and ${unsafe.length - 1} more)` : ''}`, {
      data: { paths: shown, count: unsafe.length },
      hint: 'd2 writes working files only through real folders of the project: replace the link with a folder, then run the command again',
    });
  }
  for (const { file, oid, target } of writes) {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.d2-write-${process.pid}`;
    store.copyOut(oid, tmp);
    fs.chmodSync(tmp, 0o644);
    fs.renameSync(tmp, target);
    out.restored.push(file);
  }
  return out;
}

/** Whether an existing working file differs from the recorded content (by size, or with a cache by content). */
function differs(st: fs.Stats, target: string, itemPath: string, oid: string, size: number, cache: StatCache | undefined): boolean {
  if (!st.isFile() || st.size !== size) return true;
  if (!cache) return false;
  const known = cache.lookup({ path: itemPath, abs: target, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino });
  if (known !== undefined) return known !== oid;
  try {
    return hashFileSync(target).oid !== oid;
  } catch {
    return true;
  }
}
