import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeFiles } from '../testing/index.js';
// Worker threads run compiled JavaScript: test the build (npm test builds first).
import { KIND_DIR, KIND_FILE, KIND_MISSING, PARALLEL_MIN, STRIDE, startStatHelper, statAll } from '../../dist/workspace/parallel-stat.js';

describe('statAll', () => {
  it('gives every path its own stat, on two threads for long lists, with or without a helper started early', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'a.bin': 'a', 'bb.bin': 'bb', 'sub/c.bin': 'ccc' });
    const base = [path.join(dir, 'a.bin'), path.join(dir, 'bb.bin'), path.join(dir, 'sub'), path.join(dir, 'gone.bin')];
    const paths = Array.from({ length: PARALLEL_MIN + 3001 }, (_, i) => base[i % base.length]!);
    for (const helper of [undefined, startStatHelper()]) {
      const out = await statAll(paths, helper);
      for (let i = 0; i < paths.length; i++) {
        const k = i * STRIDE;
        const p = paths[i]!;
        if (p.endsWith('gone.bin')) {
          expect(out[k + 4]).toBe(KIND_MISSING);
          continue;
        }
        const st = fs.lstatSync(p);
        expect([out[k], out[k + 1], out[k + 2], out[k + 3], out[k + 4]]).toEqual([st.size, st.mtimeMs, st.ctimeMs, st.ino, st.isDirectory() ? KIND_DIR : KIND_FILE]);
      }
    }
  });

  it('does the work alone when the helper cannot start', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'a.bin': 'a' });
    const paths = Array.from({ length: PARALLEL_MIN + 10 }, () => path.join(dir, 'a.bin'));
    const worker = new (await import('node:worker_threads')).Worker('throw new Error("no")', { eval: true });
    worker.on('error', () => undefined);
    const out = await statAll(paths, { worker, finished: Promise.resolve(), release: async () => undefined });
    for (let i = 0; i < paths.length; i++) expect(out[i * STRIDE + 4]).toBe(KIND_FILE);
  });
});
