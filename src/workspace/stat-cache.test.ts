import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/index.js';
import { StatCache } from './stat-cache.js';
import type { WalkedFile } from './walk.js';

const SEC = 1_000_000_000n;
const file = (over: Partial<WalkedFile> = {}): WalkedFile => ({ path: 'a.png', abs: '/x/a.png', size: 10, mtimeNs: 1000n * SEC + 123n, ctimeNs: 1000n * SEC + 123n, ino: 42n, ...over });

describe('StatCache', () => {
  it('vouches for a file whose stat is unchanged and old enough', () => {
    const dir = tempDir();
    const f = path.join(dir, 'cache');
    const c = StatCache.empty();
    c.set('a.png', file(), 'o'.repeat(64));
    c.write(f, 2000n * SEC);
    const back = StatCache.read(f);
    expect(back.lookup(file())).toBe('o'.repeat(64));
    for (const change of [{ size: 11 }, { mtimeNs: 1001n * SEC }, { ctimeNs: 1n }, { ino: 7n }]) {
      expect(back.lookup(file(change))).toBeUndefined();
    }
  });

  it('does not trust racily clean entries (mtime within a clock tick of the cache write)', () => {
    const dir = tempDir();
    const f = path.join(dir, 'cache');
    const c = StatCache.empty();
    const fresh = file({ mtimeNs: 5000n * SEC + 50_000_000n });
    c.set('a.png', fresh, 'o'.repeat(64));
    c.write(f, 5000n * SEC + 100_000_000n);
    expect(StatCache.read(f).lookup(fresh)).toBeUndefined();
    // whole-second mtimes (coarse filesystems) need a wider margin
    const coarse = file({ mtimeNs: 5000n * SEC });
    const c2 = StatCache.empty();
    c2.set('a.png', coarse, 'o'.repeat(64));
    c2.write(f, 5001n * SEC);
    expect(StatCache.read(f).lookup(coarse)).toBeUndefined();
    c2.write(f, 5003n * SEC);
    expect(StatCache.read(f).lookup(coarse)).toBe('o'.repeat(64));
  });

  it('treats a missing or damaged cache as empty', () => {
    const dir = tempDir();
    expect(StatCache.read(path.join(dir, 'nope')).lookup(file())).toBeUndefined();
    fs.writeFileSync(path.join(dir, 'bad'), 'd2-stat-cache 1 xyz\n1\t2\n');
    expect(StatCache.read(path.join(dir, 'bad')).lookup(file())).toBeUndefined();
  });
});
