/**
 * `build` through the library on a table source: an MLP on the cpu and wasm engines, scored
 * on stored predictions, reproducible, and refused when there is nothing to train on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { argmaxRows } from '../core/metrics.js';
import { parseEvaluation } from '../core/evaluation.js';
import { tempDir } from '../testing/index.js';
import { add } from './add.js';
import { build } from './build.js';
import { init } from './init.js';
import { openProject } from '../project/project.js';

// Two well-separated classes: 'high' when size + 10·(city = paris) > 60.
const ROWS = Array.from({ length: 240 }, (_, i) => {
  const size = 10 + ((i * 37) % 100);
  const city = ['paris', 'lyon', 'nice'][i % 3]!;
  return [`h${i}`, String(size), city, size + (city === 'paris' ? 10 : 0) > 60 ? 'high' : 'low'];
});

async function tableProject(): Promise<string> {
  const dir = path.join(tempDir(), 'p');
  await init({ dir });
  fs.writeFileSync(path.join(dir, 'houses.csv'), `id,size,city,band\n${ROWS.map((r) => r.join(',')).join('\n')}\n`);
  await add({ dir, paths: ['houses.csv'], labelColumn: 'band', idColumn: 'id' });
  fs.appendFileSync(path.join(dir, 'd2.yaml'), '\nmodel:\n  preset: fast\n  seed: 5\n');
  return dir;
}

describe('build (tables)', () => {
  it('trains an MLP on cpu and wasm; metrics match the stored predictions; same seed, same model', async () => {
    const dir = await tableProject();
    const cpu = await build({ dir, engine: 'cpu', workers: 0 });
    expect(cpu.build.engine).toMatch(/^cpu@/);
    expect(cpu.build.architecture.family).toBe('mlp');
    const store = openProject(dir).store;
    const evaluation = parseEvaluation(store.readText(cpu.build.evaluation));
    const test = evaluation.sets.test!;
    const predicted = argmaxRows(test.predictions.probs, evaluation.classes.length);
    const correct = test.predictions.labels.filter((l, i) => predicted[i] === l).length;
    expect(cpu.build.metrics.test!.accuracy).toBeCloseTo(correct / test.predictions.labels.length, 12);
    expect(cpu.build.metrics.test!.accuracy).toBeGreaterThan(0.8);

    const again = await build({ dir, engine: 'cpu', force: true, workers: 0 });
    expect(again.build.model).toBe(cpu.build.model);

    const wasm = await build({ dir, engine: 'wasm', workers: 0 });
    expect(wasm.build.engine).toMatch(/^wasm@/);
    expect(wasm.build.key).not.toBe(cpu.build.key);
    const wasmAgain = await build({ dir, engine: 'wasm', force: true, workers: 0 });
    expect(wasmAgain.build.model).toBe(wasm.build.model);
    // the lock names the last build
    expect(fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8')).toContain(wasm.build.model);
  });

  it('refuses a dataset with nothing in train', async () => {
    const dir = path.join(tempDir(), 'p');
    await init({ dir });
    fs.writeFileSync(path.join(dir, 'houses.csv'), `id,size,band\n${ROWS.slice(0, 20).map((r) => `${r[0]},${r[1]},${r[3]}`).join('\n')}\n`);
    await add({ dir, paths: ['houses.csv'], labelColumn: 'band', idColumn: 'id' });
    const file = path.join(dir, 'd2.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/path: houses\.csv/, 'path: houses.csv\n    split: test'));
    await expect(build({ dir, engine: 'cpu' })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(/no training rows/), hint: expect.stringContaining('train is empty') });
  });
});
