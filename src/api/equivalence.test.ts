/**
 * One model, one preprocessing, everywhere: predictions from the library (`loadModel`), from an
 * exported bundle (`loadBundle`, in a folder with no store and no git) and from `d2 predict`
 * equal the stored evaluation's, bit for bit on the same engine; the bundle's TensorFlow.js
 * layers model agrees to float32 rounding. The library is imported by its package name.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseEvaluation, type SetPredictions } from '../core/evaluation.js';
import { parseLock } from '../manifest/index.js';
import { ObjectStore } from '../store/index.js';
import { copyFixtureImages, runD2, tempDir } from '../testing/index.js';
import { featuresFor } from './inference.js';

type D2 = typeof import('d2');

describe('equivalence of stored, library, bundle and CLI predictions', { tags: ['slow'] }, () => {
  let d2: D2;
  let dir: string;
  let test: SetPredictions;
  let classes: string[];
  let files: string[];

  beforeAll(async () => {
    d2 = await import('d2');
    dir = path.join(tempDir(), 'proj');
    await d2.init({ dir });
    copyFixtureImages(path.join(dir, 'img'), { perClass: 12, classes: 10 });
    await d2.add({ dir, paths: ['img'], labels: 'dirname' });
    fs.appendFileSync(path.join(dir, 'd2.yaml'), '\nmodel:\n  preset: fast\n  seed: 9\n');
    const built = await d2.build({ dir, engine: 'wasm', workers: 0 });
    const { lock } = parseLock(fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8'));
    expect(lock!.evaluation).toBe(built.build.evaluation);
    const evaluation = parseEvaluation(new ObjectStore(dir).readText(built.build.evaluation));
    test = evaluation.sets.test!.predictions;
    classes = evaluation.classes;
    expect(test.paths.length).toBeGreaterThan(3);
    // '<source>/<path>': the source 'img' is the folder 'img'
    files = test.paths.map((p) => path.join(dir, p));
  }, 120_000);

  it('library loadModel: bit-identical to the stored evaluation', async () => {
    const model = await d2.loadModel({ dir, engine: 'wasm' });
    try {
      const probs = await model.predictImages(files.map((f) => fs.readFileSync(f)));
      expect(Array.from(probs)).toEqual(Array.from(test.probs));
    } finally {
      await model.dispose();
    }
  });

  it('exported bundle: loads without store or git, bit-identical; its layers model agrees', async () => {
    const out = path.join(tempDir(), 'bundle');
    const exported = await d2.exportModel({ dir, out });
    expect(exported.files.map((f) => f.name).sort()).toEqual(['README.md', 'd2-bundle.json', 'd2-model.bin', 'model.json', 'weights.bin']);
    // move it far from the project: nothing but the folder is needed
    const elsewhere = path.join(tempDir(), 'moved');
    fs.renameSync(out, elsewhere);
    const bundle = await d2.loadBundle(elsewhere, { engine: 'wasm' });
    try {
      expect(bundle.bundle).toMatchObject({ kind: 'd2-bundle', classes, model: exported.bundle.model });
      const probs = await bundle.predictImages(files.map((f) => fs.readFileSync(f)));
      expect(Array.from(probs)).toEqual(Array.from(test.probs));

      // the TensorFlow.js layers model (other kernels: equal to float32 rounding)
      const { predictWithLayersModel } = await import('../engine/layers-export.js');
      const feats = await featuresFor(bundle.preprocess, files.map((f) => ({ key: f, bytes: fs.readFileSync(f) })), { workers: 0 });
      const modelJson = JSON.parse(fs.readFileSync(path.join(elsewhere, 'model.json'), 'utf8'));
      const layers = await predictWithLayersModel({ modelJson, weights: fs.readFileSync(path.join(elsewhere, 'weights.bin')), weightsFile: 'weights.bin' }, feats.x, bundle.preprocess.shape);
      expect(layers.length).toBe(test.probs.length);
      for (let i = 0; i < layers.length; i++) expect(Math.abs(layers[i]! - test.probs[i]!)).toBeLessThan(1e-5);
    } finally {
      await bundle.dispose();
    }
    // a damaged model file is refused
    const bin = path.join(elsewhere, 'd2-model.bin');
    const bytes = fs.readFileSync(bin);
    bytes[bytes.length - 1] ^= 1;
    fs.writeFileSync(bin, bytes);
    await expect(d2.loadBundle(elsewhere)).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('damaged') });
  });

  it('d2 predict: bit-identical probabilities, streamed as JSON lines; bad inputs reported per item', async () => {
    fs.writeFileSync(path.join(dir, 'broken.png'), 'not an image');
    const rel = test.paths;
    const r = await runD2(['predict', ...rel, 'broken.png', '--json', '--top', String(classes.length), '--engine', 'wasm'], { cwd: dir });
    expect(r.exitCode).toBe(3);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const preds = lines.filter((l) => l.type === 'prediction');
    expect(preds.map((p) => p.input)).toEqual([...rel, 'broken.png']);
    preds.slice(0, rel.length).forEach((p, i) => {
      const row = new Float32Array(classes.length);
      for (const t of p.top) row[classes.indexOf(t.label)] = t.probability;
      expect(Array.from(row)).toEqual(Array.from(test.probs.subarray(i * classes.length, (i + 1) * classes.length)));
    });
    expect(preds.at(-1)).toMatchObject({ input: 'broken.png', top: [], error: { code: 'ItemInvalid' } });
    expect(lines.at(-1)).toMatchObject({ type: 'result', command: 'predict', data: { count: rel.length + 1, failed: 1 } });
    // table view and CSV
    const text = await runD2(['predict', 'img', '--top', '1'], { cwd: dir });
    expect(text.exitCode).toBe(0);
    expect(text.stdout.split('\n').filter((l) => l.startsWith('img/'))).toHaveLength(120);
    const csv = await runD2(['predict', rel[0]!, '--csv', '--top', '2'], { cwd: dir });
    expect(csv.stdout.split('\n').slice(0, 2)).toEqual(['input,rank,label,probability,error', expect.stringMatching(new RegExp(`^${rel[0]},1,[a-z_]+,0\\.\\d+,$`))]);
  });

  it('says when nothing is built', async () => {
    const empty = path.join(tempDir(), 'empty');
    await d2.init({ dir: empty });
    await expect(d2.loadModel({ dir: empty })).rejects.toMatchObject({ code: 'ModelNotBuilt', hint: expect.stringContaining('d2 build') });
    const r = await runD2(['export', '--out', 'b'], { cwd: empty });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('no model is built here');
  });
});
