import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/index.js';
import { StatCache } from './stat-cache.js';
import type { WalkedFile } from './walk.js';

const SEC = 1000;
const file = (over: Partial<WalkedFile> = {}): WalkedFile => ({ path: 'a.png', abs: '/x/a.png', size: 10, mtimeMs: 1000 * SEC + 0.123456, ctimeMs: 1000 * SEC + 0.123456, ino: 42, ...over });

describe('StatCache', () => {
  it('vouches for a file whose stat is unchanged and old enough', () => {
    const dir = tempDir();
    const f = path.join(dir, 'cache');
    const c = StatCache.empty();
    c.set('a.png', file(), 'ab'.repeat(32));
    c.write(f, 2000 * SEC);
    const back = StatCache.read(f);
    expect(back.lookup(file())).toBe('ab'.repeat(32));
    for (const change of [{ size: 11 }, { mtimeMs: 1001 * SEC }, { mtimeMs: 1000 * SEC + 0.123457 }, { ctimeMs: 1 }, { ino: 7 }]) {
      expect(back.lookup(file(change))).toBeUndefined();
    }
  });

  it('does not trust racily clean entries (mtime within a clock tick of the cache write)', () => {
    const dir = tempDir();
    const f = path.join(dir, 'cache');
    const c = StatCache.empty();
    const fresh = file({ mtimeMs: 5000 * SEC + 50.5 });
    c.set('a.png', fresh, 'ab'.repeat(32));
    c.write(f, 5000 * SEC + 100);
    expect(StatCache.read(f).lookup(fresh)).toBeUndefined();
    expect(StatCache.read(f).needsWrite(5000 * SEC + 100)).toBe(false);
    expect(StatCache.read(f).needsWrite(5001 * SEC)).toBe(true);
    // whole-second mtimes (coarse filesystems) need a wider margin
    const coarse = file({ mtimeMs: 5000 * SEC });
    const c2 = StatCache.empty();
    c2.set('a.png', coarse, 'ab'.repeat(32));
    c2.write(f, 5001 * SEC);
    expect(StatCache.read(f).lookup(coarse)).toBeUndefined();
    c2.write(f, 5003 * SEC);
    expect(StatCache.read(f).lookup(coarse)).toBe('ab'.repeat(32));
  });

  it('keeps entries set after loading, drops those not retained, and finds paths out of walk order', () => {
    const dir = tempDir();
    const f = path.join(dir, 'cache');
    const c = StatCache.empty();
    for (const p of ['c.png', 'a.png', 'b.png']) c.set(p, file({ path: p }), p[0]!.repeat(64));
    c.retain(new Set(['a.png', 'c.png']));
    c.write(f, 2000 * SEC);
    const back = StatCache.read(f);
    expect(back.lookup(file({ path: 'c.png' }))).toBe('c'.repeat(64));
    expect(back.lookup(file({ path: 'a.png' }))).toBe('a'.repeat(64));
    expect(back.lookup(file({ path: 'b.png' }))).toBeUndefined();
    expect(back.needsWrite(3000 * SEC)).toBe(false);
  });

  it('treats a missing or damaged cache as empty', () => {
    const dir = tempDir();
    expect(StatCache.read(path.join(dir, 'nope')).lookup(file())).toBeUndefined();
    fs.writeFileSync(path.join(dir, 'bad'), 'garbage');
    expect(StatCache.read(path.join(dir, 'bad')).lookup(file())).toBeUndefined();
    fs.writeFileSync(path.join(dir, 'bad2'), Buffer.from([0x64, 0x32, 0x73, 0x63, 3, 0, 0, 0, 1, 2, 3]));
    expect(StatCache.read(path.join(dir, 'bad2')).lookup(file())).toBeUndefined();
  });
});
