/** End-to-end: `d2 data` through the real bin/d2. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyFixtureImages, lastJson, runD2, tempDir } from '../testing/index.js';

describe('d2 data', { tags: ['slow'] }, () => {
  it('prints counts and preprocessing, caches, and exits 3 when the dataset is blocked', async () => {
    const dir = tempDir('d2-e2e-');
    await runD2(['init'], { cwd: dir });
    copyFixtureImages(path.join(dir, 'img'), { perClass: 6, classes: 3 });
    await runD2(['add', 'img', '--labels', 'dirname'], { cwd: dir });
    const text = await runD2(['data'], { cwd: dir });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^dataset [0-9a-f]{7} \(working tree\): 18 items in 3 classes\n/);
    expect(text.stdout).toMatch(/\n {2}total +\d+ +\d+ +\d+\n/);
    expect(text.stdout).toContain('preprocessing: resize 28×28 (cover), channels 1');
    expect(text.stderr).toContain('preprocessing…');
    const json = lastJson((await runD2(['data', '--json'], { cwd: dir })).stdout);
    expect(json).toMatchObject({ type: 'result', command: 'data', formatVersion: 1, data: { blocked: false, classes: expect.any(Array), preprocess: { stats: { reused: true } } } });
    const total = ['train', 'validation', 'test', 'modelTest'].reduce((n, k) => n + json.data.counts[k].total, 0);
    expect(total).toBe(18);

    // a model test naming no item blocks the build: exit 3
    fs.writeFileSync(path.join(dir, 'tests.csv'), 'path,label\nimg/nope.png,bag\n');
    fs.writeFileSync(path.join(dir, 'd2.yaml'), fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8').replace('version: 1', 'version: 1\ndataset:\n  modelTests: tests.csv'));
    const blocked = await runD2(['data', '--no-preprocess'], { cwd: dir });
    expect(blocked.exitCode).toBe(3);
    expect(blocked.stdout).toContain("error: model test 'img/nope.png' (line 2) is not an item of an included source");
  });
});
