/**
 * Dataset resolution and preprocessing through the api: the cache does exactly the work a
 * change needs, cached and fresh pixels are equal, and bad items are reported, never dropped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyFixtureImages, FIXTURE_IMAGES, tempDir, writeFiles } from '../testing/index.js';
import { add } from './add.js';
import { data } from './data.js';
import { prepareData } from '../project/prepared.js';
import { init } from './init.js';
import { ITEM_SETS, readPackTrailer, readPackedItem } from '../project/packing.js';
import { openProject } from '../project/project.js';

async function project(perClass = 10, classes = 3): Promise<{ dir: string; files: string[] }> {
  const dir = path.join(tempDir(), 'p');
  await init({ dir });
  const files = copyFixtureImages(path.join(dir, 'img'), { perClass, classes });
  await add({ dir, paths: ['img'], labels: 'dirname' });
  return { dir, files };
}

function setManifest(dir: string, extra: string): void {
  const file = path.join(dir, 'd2.yaml');
  fs.writeFileSync(file, `${fs.readFileSync(file, 'utf8')}${extra}`);
}

const RESIZE = '\npreprocess:\n  image:\n    - resize: { width: 16, height: 16 }\n    - channels: 1\n';

describe('d2 data', () => {
  let fx: { dir: string; files: string[] };
  beforeAll(async () => {
    fx = await project();
  });

  it('resolves counts per split and class and derives the preprocessing from the data', async () => {
    const r = await data({ dir: fx.dir, workers: 0 });
    expect(r.classes).toHaveLength(3);
    expect(r.counts.train.total + r.counts.validation.total + r.counts.test.total).toBe(30);
    expect(r.blocked).toBe(false);
    expect(r.preprocess).toMatchObject({ derived: true, shape: [28, 28, 1], stats: { computed: 30, copied: 0, reused: false } });
    expect(r.preprocess!.steps).toEqual([{ resize: { width: 28, height: 28, fit: 'cover', kernel: 'bilinear', background: 0 } }, { channels: 1 }]);
    // nothing changed: no work at all
    const again = await data({ dir: fx.dir, workers: 0 });
    expect(again.dataset).toBe(r.dataset);
    expect(again.preprocess!.stats).toMatchObject({ computed: 0, copied: 0, reused: true });
  });

  it('stores pixels equal to preprocessing the raw item directly (cached path = uncached path)', async () => {
    const p = openProject(fx.dir);
    const prepared = await prepareData(p, { workers: 0 });
    const { preprocessImage } = await import('../preprocess/index.js');
    for (const set of ITEM_SETS) {
      const s = prepared.packing!.record.sets[set];
      if (!s.pack) continue;
      const trailer = readPackTrailer(p.store, s.pack);
      for (let i = 0; i < Math.min(5, s.count); i++) {
        const oid = trailer.items[i]!;
        const direct = await preprocessImage(p.store.read(oid), { steps: prepared.packing!.record.steps, maxPixels: 50_000_000 });
        expect(Buffer.from(readPackedItem(p.store, s.pack, trailer, i)).equals(Buffer.from(direct.pixels))).toBe(true);
      }
    }
  });

  it('recomputes only what a change affects', async () => {
    const { dir } = await project(10, 3);
    setManifest(dir, RESIZE);
    const first = await data({ dir, workers: 0 });
    expect(first.preprocess!.stats.computed).toBe(30);
    expect(first.preprocess!.shape).toEqual([16, 16, 1]);

    // a relabel keeps every set's items: the packs are reused, no image work
    const labels = path.join(dir, 'd2.sources', 'img.labels.csv');
    const lines = fs.readFileSync(labels, 'utf8').split('\n');
    lines[1] = lines[1]!.replace(/,[^,]+$/, ',relabelled');
    fs.writeFileSync(labels, lines.join('\n'));
    const relabelled = await data({ dir, workers: 0 });
    expect(relabelled.dataset).not.toBe(first.dataset);
    expect(relabelled.preprocess!.stats).toMatchObject({ computed: 0, copied: 0, reused: false });
    expect(relabelled.preprocess!.packs).toEqual(first.preprocess!.packs);

    // a change of normalisation needs no image work either
    fs.writeFileSync(path.join(dir, 'd2.yaml'), fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8').replace('    - channels: 1\n', '    - channels: 1\n    - normalize: { mean: 0.5, std: 0.5 }\n'));
    expect((await data({ dir, workers: 0 })).preprocess!.stats.computed).toBe(0);

    // new items: only they are preprocessed
    copyFixtureImages(path.join(dir, 'img'), { perClass: 13, classes: 3 });
    await add({ dir, paths: ['img'] });
    const grown = await data({ dir, workers: 0 });
    expect(grown.preprocess!.stats.computed).toBe(9);
    const reusedItems = ITEM_SETS.filter((set) => grown.preprocess!.packs[set] !== null && grown.preprocess!.packs[set] === relabelled.preprocess!.packs[set])
      .reduce((n, set) => n + grown.counts[set].total, 0);
    expect(grown.preprocess!.stats.copied + reusedItems).toBe(30);

    // a pixel step changed: everything again
    fs.writeFileSync(path.join(dir, 'd2.yaml'), fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8').replace('width: 16, height: 16', 'width: 12, height: 12'));
    const resized = await data({ dir, workers: 0 });
    expect(resized.preprocess!.stats.computed).toBe(39);
    expect(resized.preprocess!.shape).toEqual([12, 12, 1]);
  });

  it('blocks on leakage between a pinned test source and the rest, and reports label conflicts', async () => {
    const { dir, files } = await project(4, 2);
    // an 'official' test source holding copies of all 8 images: one relabelled
    const copies: Record<string, Buffer> = {};
    files.forEach((f, i) => { copies[`official/${i === 0 ? 'other' : f.split('/')[0]}/copy-${i}.png`] = fs.readFileSync(path.join(dir, 'img', f)); });
    writeFiles(dir, copies);
    await add({ dir, paths: ['official'], labels: 'dirname' });
    fs.writeFileSync(path.join(dir, 'd2.yaml'), fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8').replace('path: official\n    labels: dirname', 'path: official\n    labels: dirname\n    split: test'));
    const r = await data({ dir, preprocess: false });
    const resolved = await prepareData(openProject(dir), { preprocess: false });
    const notInTest = resolved.resolved.items.filter((i) => i.source === 'img' && i.set !== 'test').length;
    expect(notInTest).toBeGreaterThan(0); // 8 items all hashed to test has odds of 1e-8
    expect(r.problems.filter((p) => p.kind === 'leakage')).toHaveLength(notInTest);
    expect(r.blocked).toBe(true);
    expect(r.problems.filter((p) => p.kind === 'label-conflict')).toHaveLength(1);
    // allowed explicitly: a warning, not a block
    fs.writeFileSync(path.join(dir, 'd2.yaml'), fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8').replace('version: 1', 'version: 1\ndataset:\n  allowLeakage: true'));
    expect((await data({ dir, preprocess: false })).blocked).toBe(false);
  });
});

describe('bad items', () => {
  const png = fs.readFileSync(path.join(FIXTURE_IMAGES, 'bag', fs.readdirSync(path.join(FIXTURE_IMAGES, 'bag'))[0]!));
  const bomb = Buffer.from(png);
  bomb.writeUInt32BE(100_000, 16); // IHDR width
  bomb.writeUInt32BE(100_000, 20); // IHDR height
  const bad: Record<string, Buffer> = {
    'bad/empty.png': Buffer.alloc(0),
    'bad/truncated.png': png.subarray(0, Math.floor(png.length / 2)),
    'bad/text.png': Buffer.from('this is not an image\n'),
    'bad/bomb.png': bomb,
  };

  it('fail the build with every bad item named (source path, item hash, reason), or are skipped and listed', async () => {
    const { dir } = await project(3, 2);
    writeFiles(dir, Object.fromEntries(Object.entries(bad).map(([k, v]) => [`img/${k}`, v])));
    await add({ dir, paths: ['img'] });
    setManifest(dir, RESIZE);
    type Failure = { code: string; message: string; data: { items: { path: string; reason: string }[] }; hint: string };
    const err = (await data({ dir, workers: 0 }).then(() => undefined, (e: unknown) => e)) as Failure;
    expect(err.code).toBe('ItemInvalid');
    expect(err.message).toMatch(/^source 'img': 'bad\/[a-z]+\.png' \(item [0-9a-f]{12}\): .* \(and 3 more bad items\)$/);
    expect(Object.fromEntries(err.data.items.map((i) => [i.path, i.reason]))).toEqual({
      'bad/empty.png': 'empty', 'bad/truncated.png': 'truncated', 'bad/text.png': 'not-an-image', 'bad/bomb.png': 'too-many-pixels',
    });
    expect(err.hint).toMatch(/onBadItem: skip/);

    fs.writeFileSync(path.join(dir, 'd2.yaml'), fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8').replace('version: 1', 'version: 1\ndataset:\n  onBadItem: skip'));
    const r = await data({ dir, workers: 0 });
    expect(r.preprocess!.skipped.map((s) => s.path).sort()).toEqual(Object.keys(bad).sort());
    const packed = ITEM_SETS.reduce((n, s) => n + (r.counts[s].total), 0);
    expect(packed - r.preprocess!.skipped.length).toBe(6);
  });
});
