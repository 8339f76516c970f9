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

  it('keeps the folders and root of a plain walk, trusting a folder only when it was not racy', () => {
    const dir = tempDir();
    const f = path.join(dir, 'cache');
    const c = StatCache.empty();
    c.set('a/x.png', file({ path: 'a/x.png' }), 'ab'.repeat(32));
    const old = { mtimeMs: 1000 * SEC + 0.5, ctimeMs: 1000 * SEC + 0.5, ino: 7 };
    const fresh = { mtimeMs: 2000 * SEC - 50, ctimeMs: 2000 * SEC - 50, ino: 8 };
    expect(c.wantsFolders([{ path: '', ...old }])).toBe(true);
    c.setFolders([{ path: '', ...old }, { path: 'a', ...fresh }], '/data/src');
    c.write(f, 2000 * SEC, 'cd'.repeat(32));
    const back = StatCache.read(f);
    expect(back.listing).toBe('cd'.repeat(32));
    expect(back.root).toBe('/data/src');
    expect(back.folders?.paths).toEqual(['', 'a']);
    expect(back.matchesFolder(0, old)).toBe(true);
    expect(back.matchesFolder(0, { ...old, ino: 9 })).toBe(false);
    expect(back.matchesFolder(0, { ...old, ctimeMs: old.ctimeMs + 1 })).toBe(false);
    expect(back.matchesFolder(1, fresh)).toBe(false); // racy: changed within a tick of the write
    expect(back.needsWrite(2001 * SEC)).toBe(true); // ... until rewritten later
    expect(back.wantsFolders([{ path: '', ...old }])).toBe(false);
    // no files, only folders (an empty tree)
    const none = StatCache.empty();
    none.setFolders([{ path: '', ...old }, { path: 'a', ...old }], '/data/empty');
    none.write(path.join(dir, 'none'), 2000 * SEC, 'cd'.repeat(32));
    const noneBack = StatCache.read(path.join(dir, 'none'));
    expect([noneBack.size, noneBack.paths, noneBack.folders?.paths, noneBack.root]).toEqual([0, [], ['', 'a'], '/data/empty']);
    // a names section missing a separator is damage: nothing is read from it
    const bytes = fs.readFileSync(f);
    const sep = bytes.indexOf('a/x.png\0', 0, 'utf8') + 'a/x.png'.length;
    bytes[sep] = 0x2f;
    fs.writeFileSync(path.join(dir, 'damaged'), bytes);
    expect(StatCache.read(path.join(dir, 'damaged')).size).toBe(0);
    // a write without setFolders (a walk that was not plain) drops them
    back.write(f, 2001 * SEC, 'cd'.repeat(32));
    expect(StatCache.read(f).folders).toBeUndefined();
    expect(StatCache.read(f).root).toBeUndefined();
  });

  it('matches stats from parallel-stat against every entry, refusing racy ones', () => {
    const dir = tempDir();
    const f = path.join(dir, 'cache');
    const c = StatCache.empty();
    const a = file({ path: 'a.png' });
    const b = file({ path: 'b.png', ino: 43 });
    c.set('a.png', a, 'aa'.repeat(32));
    c.set('b.png', b, 'bb'.repeat(32));
    c.write(f, 2000 * SEC);
    const back = StatCache.read(f);
    const row = (x: WalkedFile, kind = 1): number[] => [x.size, x.mtimeMs, x.ctimeMs, x.ino, kind];
    expect(back.matchesStats(Float64Array.from([...row(a), ...row(b)]), 5, 1)).toBe(true);
    expect(back.matchesStats(Float64Array.from([...row(a), ...row({ ...b, size: 11 })]), 5, 1)).toBe(false);
    expect(back.matchesStats(Float64Array.from([...row(a), ...row(b, 0)]), 5, 1)).toBe(false); // vanished
    expect(back.matchesStats(Float64Array.from(row(a)), 5, 1)).toBe(false); // count differs
    back.write(f, a.mtimeMs + 10);
    expect(StatCache.read(f).matchesStats(Float64Array.from([...row(a), ...row(b)]), 5, 1)).toBe(false);
  });

  it('treats a missing or damaged cache as empty', () => {
    const dir = tempDir();
    expect(StatCache.read(path.join(dir, 'nope')).lookup(file())).toBeUndefined();
    fs.writeFileSync(path.join(dir, 'bad'), 'garbage');
    expect(StatCache.read(path.join(dir, 'bad')).lookup(file())).toBeUndefined();
    fs.writeFileSync(path.join(dir, 'bad2'), Buffer.from([0x64, 0x32, 0x73, 0x63, 3, 0, 0, 0, 1, 2, 3]));
    expect(StatCache.read(path.join(dir, 'bad2')).lookup(file())).toBeUndefined();
    // a cache of an older format is ignored (files are hashed once more), never misread
    const c = StatCache.empty();
    c.set('a.png', file(), 'ab'.repeat(32));
    c.write(path.join(dir, 'v5'), 2000 * SEC);
    const bytes = fs.readFileSync(path.join(dir, 'v5'));
    bytes.writeUInt32LE(5, 4);
    fs.writeFileSync(path.join(dir, 'v5'), bytes);
    expect(StatCache.read(path.join(dir, 'v5')).size).toBe(0);
    // a root length running past the names is damage too
    bytes.writeUInt32LE(6, 4);
    bytes.writeUInt32LE(bytes.length, 56);
    fs.writeFileSync(path.join(dir, 'v6'), bytes);
    expect(StatCache.read(path.join(dir, 'v6')).size).toBe(0);
  });
});
