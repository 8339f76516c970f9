/**
 * `label` through the library on a small project (no model needed): each decision is a
 * one-line change of a committed file, every problem is reported at once before anything is
 * written, and model tests are protected.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEPT_FILE, parseKeptCsv } from '../manifest/index.js';
import { copyFixtureImages, tempDir } from '../testing/index.js';
import { add } from './add.js';
import { init } from './init.js';
import { label } from './label.js';

async function project(): Promise<{ dir: string; items: string[] }> {
  const dir = path.join(tempDir(), 'p');
  await init({ dir });
  const items = copyFixtureImages(path.join(dir, 'images'), { perClass: 3, classes: 3 });
  await add({ dir, paths: ['images'], labels: 'dirname' });
  return { dir, items };
}

const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');

function changedLines(before: string, after: string): [string, string][] {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b.length).toBe(a.length);
  return a.flatMap((l, i) => (l === b[i] ? [] : [[l, b[i]!] as [string, string]]));
}

describe('label', () => {
  it('relabels with a one-line change, accepting an item as review prints it, as a file path, or as a path in its source', async () => {
    const { dir, items } = await project();
    const [a, b, c] = [items[0]!, items[1]!, items[2]!]; // three items of the first class
    const other = items.at(-1)!.split('/')[0]!;
    const before = read(dir, 'd2.sources/images.labels.csv');
    const r = await label({ dir, paths: [`images/${a}`], as: other });
    expect(r).toEqual({ relabelled: [{ path: `images/${a}`, from: a.split('/')[0], to: other, set: expect.any(String) }], kept: [], modelTests: [], unchanged: [], warnings: expect.any(Array), files: ['d2.sources/images.labels.csv'] });
    expect(changedLines(before, read(dir, 'd2.sources/images.labels.csv'))).toEqual([[`${a},${a.split('/')[0]}`, `${a},${other}`]]);
    // a file path relative to `dir`, and a path inside the source
    const r2 = await label({ dir: path.join(dir, 'images'), paths: [b, path.join('..', 'images', c)], as: other });
    expect(r2.relabelled.map((x) => x.path)).toEqual([`images/${b}`, `images/${c}`]);
    // relabelling to the same label changes nothing
    const same = await label({ dir, paths: [`images/${a}`], as: other });
    expect(same).toMatchObject({ relabelled: [], unchanged: [{ path: `images/${a}`, reason: `already labelled '${other}'` }], files: [] });
  });

  it('reports every unknown item and class at once, and writes nothing', async () => {
    const { dir, items } = await project();
    const before = read(dir, 'd2.sources/images.labels.csv');
    await expect(label({ dir, paths: ['images/nope.png', 'nope/2.png', `images/${items[0]}`], as: 'cat' })).rejects.toMatchObject({
      code: 'PathNotFound', data: { problems: ["'images/nope.png' is not an item of the dataset", "'nope/2.png' is not an item of the dataset"] },
    });
    await expect(label({ dir, paths: [`images/${items[0]}`], as: items[0]!.split('/')[0]!.slice(0, -1) })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('did you mean') });
    await expect(label({ dir, paths: [`images/${items[0]}`] })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'no decision given' });
    await expect(label({ dir, paths: ['x'], keep: true, as: 'y' })).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(read(dir, 'd2.sources/images.labels.csv')).toBe(before);
    expect(fs.existsSync(path.join(dir, KEPT_FILE))).toBe(false);
  });

  it('keeps items in d2.review/kept.csv (evidence: content, label, suggestion), one row each', async () => {
    const { dir, items } = await project();
    const r = await label({ dir, paths: [`images/${items[4]}`, `images/${items[1]}`], keep: true });
    expect(r.kept.map((k) => k.path)).toEqual([`images/${items[4]}`, `images/${items[1]}`]);
    expect(r.warnings[0]).toMatch(/not among the suspects of the last review/); // no review was run
    const { kept, issues } = parseKeptCsv(read(dir, KEPT_FILE));
    expect(issues).toEqual([]);
    expect(kept.map((k) => [k.path, k.label, k.suggested])).toEqual([
      [`images/${items[1]}`, items[1]!.split('/')[0], null],
      [`images/${items[4]}`, items[4]!.split('/')[0], null],
    ]);
    expect(kept.every((k) => /^[0-9a-f]{64}$/.test(k.item))).toBe(true);
    // keeping one again changes nothing in the file
    expect((await label({ dir, paths: [`images/${items[1]}`], keep: true })).files).toEqual([]);
  });

  it('makes model tests (declaring the file in d2.yaml), then protects them unless forced', async () => {
    const { dir, items } = await project();
    const item = `images/${items[0]}`;
    const made = await label({ dir, paths: [item], asModelTest: true });
    expect(made.files).toEqual(['d2.yaml', 'model-tests.csv']);
    expect(read(dir, 'd2.yaml')).toMatch(/\ndataset:\n {2}modelTests: model-tests\.csv\n/);
    const cls = items[0]!.split('/')[0]!;
    expect(read(dir, 'model-tests.csv')).toBe(`path,label\n${item},${cls}\n`);
    expect((await label({ dir, paths: [item], asModelTest: true })).unchanged).toEqual([{ path: item, reason: 'already a model test' }]);
    const other = items.at(-1)!.split('/')[0]!;
    await expect(label({ dir, paths: [item], as: other })).rejects.toMatchObject({ code: 'LabelProtected', data: { items: [item] } });
    const forced = await label({ dir, paths: [item], as: other, force: true });
    expect(forced).toMatchObject({ relabelled: [{ path: item, from: cls, to: other, set: 'modelTest' }], files: ['model-tests.csv'] });
    expect(read(dir, 'model-tests.csv')).toBe(`path,label\n${item},${other}\n`);
  });

  it('applies a decisions CSV, refusing two different decisions for one item', async () => {
    const { dir, items } = await project();
    const other = items.at(-1)!.split('/')[0]!;
    fs.writeFileSync(path.join(dir, 'r.csv'), `path,label,decision,predicted\nimages/${items[0]},${other},,x\nimages/${items[1]},${items[1]!.split('/')[0]},keep,x\nimages/${items[2]},${items[2]!.split('/')[0]},,x\n`);
    const r = await label({ dir, from: 'r.csv' });
    expect(r.relabelled.map((x) => x.path)).toEqual([`images/${items[0]}`]);
    expect(r.kept.map((x) => x.path)).toEqual([`images/${items[1]}`]);
    expect(r.unchanged.map((x) => x.path)).toEqual([`images/${items[2]}`]);
    fs.writeFileSync(path.join(dir, 'twice.csv'), `path,label,decision\nimages/${items[3]},${other},\n${items[3]},${other},keep\n`);
    await expect(label({ dir, from: 'twice.csv' })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(/^twice\.csv:3: .* has two decisions/) });
  });
});
