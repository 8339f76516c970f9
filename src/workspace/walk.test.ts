import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeFiles } from '../testing/index.js';
import { walk } from './walk.js';

describe('walk', () => {
  it('lists files sorted, skipping and counting hidden entries', async () => {
    const root = tempDir();
    writeFiles(root, { 'data/b/2.png': 'x', 'data/a/1.png': 'yy', 'data/.DS_Store': '', 'data/.hidden/z.png': 'z' });
    const r = await walk(path.join(root, 'data'), { projectRoot: root });
    expect(r.files.map((f) => [f.path, f.size])).toEqual([['a/1.png', 2], ['b/2.png', 1]]);
    expect(r.hiddenSkipped).toBe(2);
    expect(r.problems).toEqual([]);
  });

  it('records every folder of a plain tree, stat\'ed before it was read, and none once a link appears', async () => {
    const root = tempDir();
    writeFiles(root, { 'data/a/b/1.png': 'x', 'data/c/2.png': 'y', 'data/.hidden/3.png': 'z' });
    const data = path.join(root, 'data');
    const r = await walk(data, { projectRoot: root });
    expect(r.folders?.map((f) => f.path)).toEqual(['', 'a', 'a/b', 'c']);
    for (const f of r.folders!) {
      const st = fs.statSync(path.join(data, f.path));
      expect([f.mtimeMs, f.ctimeMs, f.ino]).toEqual([st.mtimeMs, st.ctimeMs, st.ino]);
    }
    fs.symlinkSync(path.join(data, 'c', '2.png'), path.join(data, 'a', 'link.png'));
    const linked = await walk(data, { projectRoot: root });
    expect(linked.files.map((f) => f.path)).toContain('a/link.png');
    expect(linked.folders).toBeUndefined();
  });

  it('reports a symlink loop instead of following it forever', async () => {
    const root = tempDir();
    writeFiles(root, { 'data/a/1.png': 'x' });
    fs.symlinkSync('..', path.join(root, 'data/a/up'));
    fs.symlinkSync('self', path.join(root, 'data/self'));
    const r = await walk(path.join(root, 'data'), { projectRoot: root });
    expect(r.files.map((f) => f.path)).toEqual(['a/1.png']);
    expect(r.problems.map((p) => [p.kind, p.path, p.severity])).toEqual([
      ['symlink-loop', 'a/up', 'warning'],
      ['symlink-loop', 'self', 'warning'],
    ]);
    expect(r.problems[0]!.message).toMatch(/symbolic link loop: 'a\/up' leads back to its ancestor/);
  });

  it('follows links inside the project, refuses links leading outside unless external', async () => {
    const root = tempDir();
    const outside = tempDir();
    writeFiles(root, { 'shared/s.png': 's', 'data/a.png': 'a' });
    writeFiles(outside, { 'o.png': 'o' });
    fs.symlinkSync(path.join(root, 'shared'), path.join(root, 'data/linked'));
    fs.symlinkSync(path.join(outside, 'o.png'), path.join(root, 'data/out.png'));
    const r = await walk(path.join(root, 'data'), { projectRoot: root });
    expect(r.files.map((f) => f.path)).toEqual(['a.png', 'linked/s.png']);
    expect(r.problems).toMatchObject([{ kind: 'outside-project', path: 'out.png', severity: 'error' }]);
    const ext = await walk(path.join(root, 'data'), { projectRoot: root, external: true });
    expect(ext.files.map((f) => f.path)).toEqual(['a.png', 'linked/s.png', 'out.png']);
  });

  it('reports broken links as errors and sockets and FIFOs as skipped', async () => {
    const root = tempDir();
    writeFiles(root, { 'data/ok.png': 'x' });
    fs.symlinkSync('missing.png', path.join(root, 'data/broken.png'));
    execFileSync('mkfifo', [path.join(root, 'data/pipe')]);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(root, 'data/sock'), resolve));
    try {
      const r = await walk(path.join(root, 'data'), { projectRoot: root });
      expect(r.files.map((f) => f.path)).toEqual(['ok.png']);
      expect(r.problems.map((p) => [p.kind, p.path, p.severity])).toEqual([
        ['broken-symlink', 'broken.png', 'error'],
        ['special-file', 'pipe', 'warning'],
        ['special-file', 'sock', 'warning'],
      ]);
      expect(r.problems[1]!.message).toBe("'pipe' is a FIFO (skipped)");
      expect(r.problems[2]!.message).toBe("'sock' is a socket (skipped)");
    } finally {
      server.close();
    }
  });

  it('stops when aborted', async () => {
    const root = tempDir();
    writeFiles(root, { 'data/a.png': 'x' });
    const ac = new AbortController();
    ac.abort();
    await expect(walk(path.join(root, 'data'), { projectRoot: root, signal: ac.signal })).rejects.toThrow();
  });
});
