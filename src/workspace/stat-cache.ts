/**
 * The stat cache: what git's index does for `git status`. For each file of a source it keeps
 * (size, mtime, ctime, inode) as last seen and the oid its content hashed to, so a status with
 * nothing changed stats every file but reads none.
 *
 * Format (binary, little-endian; `.d2/state/stat-<source>`):
 *   "d2sc" u32 version=6 · f64 writtenAtMs · u32 count · 32-byte listing oid (zeros: none) ·
 *   u32 folders (NO_FOLDERS: not recorded) · u32 root bytes (0: none) ·
 *   count × 4 f64 (size, mtimeMs, ctimeMs, ino) · count × 32-byte oid ·
 *   folders × 3 f64 (mtimeMs, ctimeMs, ino) ·
 *   the paths, then the folder paths ('.' for the source folder itself), joined by "\0" ·
 *   the root: the source folder's absolute path when the folders were recorded (UTF-8)
 * Entries are sorted by path (compareStrings), so lookups in walk order are a moving cursor,
 * and reading 100,000 entries is a few views over one buffer.
 *
 * The folders are those of the walk the entries came from, recorded only when that walk saw a
 * plain tree; with them, unchanged.ts can tell a folder is untouched without listing it again
 * (git's untracked cache: adding, removing or renaming an entry changes its folder's mtime).
 * The root lets a check begin before the manifest is read (prefetch.ts); it is only trusted
 * where it equals the folder the manifest names.
 *
 * Invariants:
 * - An entry is trusted only if every recorded stat field matches.
 * - "Racily clean" entries are not trusted: a file whose mtime is not older than the moment
 *   the cache was written by more than the filesystem's timestamp tick could have been
 *   modified again within the same tick, so it is hashed again (git's racy-git rule).
 * - The cache is only an accelerator: losing or corrupting it costs time, never correctness.
 *   It is replaced atomically.
 */
import fs from 'node:fs';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { compareStrings } from '../util/compare.js';
import { splitPaths, type PathList } from './parallel-stat.js';
import type { WalkedFile } from './walk.js';

export interface StatFields {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

const MAGIC = 0x63733264; // "d2sc"
const VERSION = 6;
const HEADER_BYTES = 60;
const NO_FOLDERS = 0xffffffff;
const NO_LISTING = '0'.repeat(64);

/**
 * How close to the cache's write time an mtime must be to count as racy. Filesystems with
 * sub-second timestamps still tick with the kernel's coarse clock (a few ms): 100 ms covers it.
 * A whole-second mtime suggests a filesystem that keeps only seconds (FAT, HFS+, some network
 * mounts): 2 s covers those.
 */
const FINE_WINDOW_MS = 100;
const COARSE_WINDOW_MS = 2000;

/** How much older than a moment an mtime must be to be trusted at that moment (see above). */
export function racyWindow(mtimeMs: number): number {
  return mtimeMs % 1000 === 0 ? COARSE_WINDOW_MS : FINE_WINDOW_MS;
}

interface Loaded {
  count: number;
  /** The paths' bytes until first use: a no-op status never needs the paths on this thread. */
  pathBytes?: Buffer;
  paths?: string[];
  stats: Float64Array;
  oids: Buffer;
  /** The listing these entries were written with, when they are exactly its files. */
  listing?: string;
  folders?: { paths: string[]; stats: Float64Array };
  root?: string;
}

/** A folder's stat (path '' for the source folder), as walk.ts records it. */
export interface FolderStat {
  path: string;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

export class StatCache {
  private loaded: Loaded;
  private readonly writtenAtMs: number;
  private cursor = 0;
  /** Entries set since loading (path → stat and oid); they win over loaded ones. */
  private updates = new Map<string, StatFields & { oid: string }>();
  private retained: ReadonlySet<string> | undefined;
  /** Folders to write (set by `setFolders`); loaded ones are never written back implicitly. */
  private newFolders: readonly FolderStat[] | undefined;
  private newRoot: string | undefined;
  /** The stat of the file this cache was read from (taken from the open file, before reading). */
  fileStat: StatFields | undefined;

  private constructor(loaded: Loaded, writtenAtMs: number) {
    this.loaded = loaded;
    this.writtenAtMs = writtenAtMs;
  }

  static empty(): StatCache {
    return new StatCache({ count: 0, paths: [], stats: new Float64Array(0), oids: Buffer.alloc(0) }, 0);
  }

  static read(file: string): StatCache {
    let buf: Buffer;
    let fileStat: StatFields;
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, 'r');
      const st = fs.fstatSync(fd);
      fileStat = { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
      buf = fs.readFileSync(fd);
    } catch {
      return StatCache.empty();
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    if (buf.length < HEADER_BYTES || buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== VERSION) return StatCache.empty();
    const writtenAt = buf.readDoubleLE(8);
    const count = buf.readUInt32LE(16);
    const folderField = buf.readUInt32LE(52);
    const folderCount = folderField === NO_FOLDERS ? 0 : folderField;
    const rootBytes = buf.readUInt32LE(56);
    const statsEnd = HEADER_BYTES + count * 32;
    const oidsEnd = statsEnd + count * 32;
    const foldersEnd = oidsEnd + folderCount * 24;
    const namesEnd = buf.length - rootBytes;
    if (!Number.isFinite(writtenAt) || namesEnd < foldersEnd) return StatCache.empty();
    const stats = new Float64Array(count * 4);
    Buffer.from(stats.buffer).set(buf.subarray(HEADER_BYTES, statsEnd));
    // File paths, then folder paths: the boundary is the folderCount-th NUL from the end
    // (with no file paths, the folder paths are the whole section).
    let boundary = namesEnd;
    for (let k = 0; k < (count === 0 ? folderCount - 1 : folderCount); k++) {
      boundary = boundary > foldersEnd ? buf.lastIndexOf(0, boundary - 1) : -1;
      if (boundary < foldersEnd) return StatCache.empty();
    }
    if (count === 0 && folderCount > 0) boundary = foldersEnd - 1;
    const listing = buf.toString('hex', 20, 52);
    const loaded: Loaded = { count, pathBytes: buf.subarray(foldersEnd, Math.max(foldersEnd, boundary)), stats, oids: buf.subarray(statsEnd, oidsEnd) };
    if (listing !== NO_LISTING) loaded.listing = listing;
    if (folderField !== NO_FOLDERS) {
      const folderStats = new Float64Array(folderCount * 3);
      Buffer.from(folderStats.buffer).set(buf.subarray(oidsEnd, foldersEnd));
      const folderPaths = folderCount === 0 ? [] : buf.toString('utf8', boundary + 1, namesEnd).split('\0');
      if (folderPaths.length !== folderCount) return StatCache.empty();
      loaded.folders = { paths: folderPaths.map((p) => (p === '.' ? '' : p)), stats: folderStats };
      if (rootBytes > 0) loaded.root = buf.toString('utf8', namesEnd);
    }
    const cache = new StatCache(loaded, writtenAt);
    cache.fileStat = fileStat;
    return cache;
  }

  private indexOf(path: string): number {
    const paths = pathsOf(this.loaded);
    // Walk order equals cache order: try the cursor first, then binary search.
    if (paths[this.cursor] === path) return this.cursor++;
    let lo = 0;
    let hi = paths.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = compareStrings(paths[mid]!, path);
      if (c === 0) {
        this.cursor = mid + 1;
        return mid;
      }
      if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
  }

  get size(): number {
    return this.loaded.count;
  }

  /** The listing this cache's entries are exactly the files of (set by `write`), if any. */
  get listing(): string | undefined {
    return this.updates.size === 0 ? this.loaded.listing : undefined;
  }

  /** The moment this cache was written (ms since the epoch): racy-git's reference point. */
  get writtenAt(): number {
    return this.writtenAtMs;
  }

  /** Every entry's path, sorted (the loaded entries; not those set since). */
  get paths(): readonly string[] {
    return pathsOf(this.loaded);
  }

  /** The absolute path of the folder the recorded folders were walked from, if known. */
  get root(): string | undefined {
    return this.folders ? this.loaded.root : undefined;
  }

  /** The loaded paths for parallel-stat: a helper thread gets their bytes, undecoded here. */
  get pathList(): PathList {
    const l = this.loaded;
    return {
      count: l.count,
      joined: () => (l.paths ? l.paths.join('\0') : new Uint8Array(l.pathBytes!)),
      list: () => pathsOf(l),
    };
  }

  /** The folders recorded with the loaded entries, if the walk they came from was plain. */
  get folders(): { readonly paths: readonly string[]; readonly stats: Float64Array } | undefined {
    return this.updates.size === 0 ? this.loaded.folders : undefined;
  }

  /**
   * True when `stats` (STRIDE numbers per loaded entry, in entry order, as parallel-stat.ts
   * returns them: size, mtimeMs, ctimeMs, ino, kind) match every entry and none is racy.
   */
  matchesStats(stats: Float64Array, stride: number, fileKind: number): boolean {
    const { count, stats: own } = this.loaded;
    if (this.updates.size > 0 || stats.length !== count * stride) return false;
    for (let i = 0; i < count; i++) {
      const k = i * stride;
      const c = i * 4;
      if (stats[k + 4] !== fileKind || stats[k] !== own[c] || stats[k + 1] !== own[c + 1] || stats[k + 2] !== own[c + 2] || stats[k + 3] !== own[c + 3]) return false;
      const m = own[c + 1]!;
      if (m + racyWindow(m) >= this.writtenAtMs) return false;
    }
    return true;
  }

  /** True when recorded folder `i` has this stat and was not racy when the cache was written. */
  matchesFolder(i: number, stat: Omit<StatFields, 'size'>): boolean {
    const f = this.folders;
    if (!f || i >= f.paths.length) return false;
    const k = i * 3;
    const m = f.stats[k]!;
    return stat.mtimeMs === m && stat.ctimeMs === f.stats[k + 1] && stat.ino === f.stats[k + 2] && m + racyWindow(m) < this.writtenAtMs;
  }

  /**
   * Record the folders of the walk the entries being written came from (undefined: the walk
   * was not plain) and the absolute path it walked. Only `write` after this call stores folders.
   */
  setFolders(folders: readonly FolderStat[] | undefined, root: string): void {
    this.newFolders = folders;
    this.newRoot = folders ? root : undefined;
  }

  /**
   * True when `files` (sorted by path) are exactly the cached entries, each with a matching,
   * non-racy stat: then they are byte for byte the files of `listing`, and nothing needs reading.
   */
  matchesAll(files: readonly WalkedFile[]): boolean {
    const { stats } = this.loaded;
    const paths = pathsOf(this.loaded);
    if (this.updates.size > 0 || files.length !== paths.length) return false;
    for (let i = 0; i < files.length; i++) {
      const f = files[i]!;
      const k = i * 4;
      if (paths[i] !== f.path || stats[k] !== f.size || stats[k + 1] !== f.mtimeMs || stats[k + 2] !== f.ctimeMs || stats[k + 3] !== f.ino) return false;
      if (f.mtimeMs + racyWindow(f.mtimeMs) >= this.writtenAtMs) return false;
    }
    return true;
  }

  /** The oid recorded for this file, if its stat still matches and is not racy. */
  lookup(file: WalkedFile): string | undefined {
    const u = this.updates.get(file.path);
    if (u) return sameStat(u, file) && u.mtimeMs + racyWindow(u.mtimeMs) < this.writtenAtMs ? u.oid : undefined;
    const i = this.indexOf(file.path);
    if (i < 0) return undefined;
    const s = this.loaded.stats;
    const k = i * 4;
    if (s[k] !== file.size || s[k + 1] !== file.mtimeMs || s[k + 2] !== file.ctimeMs || s[k + 3] !== file.ino) return undefined;
    if (file.mtimeMs + racyWindow(file.mtimeMs) >= this.writtenAtMs) return undefined;
    return this.loaded.oids.toString('hex', i * 32, i * 32 + 32);
  }

  set(path: string, stat: StatFields, oid: string): void {
    this.updates.set(path, { size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, ino: stat.ino, oid });
  }

  /** Keep only entries for these paths when writing. */
  retain(paths: ReadonlySet<string>): void {
    this.retained = paths;
  }

  /**
   * Whether writing would change what a later reader trusts: new or dropped entries, or
   * entries that were racy when written and no longer are.
   */
  needsWrite(nowMs: number): boolean {
    if (this.updates.size > 0) return true;
    const { stats } = this.loaded;
    const paths = pathsOf(this.loaded);
    if (this.retained && paths.some((p) => !this.retained!.has(p))) return true;
    for (let i = 0; i < paths.length; i++) {
      const m = stats[i * 4 + 1]!;
      const w = racyWindow(m);
      if (m + w >= this.writtenAtMs && m + w < nowMs) return true;
    }
    const folders = this.loaded.folders;
    for (let i = 0; folders && i < folders.paths.length; i++) {
      const m = folders.stats[i * 3]!;
      const w = racyWindow(m);
      if (m + w >= this.writtenAtMs && m + w < nowMs) return true;
    }
    return false;
  }

  /** True when no folders are recorded and these (a plain walk's) could be. */
  wantsFolders(folders: readonly FolderStat[] | undefined): boolean {
    return folders !== undefined && this.loaded.folders === undefined;
  }

  /**
   * Write the cache. Pass `listing` only when the entries written are exactly that listing's
   * files with their oids (as `d2 add` knows right after writing it).
   */
  write(file: string, nowMs: number, listing?: string): void {
    const merged = new Map<string, StatFields & { oid: string }>();
    const { stats, oids } = this.loaded;
    const paths = pathsOf(this.loaded);
    for (let i = 0; i < paths.length; i++) {
      const p = paths[i]!;
      if (this.retained && !this.retained.has(p)) continue;
      merged.set(p, { size: stats[i * 4]!, mtimeMs: stats[i * 4 + 1]!, ctimeMs: stats[i * 4 + 2]!, ino: stats[i * 4 + 3]!, oid: oids.toString('hex', i * 32, i * 32 + 32) });
    }
    for (const [p, e] of this.updates) if (!this.retained || this.retained.has(p)) merged.set(p, e);
    const keys = [...merged.keys()].sort(compareStrings);
    const count = keys.length;
    const outStats = new Float64Array(count * 4);
    const outOids = Buffer.alloc(count * 32);
    keys.forEach((p, i) => {
      const e = merged.get(p)!;
      outStats.set([e.size, e.mtimeMs, e.ctimeMs, e.ino], i * 4);
      outOids.write(e.oid, i * 32, 'hex');
    });
    const folders = this.newFolders;
    const folderStats = new Float64Array((folders?.length ?? 0) * 3);
    folders?.forEach((f, i) => folderStats.set([f.mtimeMs, f.ctimeMs, f.ino], i * 3));
    const names = folders ? [...keys, ...folders.map((f) => f.path || '.')] : keys;
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32LE(MAGIC, 0);
    header.writeUInt32LE(VERSION, 4);
    header.writeDoubleLE(nowMs, 8);
    header.writeUInt32LE(count, 16);
    header.write(listing ?? NO_LISTING, 20, 'hex');
    header.writeUInt32LE(folders ? folders.length : NO_FOLDERS, 52);
    const root = Buffer.from(this.newRoot ?? '', 'utf8');
    header.writeUInt32LE(root.length, 56);
    writeFileAtomicSync(file, Buffer.concat([header, Buffer.from(outStats.buffer), outOids, Buffer.from(folderStats.buffer), Buffer.from(names.join('\0'), 'utf8'), root]));
    const reread = StatCache.read(file);
    this.loaded = reread.loaded;
    this.updates.clear();
    this.newFolders = undefined;
    this.newRoot = undefined;
  }
}

/**
 * The loaded paths, decoded on first use. Damage only costs time: were the names fewer or more
 * than the count, the missing ones are '' (no file's path), so nothing is matched through them.
 */
function pathsOf(l: Loaded): string[] {
  if (!l.paths) {
    l.paths = splitPaths(l.pathBytes!, l.count);
    delete l.pathBytes;
  }
  return l.paths;
}

/** True when every field of two stats is equal. */
export function sameStat(a: StatFields, b: StatFields): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}

/** Wall-clock time in milliseconds, comparable with file mtimes. */
export function nowMs(): number {
  return Date.now();
}
