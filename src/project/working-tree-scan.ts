/**
 * The working tree's files against what `d2 add` recorded, per source: files new, modified,
 * deleted or moved since (the "not added yet" of `d2 status`), and a source's table CSV
 * against the recorded one. `d2 status` shows them file by file; `d2 data`, `d2 build` and
 * `d2 diff` count them, so that files never added are never silently left out.
 *
 * Invariants: read-only apart from the stat cache (replaced atomically, and only when the
 * store's state folder exists); a file whose stat matches the stat cache is not read, and when
 * the cache vouches for the whole folder (workspace/unchanged.ts) no folder is even listed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { diffFiles, diffLabels, isEmptyFileChanges, type FileChanges, type Relabel } from '../core/changes.js';
import type { ListingEntry } from '../core/listing.js';
import type { CommonOptions } from '../core/progress.js';
import { isTableSource, labelsPath, snapshotPath, type Snapshot, type SourceDecl } from '../manifest/index.js';
import { hashFileSync } from '../util/hash.js';
import { isInside } from '../util/paths.js';
import { beginUnchangedCheck, nowMs, StatCache, walk, type UnchangedCheck, type WalkProblem } from '../workspace/index.js';
import type { Project } from './project.js';
import { parseLabelsText, parseSnapshotText, readListing, readWorkingSourceTexts, statCachePath } from './sources.js';
import { readTableItems } from './table-source.js';

export const EMPTY: FileChanges = { added: [], modified: [], deleted: [], renamed: [] };

/** A folder source's stat cache, and the fast-path check begun on it (on a helper thread). */
export interface EarlyCheck {
  cache: StatCache;
  check?: UnchangedCheck;
}

/** One source's working files against its recorded listing. */
export interface FolderScan {
  /** The stat cache that answered, when the fast path did. */
  fast?: StatCache;
  notAdded: FileChanges;
  relabels?: Relabel[];
  problems: WalkProblem[];
  checked: number;
  hashed: number;
}

/** A table source: its CSV against the one `d2 add` recorded; rows are compared only if the file changed. */
export function scanTable(project: Project, name: string, abs: string, decl: SourceDecl, working: Snapshot | undefined): FolderScan {
  const loadListing = (): ListingEntry[] => (working ? readListing(project.store, working.listing) : []);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    return { notAdded: { ...EMPTY, deleted: loadListing().map((e) => e.path) }, problems: [], checked: 0, hashed: 0 };
  }
  const cacheFile = statCachePath(project, name);
  const cache = StatCache.read(cacheFile);
  const file = { path: path.basename(abs), abs, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
  let oid = cache.lookup(file);
  let hashed = 0;
  if (oid === undefined) {
    oid = hashFileSync(abs).oid;
    hashed = 1;
    cache.set(file.path, file, oid);
    try {
      cache.write(cacheFile, nowMs());
    } catch {
      // the cache is only an accelerator
    }
  }
  if (working?.table === oid) return { notAdded: EMPTY, problems: [], checked: 1, hashed };
  try {
    const items = readTableItems(fs.readFileSync(abs, 'utf8'), decl, decl.path);
    const listing = loadListing();
    const notAdded = diffFiles(listing, items.entries);
    const before = new Set(listing.map((e) => e.path));
    const common = items.entries.filter((e) => before.has(e.path)).map((e) => e.path);
    const labelsText = readWorkingSourceTexts(project, name).labels;
    const current = labelsText ? parseLabelsText(labelsText, labelsPath(name)) : new Map<string, string>();
    return { notAdded, relabels: diffLabels(current, items.labels, common, notAdded.renamed), problems: [], checked: 1, hashed };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return { notAdded: EMPTY, problems: [{ kind: 'unreadable', path: decl.path, message, severity: 'error' }], checked: 1, hashed };
  }
}

/**
 * Files in a source folder against the listing `d2 add` recorded. The fast path: when the stat
 * cache was written with that very listing and every file's stat still matches, the folder is
 * unchanged and neither file contents nor the listing are read.
 */
export async function scanSourceFolder(project: Project, name: string, abs: string, listingOid: string | undefined, options: CommonOptions, early: EarlyCheck | undefined): Promise<FolderScan> {
  const loadListing = (): ListingEntry[] => (listingOid ? readListing(project.store, listingOid) : []);
  const check = early?.check;
  if (early) delete early.check; // this scan answers for it now
  if (!fs.existsSync(abs)) {
    await check?.cancel();
    return { notAdded: { ...EMPTY, deleted: loadListing().map((e) => e.path) }, problems: [], checked: 0, hashed: 0 };
  }
  const cacheFile = statCachePath(project, name);
  const cache = early?.cache ?? StatCache.read(cacheFile);
  // The no-op fast path: no folder listed, no file read (workspace/unchanged.ts).
  if (listingOid !== undefined && cache.listing === listingOid) {
    const fast = check ?? beginUnchangedCheck(abs, cache);
    if (fast && (await fast.result())) return { notAdded: EMPTY, problems: [], checked: cache.size, hashed: 0, fast: cache };
  } else {
    await check?.cancel();
  }
  const walked = await walk(abs, {
    projectRoot: project.root,
    external: !isInside(project.root, fs.realpathSync(abs)),
    signal: options.signal,
    expectedFiles: cache.size,
    onProgress: (n) => options.onProgress?.({ phase: 'walk', loaded: n, detail: { source: name } }),
  });
  const checked = walked.files.length;
  if (listingOid !== undefined && cache.listing === listingOid && cache.matchesAll(walked.files)) {
    // Clean; record the folders once the tree is plain, so the next status takes the fast path.
    if (cache.wantsFolders(walked.folders) && project.store.state.exists()) {
      try {
        cache.setFolders(walked.folders, abs);
        cache.write(cacheFile, nowMs(), listingOid);
      } catch {
        // a read-only store: the cache is only an accelerator
      }
    }
    return { notAdded: EMPTY, problems: walked.problems, checked, hashed: 0 };
  }
  const entries: ListingEntry[] = [];
  const problems = [...walked.problems];
  let hashed = 0;
  for (const f of walked.files) {
    let oid = cache.lookup(f);
    if (oid === undefined) {
      try {
        oid = hashFileSync(f.abs).oid;
      } catch (e) {
        problems.push({ kind: 'unreadable', path: f.path, message: `cannot read '${f.path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, severity: 'error' });
        continue;
      }
      hashed++;
      cache.set(f.path, f, oid);
      if (hashed % 1000 === 0) options.onProgress?.({ phase: 'hash', loaded: hashed, detail: { source: name } });
    }
    entries.push({ path: f.path, oid, size: f.size });
  }
  const notAdded = diffFiles(loadListing(), entries);
  cache.retain(new Set(entries.map((e) => e.path)));
  const now = nowMs();
  const exact = isEmptyFileChanges(notAdded) && problems.length === walked.problems.length;
  if ((cache.needsWrite(now) || (exact && (cache.listing !== listingOid || cache.wantsFolders(walked.folders)))) && project.store.state.exists()) {
    try {
      cache.setFolders(walked.folders, abs);
      cache.write(cacheFile, now, exact ? listingOid : undefined);
    } catch {
      // a read-only store: the cache is only an accelerator
    }
  }
  return { notAdded, problems, checked, hashed };
}

/** How many of a source's working files `d2 add` has not recorded yet. */
export interface FilesNotAdded {
  source: string;
  added: number;
  modified: number;
  deleted: number;
  renamed: number;
}

/**
 * The working tree's files not added yet, per source that has any (sources whose recorded
 * listing is not in the store, or never added, are left out: there is nothing to compare with).
 * The folders are stat'ed on a helper thread: start this before other work and await it after.
 */
export function beginFilesNotAdded(project: Project, options: CommonOptions = {}): Promise<FilesNotAdded[]> {
  const pending = filesNotAdded(project, options);
  pending.catch(() => undefined); // awaited by the caller; a failure before then is not unhandled
  return pending;
}

export async function filesNotAdded(project: Project, options: CommonOptions = {}): Promise<FilesNotAdded[]> {
  const out: FilesNotAdded[] = [];
  for (const [name, decl] of Object.entries(project.manifest.sources)) {
    const text = readWorkingSourceTexts(project, name).snapshot;
    const working = text === undefined ? undefined : parseSnapshotText(text, snapshotPath(name), name);
    if (!working || !project.store.has(working.listing)) continue;
    const abs = path.resolve(project.root, decl.path);
    const scan = isTableSource(decl) ? scanTable(project, name, abs, decl, working) : await scanSourceFolder(project, name, abs, working.listing, options, undefined);
    const f = scan.notAdded;
    if (!isEmptyFileChanges(f)) out.push({ source: name, added: f.added.length, modified: f.modified.length, deleted: f.deleted.length, renamed: f.renamed.length });
  }
  return out;
}
