/**
 * The stat cache: what git's index does for `git status`. For each file of a source it keeps
 * (size, mtime, ctime, inode) as last seen and the oid its content hashed to, so a status with
 * nothing changed stats every file but reads none.
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
import type { WalkedFile } from './walk.js';

export interface StatEntry {
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  oid: string;
}

const HEADER = 'd2-stat-cache 1';
/**
 * How close to the cache's write time an mtime must be to count as racy. Filesystems with
 * sub-second timestamps still tick with the kernel's coarse clock (a few ms): 100 ms covers it.
 * A whole-second mtime suggests a filesystem that keeps only seconds (FAT, HFS+, some network
 * mounts): 2 s covers those.
 */
const FINE_WINDOW_NS = 100_000_000n;
const COARSE_WINDOW_NS = 2_000_000_000n;

function racyWindow(mtimeNs: bigint): bigint {
  return mtimeNs % 1_000_000_000n === 0n ? COARSE_WINDOW_NS : FINE_WINDOW_NS;
}

export class StatCache {
  private entries: Map<string, StatEntry>;
  private readonly writtenAtNs: bigint;
  private dirty = false;

  private constructor(entries: Map<string, StatEntry>, writtenAtNs: bigint) {
    this.entries = entries;
    this.writtenAtNs = writtenAtNs;
  }

  static empty(): StatCache {
    return new StatCache(new Map(), 0n);
  }

  static read(file: string): StatCache {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return StatCache.empty();
    }
    const lines = text.split('\n');
    const head = lines[0]?.split(' ');
    if (!head || `${head[0]} ${head[1]}` !== HEADER || head[2] === undefined) return StatCache.empty();
    const entries = new Map<string, StatEntry>();
    try {
      for (let i = 1; i < lines.length; i++) {
        const line = lines[i]!;
        if (!line) continue;
        const f = line.split('\t');
        if (f.length < 6) return StatCache.empty();
        entries.set(f.slice(5).join('\t'), { size: Number(f[0]), mtimeNs: BigInt(f[1]!), ctimeNs: BigInt(f[2]!), ino: BigInt(f[3]!), oid: f[4]! });
      }
      return new StatCache(entries, BigInt(head[2]));
    } catch {
      return StatCache.empty();
    }
  }

  /** The oid recorded for this file, if its stat still matches and is not racy. */
  lookup(file: WalkedFile): string | undefined {
    const e = this.entries.get(file.path);
    if (!e) return undefined;
    if (e.size !== file.size || e.mtimeNs !== file.mtimeNs || e.ctimeNs !== file.ctimeNs || e.ino !== file.ino) return undefined;
    if (e.mtimeNs + racyWindow(e.mtimeNs) >= this.writtenAtNs) return undefined;
    return e.oid;
  }

  set(path: string, stat: { size: number; mtimeNs: bigint; ctimeNs: bigint; ino: bigint }, oid: string): void {
    const e = this.entries.get(path);
    if (e && e.oid === oid && e.size === stat.size && e.mtimeNs === stat.mtimeNs && e.ctimeNs === stat.ctimeNs && e.ino === stat.ino) return;
    this.entries.set(path, { size: stat.size, mtimeNs: stat.mtimeNs, ctimeNs: stat.ctimeNs, ino: stat.ino, oid });
    this.dirty = true;
  }

  /** Drop entries for files that no longer exist. */
  retain(paths: ReadonlySet<string>): void {
    for (const p of this.entries.keys()) {
      if (!paths.has(p)) {
        this.entries.delete(p);
        this.dirty = true;
      }
    }
  }

  /**
   * Whether writing would change what a later reader trusts: new entries, or entries that
   * were racy when read and would no longer be.
   */
  needsWrite(nowNs: bigint): boolean {
    if (this.dirty) return true;
    for (const e of this.entries.values()) {
      const w = racyWindow(e.mtimeNs);
      if (e.mtimeNs + w >= this.writtenAtNs && e.mtimeNs + w < nowNs) return true;
    }
    return false;
  }

  write(file: string, nowNs: bigint): void {
    const parts = [`${HEADER} ${nowNs}`];
    for (const [p, e] of this.entries) parts.push(`${e.size}\t${e.mtimeNs}\t${e.ctimeNs}\t${e.ino}\t${e.oid}\t${p}`);
    writeFileAtomicSync(file, `${parts.join('\n')}\n`);
    this.dirty = false;
  }
}

/** Wall-clock time in nanoseconds, comparable with file mtimes. */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
