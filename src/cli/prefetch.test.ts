import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeFiles } from '../testing/index.js';
// The prefetch starts a worker thread, which runs compiled JavaScript: test the build.
import { commandAndDir, headStart, plainStatusArgs } from '../../dist/cli/prefetch.js';
import { cancelPrefetched, StatCache, takePrefetched, walk } from '../../dist/workspace/index.js';

const HOUR_AGO = (Date.now() - 3600_000) / 1000;

/** What headStart would print, and where it runs from. */
function fakeIO(cwd: string): { stdout: { write(s: string): boolean; text: string }; stderr: { write(s: string): boolean }; env: Record<string, string>; cwd: string } {
  const stdout = { text: '', write(s: string) { this.text += s; return true; } };
  return { stdout, stderr: { write: () => true }, env: {}, cwd };
}

/** The head start's prefetch alone (these projects have no clean-status stamp). */
async function prefetchFor(argv: string[], cwd: string, minEntries?: number): Promise<void> {
  expect(await headStart(argv, fakeIO(cwd), minEntries)).toBeUndefined();
}

/** A project whose source folder `src` has a stat cache as `d2 add` writes it, nothing racy. */
async function project(): Promise<{ root: string; src: string; cacheFile: string }> {
  const root = fs.realpathSync(tempDir());
  writeFiles(root, { 'd2.yaml': 'sources: {}\n', 'src/a/1.png': 'one', 'src/2.png': 'two' });
  const src = path.join(root, 'src');
  for (const p of ['src/a/1.png', 'src/2.png', 'src/a', 'src']) fs.utimesSync(path.join(root, p), HOUR_AGO, HOUR_AGO);
  const walked = await walk(src, { projectRoot: root });
  const cache = StatCache.empty();
  for (const f of walked.files) cache.set(f.path, f, '00'.repeat(32));
  cache.setFolders(walked.folders, src);
  const cacheFile = path.join(root, '.d2', 'state', 'stat-src');
  fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
  cache.write(cacheFile, Date.now(), 'ab'.repeat(32));
  return { root, src, cacheFile };
}

describe('the launcher head start of d2 status', () => {
  it('finds the command and the folder the way the global options give them', () => {
    const cwd = path.resolve('/w');
    expect(commandAndDir(['status'], cwd)).toEqual({ command: 'status', dir: cwd });
    expect(commandAndDir(['-C', 'p', '--json', 'status', 'src'], cwd)).toEqual({ command: 'status', dir: path.join(cwd, 'p') });
    expect(commandAndDir(['--dir=/x', '--lock-timeout', '5', 'status'], cwd)).toEqual({ command: 'status', dir: path.resolve('/x') });
    expect(commandAndDir(['-C/x', 'add', 'status'], cwd)).toEqual({ command: 'add', dir: path.resolve('/x') });
    expect(commandAndDir(['--json'], cwd)).toEqual({ dir: cwd });
  });

  it('answers alone only a plain status: global flags and --limit, no sources, nothing unknown', () => {
    const cwd = path.resolve('/w');
    expect(plainStatusArgs(['status'], cwd)).toEqual({ dir: cwd, json: false, quiet: false, limit: 10 });
    expect(plainStatusArgs(['-C', 'p', '--json', 'status', '--limit', '3', '-q'], cwd)).toEqual({ dir: path.join(cwd, 'p'), json: true, quiet: true, limit: 3 });
    expect(plainStatusArgs(['status', '--limit=0', '--debug', '-v'], cwd)?.limit).toBe(0);
    for (const argv of [['status', 'src'], ['status', '--help'], ['status', '-h'], ['--version', 'status'], ['status', '--limit', 'x'], ['--limit', '3', 'status'], ['status', 'status'], ['--lock-timeout', '5', 'status'], ['status', '--frobnicate'], ['-C']]) {
      expect(plainStatusArgs(argv, cwd)).toBeUndefined();
    }
  });

  it('begins each cached folder\'s check for status, from any folder of the project, and for nothing else', async () => {
    const { root, src, cacheFile } = await project();
    await prefetchFor(['--json', 'status'], path.join(root, 'src', 'a'), 1);
    const taken = takePrefetched(cacheFile, src);
    expect(taken?.cache.size).toBe(2);
    expect(await taken!.check.result()).toBe(true);
    expect(takePrefetched(cacheFile, src)).toBeUndefined(); // taken once

    await prefetchFor(['add', 'src'], root, 1);
    expect(takePrefetched(cacheFile, src)).toBeUndefined();

    // a check of another folder than the manifest's is never used
    await prefetchFor(['-C', root, 'status'], '/', 1);
    expect(takePrefetched(cacheFile, path.join(root, 'elsewhere'))).toBeUndefined();

    // what changed after the cache was written is seen
    fs.writeFileSync(path.join(src, 'a', 'new.png'), 'new');
    await prefetchFor(['status'], root, 1);
    expect(await takePrefetched(cacheFile, src)!.check.result()).toBe(false);

    // below the size worth a helper, or outside a project: nothing begins, nothing fails
    await prefetchFor(['status'], root);
    await prefetchFor(['status'], path.parse(root).root, 1);
    expect(takePrefetched(cacheFile, src)).toBeUndefined();
    await prefetchFor(['status'], root, 1);
    await cancelPrefetched();
    expect(takePrefetched(cacheFile, src)).toBeUndefined();
  });
});
