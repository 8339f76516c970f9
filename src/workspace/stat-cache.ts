/**
 * The stat cache: what git's index does for `git status`. For each file of a source it keeps
 * (size, mtime, ctime, inode) as last seen and the oid its content hashed to, so a status with
 * nothing changed stats every file but reads none.
 *
 * Format (binary, little-endian; `.d2/state/stat-<source>`):
 *   "d2sc" u32 version=4 · f64 writtenAtMs · u32 count · 32-byte listing oid (zeros: none) ·
 *   count × 4 f64 (size, mtimeMs, ctimeMs, ino) · count × 32-byte oid · paths joined by "\0"
 * Entries are sorted by path (compareStrings), so lookups in walk order are a moving cursor,
 * and reading 100,000 entries is a few views over one buffer.
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
import type { WalkedFile } from './walk.js';

export interface StatFields {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

const MAGIC = 0x63733264; // "d2sc"
const VERSION = 4;
const HEADER_BYTES = 52;
const NO_LISTING = '0'.repeat(64);

/**
 * How close to the cache's write time an mtime must be to count as racy. Filesystems with
 * sub-second timestamps still tick with the kernel's coarse clock (a few ms): 100 ms covers it.
 * A whole-second mtime suggests a filesystem that keeps only seconds (FAT, HFS+, some network
 * mounts): 2 s covers those.
 */
const FINE_WINDOW_MS = 100;
const COARSE_WINDOW_MS = 2000;

function racyWindow(mtimeMs: number): number {
  return mtimeMs % 1000 === 0 ? COARSE_WINDOW_MS : FINE_WINDOW_MS;
}

interface Loaded {
  paths: string[];
  stats: Float64Array;
  oids: Buffer;
  /** The listing these entries were written with, when they are exactly its files. */
  listing?: string;
}

export class StatCache {
  private loaded: Loaded;
  private readonly writtenAtMs: number;
  private cursor = 0;
  /** Entries set since loading (path → stat and oid); they win over loaded ones. */
  private updates = new Map<string, StatFields & { oid: string }>();
  private retained: ReadonlySet<string> | undefined;

  private constructor(loaded: Loaded, writtenAtMs: number) {
    this.loaded = loaded;
    this.writtenAtMs = writtenAtMs;
  }

  static empty(): StatCache {
    return new StatCache({ paths: [], stats: new Float64Array(0), oids: Buffer.alloc(0) }, 0);
  }

  static read(file: string): StatCache {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch {
      return StatCache.empty();
    }
    if (buf.length < HEADER_BYTES || buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== VERSION) return StatCache.empty();
    const writtenAt = buf.readDoubleLE(8);
    const count = buf.readUInt32LE(16);
    const statsEnd = HEADER_BYTES + count * 32;
    const oidsEnd = statsEnd + count * 32;
    if (!Number.isFinite(writtenAt) || buf.length < oidsEnd) return StatCache.empty();
    const stats = new Float64Array(count * 4);
    Buffer.from(stats.buffer).set(buf.subarray(HEADER_BYTES, statsEnd));
    const paths = count === 0 ? [] : buf.toString('utf8', oidsEnd).split('\0');
    if (paths.length !== count) return StatCache.empty();
    const listing = buf.toString('hex', 20, 52);
    const loaded: Loaded = { paths, stats, oids: buf.subarray(statsEnd, oidsEnd) };
    if (listing !== NO_LISTING) loaded.listing = listing;
    return new StatCache(loaded, writtenAt);
  }

  private indexOf(path: string): number {
    const { paths } = this.loaded;
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
    return this.loaded.paths.length;
  }

  /** The listing this cache's entries are exactly the files of (set by `write`), if any. */
  get listing(): string | undefined {
    return this.updates.size === 0 ? this.loaded.listing : undefined;
  }

  /**
   * True when `files` (sorted by path) are exactly the cached entries, each with a matching,
   * non-racy stat: then they are byte for byte the files of `listing`, and nothing needs reading.
   */
  matchesAll(files: readonly WalkedFile[]): boolean {
    const { paths, stats } = this.loaded;
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
    const { paths, stats } = this.loaded;
    if (this.retained && paths.some((p) => !this.retained!.has(p))) return true;
    for (let i = 0; i < paths.length; i++) {
      const m = stats[i * 4 + 1]!;
      const w = racyWindow(m);
      if (m + w >= this.writtenAtMs && m + w < nowMs) return true;
    }
    return false;
  }

  /**
   * Write the cache. Pass `listing` only when the entries written are exactly that listing's
   * files with their oids (as `d2 add` knows right after writing it).
   */
  write(file: string, nowMs: number, listing?: string): void {
    const merged = new Map<string, StatFields & { oid: string }>();
    const { paths, stats, oids } = this.loaded;
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
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32LE(MAGIC, 0);
    header.writeUInt32LE(VERSION, 4);
    header.writeDoubleLE(nowMs, 8);
    header.writeUInt32LE(count, 16);
    header.write(listing ?? NO_LISTING, 20, 'hex');
    writeFileAtomicSync(file, Buffer.concat([header, Buffer.from(outStats.buffer), outOids, Buffer.from(keys.join('\0'), 'utf8')]));
    const reread = StatCache.read(file);
    this.loaded = reread.loaded;
    this.updates.clear();
  }
}

function sameStat(a: StatFields, b: StatFields): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}

/** Wall-clock time in milliseconds, comparable with file mtimes. */
export function nowMs(): number {
  return Date.now();
}
