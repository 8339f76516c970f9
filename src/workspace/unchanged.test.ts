import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeFiles } from '../testing/index.js';
import { StatCache } from './stat-cache.js';
import { unchangedSinceCache } from './unchanged.js';
import { walk } from './walk.js';

const HOUR_AGO = (Date.now() - 3600_000) / 1000;

/** Set every file's and folder's times an hour back (folders last), so nothing is racy. */
function backdate(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) backdate(p);
    else if (!e.isSymbolicLink()) fs.utimesSync(p, HOUR_AGO, HOUR_AGO);
  }
  fs.utimesSync(dir, HOUR_AGO, HOUR_AGO);
}

/** What `d2 add` leaves: a cache of the walk's files, with its folders and root. */
async function cacheOf(dir: string): Promise<StatCache> {
  const walked = await walk(dir, { projectRoot: dir });
  const cache = StatCache.empty();
  for (const f of walked.files) cache.set(f.path, f, '00'.repeat(32));
  cache.setFolders(walked.folders, dir);
  const file = path.join(tempDir(), 'stat-src');
  cache.write(file, Date.now(), 'ab'.repeat(32));
  return StatCache.read(file);
}

function tree(): string {
  const dir = path.join(tempDir(), 'src');
  writeFiles(dir, { 'a/b/1.png': 'one', 'a/b/2.png': 'two', 'a/3.png': 'three', 'c/4.png': 'four', '5.png': 'five' });
  backdate(dir);
  return dir;
}

describe('unchangedSinceCache (the no-op status fast path)', () => {
  it('vouches for a folder exactly as the cache saw it', async () => {
    const dir = tree();
    expect(await unchangedSinceCache(dir, await cacheOf(dir))).toBe(true);
  });

  const changes: Record<string, (dir: string) => void> = {
    'a file added two folders down': (d) => fs.writeFileSync(path.join(d, 'a/b/new.png'), 'new'),
    'a file removed two folders down': (d) => fs.rmSync(path.join(d, 'a/b/2.png')),
    'a file renamed within its folder': (d) => fs.renameSync(path.join(d, 'c/4.png'), path.join(d, 'c/9.png')),
    'an empty folder created': (d) => fs.mkdirSync(path.join(d, 'a/b/empty')),
    'content rewritten in place, same size': (d) => fs.writeFileSync(path.join(d, 'a/3.png'), 'THREE'),
    'content rewritten and its mtime put back': (d) => {
      fs.writeFileSync(path.join(d, '5.png'), 'FIVE!');
      fs.utimesSync(path.join(d, '5.png'), HOUR_AGO, HOUR_AGO); // ctime still moves
    },
    'a folder replaced by a file': (d) => {
      fs.rmSync(path.join(d, 'c'), { recursive: true });
      fs.writeFileSync(path.join(d, 'c'), 'now a file');
      fs.utimesSync(d, HOUR_AGO, HOUR_AGO);
    },
  };
  for (const [what, change] of Object.entries(changes)) {
    it(`sees ${what}`, async () => {
      const dir = tree();
      const cache = await cacheOf(dir);
      change(dir);
      expect(await unchangedSinceCache(dir, cache)).toBe(false);
    });
  }

  it('does not vouch for files changed within a clock tick of the cache write (racy)', async () => {
    const dir = path.join(tempDir(), 'src');
    writeFiles(dir, { 'a/1.png': 'one' });
    expect(await unchangedSinceCache(dir, await cacheOf(dir))).toBe(false);
  });

  it('has no answer for a tree with a link in it (its walk records no folders)', async () => {
    const dir = tree();
    fs.symlinkSync(path.join(dir, '5.png'), path.join(dir, 'c/link.png'));
    backdate(dir);
    const cache = await cacheOf(dir);
    expect(cache.folders).toBeUndefined();
    expect(await unchangedSinceCache(dir, cache)).toBe(false);
  });
});
