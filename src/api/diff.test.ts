/**
 * `diff` through the library on a table source across a change of table encoding: the old
 * model is run on the new rows with the encoding it was trained with (checked against a
 * Predictor of that model), the new side is built with `build: true`, and a second diff reads
 * the cached predictions.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePredictionChunk } from '../core/predictions.js';
import { tempDir } from '../testing/index.js';
import { add } from './add.js';
import { build } from './build.js';
import { commit } from './commit.js';
import { diff } from './diff.js';
import { init } from './init.js';
import { loadModel } from './predict.js';
import { openProject } from '../project/project.js';

const ENV = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid' };

// 'high' when size + 10·(city = paris) > 60.
const row = (i: number) => {
  const size = 10 + ((i * 37) % 100);
  const city = ['paris', 'lyon', 'nice'][i % 3]!;
  return [`h${i}`, String(size), city, size + (city === 'paris' ? 10 : 0) > 60 ? 'high' : 'low'];
};
const csv = (rows: string[][]) => `id,size,city,band\n${rows.map((r) => r.join(',')).join('\n')}\n`;

describe('diff (tables)', () => {
  it('runs the old model on new rows with its own encoding, builds the new side, and caches', async () => {
    // Given A: 150 rows, standard scaling, built and committed
    const dir = path.join(tempDir(), 'p');
    await init({ dir });
    fs.writeFileSync(path.join(dir, 'houses.csv'), csv(Array.from({ length: 150 }, (_, i) => row(i))));
    await add({ dir, paths: ['houses.csv'], labelColumn: 'band', idColumn: 'id' });
    const yaml = path.join(dir, 'd2.yaml');
    fs.appendFileSync(yaml, '\nmodel:\n  preset: fast\n  seed: 5\n');
    await build({ dir, engine: 'cpu', workers: 0 });
    await commit({ dir, message: 'A', env: ENV });
    // and B in the working tree: 60 more rows, min-max scaling (another encoding), unbuilt
    fs.writeFileSync(path.join(dir, 'houses.csv'), csv(Array.from({ length: 210 }, (_, i) => row(i))));
    await add({ dir, paths: ['houses.csv'] });
    fs.writeFileSync(yaml, fs.readFileSync(yaml, 'utf8').replace('version: 1', 'version: 1\npreprocess:\n  table:\n    scale: minmax'));

    const unbuilt = await diff({ dir, engine: 'cpu' });
    expect(unbuilt.behaviour).toBeNull();
    expect(unbuilt.missing).toEqual([expect.objectContaining({ side: 'b', command: 'd2 build' })]);
    expect(unbuilt.data.bySource.houses).toMatchObject({ added: 60, removed: 0, relabelled: 0 });
    expect(unbuilt.data.manifest).toContainEqual({ path: 'preprocess.table.scale', kind: 'changed', before: 'standard', after: 'minmax' });

    // When B is built during the diff
    const d = await diff({ dir, engine: 'cpu', build: true, limit: 0 });
    const newTest = d.data.added.filter((x) => x.set === 'test');
    expect(newTest.length).toBeGreaterThan(0);
    expect(d.missing).toEqual([]);
    expect(d.a.model).toMatchObject({ inferred: newTest.length, computedNow: newTest.length, failedCount: 0 });
    expect(d.b.model).toMatchObject({ inferred: 0, stored: d.evaluatedOn.items + d.evaluatedOn.modelTests });
    expect(d.behaviour!.count).toBe(d.evaluatedOn.items);
    expect(d.behaviour!.accuracy.before).toBeGreaterThan(0.6);

    // Then A's predictions for the new rows are those of A's model with A's encoding
    const store = openProject(dir).store;
    const pointer = path.join(store.stateDir(), `predictions-${d.a.model!.key}`);
    const chunk = parsePredictionChunk(store.readText(fs.readFileSync(pointer, 'utf8').trim()));
    const predictor = await loadModel({ dir, rev: 'HEAD', engine: 'cpu' });
    try {
      const byId = new Map(Array.from({ length: 210 }, (_, i) => row(i)).map((r) => [r[0]!, r]));
      const rows = newTest.map((x) => byId.get(x.path.replace(/^houses\//, ''))!);
      const expected = await predictor.predictRows(rows.map(([id, size, city, band]) => ({ id: id!, size: size!, city: city!, band: band! })));
      const k = chunk.classes.length;
      const { rowOid } = await import('../project/table-source.js');
      rows.forEach(([id, size, city, band], i) => {
        const j = chunk.oids.indexOf(rowOid({ id: id!, size: size!, city: city!, band: band! }, 'band'));
        expect(j, id).toBeGreaterThanOrEqual(0);
        expect(Array.from(chunk.probs.subarray(j * k, (j + 1) * k))).toEqual(Array.from(expected.subarray(i * k, (i + 1) * k)));
      });
    } finally {
      await predictor.dispose();
    }

    // A second diff: nothing computed, the same behaviour
    const again = await diff({ dir, engine: 'cpu', limit: 0 });
    expect(again.a.model).toMatchObject({ inferred: newTest.length, computedNow: 0 });
    expect(again.behaviour).toEqual(d.behaviour);
  });

  it("reads the old model's answers with the new name of a renamed class", async () => {
    // Given A built on classes high/low, and B the same rows with 'high' renamed 'upper'
    const dir = path.join(tempDir(), 'p');
    await init({ dir });
    fs.writeFileSync(path.join(dir, 'houses.csv'), csv(Array.from({ length: 150 }, (_, i) => row(i))));
    await add({ dir, paths: ['houses.csv'], labelColumn: 'band', idColumn: 'id' });
    const yaml = path.join(dir, 'd2.yaml');
    fs.appendFileSync(yaml, '\nmodel:\n  preset: fast\n  seed: 5\n');
    const a = await build({ dir, engine: 'cpu', workers: 0 });
    await commit({ dir, message: 'A', env: ENV });
    fs.writeFileSync(yaml, fs.readFileSync(yaml, 'utf8').replace('version: 1', 'version: 1\ndataset:\n  labelMap:\n    high: upper'));

    const d = await diff({ dir, engine: 'cpu', build: true });
    expect(d.data.relabelled).toEqual([expect.objectContaining({ from: 'high', to: 'upper' })]);
    expect(d.a.model!.classMap).toEqual({ high: 'upper' });
    expect(d.b.model!.classMap).toEqual({});
    // Then on the same test items, A scores what its own evaluation says
    expect(d.behaviour!.count).toBe(a.build.metrics.test!.count);
    expect(d.behaviour!.accuracy.before).toBeCloseTo(a.build.metrics.test!.accuracy, 12);
    expect(d.behaviour!.perClass.map((c) => c.label)).toEqual(['low', 'upper']);
  });
});
