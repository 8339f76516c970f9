/**
 * The clean-status stamp end to end: a clean `d2 status` leaves one, the next plain status is
 * answered from it before d2 loads (cli/prefetch.ts), with the same output as a full status,
 * and every kind of change since makes status run in full again and report it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyFixtureImages, git, lastJson, runD2, tempDir } from '../testing/index.js';
// The head start loads no TypeScript: test the build, in this process, as bin/d2 runs it.
import { headStart } from '../../dist/cli/prefetch.js';
import { status } from '../../dist/index.js';
import { cancelPrefetched } from '../../dist/workspace/index.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function fakeIO(cwd: string): { stdout: { text: string; write(s: string): boolean }; stderr: { write(s: string): boolean }; env: Record<string, string>; cwd: string } {
  const stdout = { text: '', write(s: string) { this.text += s; return true; } };
  return { stdout, stderr: { write: () => true }, env: {}, cwd };
}

/** A committed project with a clean status stamp. */
async function stamped(): Promise<string> {
  const dir = fs.realpathSync(tempDir('d2-stamp-'));
  expect((await runD2(['init', '-q'], { cwd: dir })).exitCode).toBe(0);
  copyFixtureImages(path.join(dir, 'images'), { perClass: 2, classes: 3 });
  expect((await runD2(['add', 'images', '--labels', 'dirname', '-q'], { cwd: dir })).exitCode).toBe(0);
  expect((await runD2(['commit', '-m', 'images', '-q'], { cwd: dir })).exitCode).toBe(0);
  // Past the racy window of everything just written: the first status settles the stat
  // cache, the second answers through the fast path and writes the stamp.
  await sleep(250);
  await runD2(['status', '-q'], { cwd: dir });
  await runD2(['status', '-q'], { cwd: dir });
  expect(fs.existsSync(path.join(dir, '.d2', 'state', 'status-clean'))).toBe(true);
  return dir;
}

async function answered(dir: string, argv = ['status', '--json']): Promise<string | undefined> {
  const io = fakeIO(path.join(dir, 'images'));
  const code = await headStart(argv, io, 1);
  await cancelPrefetched();
  return code === undefined ? undefined : io.stdout.text;
}

describe('clean-status stamp', { tags: ['slow'] }, () => {
  it('answers a plain status exactly as a full one would, in every output form', async () => {
    const dir = await stamped();
    const full = await status({ dir });
    expect(full.clean).toBe(true);
    const json = await answered(dir);
    expect(json).toBeDefined();
    expect(lastJson(json!)).toEqual({ type: 'result', command: 'status', formatVersion: 1, data: JSON.parse(JSON.stringify(full)) });
    const text = await answered(dir, ['status']);
    expect(text).toBe((await runD2(['status'], { cwd: dir })).stdout);
    expect(text).toContain('nothing to commit: 6 files match the last commit');
    expect(await answered(dir, ['-q', 'status'])).toBe(text); // quiet drops chatter, not the result
    // not for a status of named sources, nor from a d2 of another version
    expect(await answered(dir, ['status', 'images'])).toBeUndefined();
    const file = path.join(dir, '.d2', 'state', 'status-clean');
    const stamp = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...stamp, version: '0.0.0' }));
    expect(await answered(dir)).toBeUndefined();
  });

  const changes: Record<string, { change: (dir: string) => Promise<void>; then: (s: any) => void }> = {
    'the manifest edited': {
      change: async (dir) => fs.appendFileSync(path.join(dir, 'd2.yaml'), '# a comment\n'),
      then: (s) => expect(s.manifestChanged).toBe(true),
    },
    'a label edited in d2.sources': {
      change: async (dir) => {
        const f = path.join(dir, 'd2.sources', 'images.labels.csv');
        const lines = fs.readFileSync(f, 'utf8').split('\n');
        lines[1] = lines[1]!.replace(/,[^,]*$/, ',relabelled');
        fs.writeFileSync(f, lines.join('\n'));
      },
      then: (s) => expect(s.sources[0].staged.relabels).toHaveLength(1),
    },
    'a d2.lock written and not committed': {
      change: async (dir) => fs.writeFileSync(path.join(dir, 'd2.lock'), '# d2.lock\n'),
      then: (s) => expect(s).toMatchObject({ clean: false, d2Files: [{ path: 'd2.lock', change: 'added' }] }),
    },
    'a commit made with git': {
      change: async (dir) => { expect((await git(['commit', '-q', '--allow-empty', '-m', 'by git'], dir)).exitCode).toBe(0); },
      then: (s) => expect(s.clean).toBe(true),
    },
    'another branch checked out': {
      change: async (dir) => { expect((await git(['checkout', '-q', '-b', 'other'], dir)).exitCode).toBe(0); },
      then: (s) => expect(s.branch).toBe('other'),
    },
    'a file added to the source folder': {
      change: async (dir) => fs.writeFileSync(path.join(dir, 'images', fs.readdirSync(path.join(dir, 'images'))[0]!, 'new.png'), 'new'),
      then: (s) => expect(s.sources[0].notAdded.added).toHaveLength(1),
    },
    'a file rewritten in place': {
      change: async (dir) => {
        const sub = path.join(dir, 'images', fs.readdirSync(path.join(dir, 'images'))[0]!);
        const f = path.join(sub, fs.readdirSync(sub)[0]!);
        const st = fs.statSync(f);
        fs.writeFileSync(f, Buffer.alloc(st.size, 7));
        fs.utimesSync(f, st.atime, st.mtime);
      },
      then: (s) => expect(s.sources[0].notAdded.modified).toHaveLength(1),
    },
  };
  for (const [what, { change, then }] of Object.entries(changes)) {
    it(`runs in full after ${what}`, async () => {
      const dir = await stamped();
      const before = lastJson((await runD2(['status', '--json'], { cwd: dir })).stdout).data;
      await change(dir);
      expect(await answered(dir)).toBeUndefined();
      const after = lastJson((await runD2(['status', '--json'], { cwd: dir })).stdout).data;
      // the same as the library's full status (how many files it had to read aside)
      const full = JSON.parse(JSON.stringify(await status({ dir })));
      expect({ ...after, filesHashed: 0 }).toEqual({ ...full, filesHashed: 0 });
      expect(after).not.toEqual(before);
      then(after);
    });
  }
});
