/**
 * One model, one preprocessing, everywhere — through the library as a user imports it (by its
 * package name): the stored evaluation's per-item probabilities equal what `predict`,
 * `predictStream`, `loadModel` and an exported bundle (`loadBundle`, moved away from any
 * project) give for the same raw items, bit for bit on the same engine (wasm); the bundle's
 * TensorFlow.js layers model, loaded as a browser loads it and fed by the bundle's own
 * preprocess.js, agrees to float32 rounding. For images and for table rows.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyFixtureImages, tempDir } from '../testing/index.js';

type D2 = typeof import('d2');
type SetPredictions = import('d2').SetPredictions;

const ENV = { GIT_AUTHOR_NAME: 'lib', GIT_AUTHOR_EMAIL: 'lib@example.invalid' };

/** Every stored prediction of an evaluation (validation and test), in one list. */
function storedRows(sets: Partial<Record<string, { predictions: SetPredictions }>>, k: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const name of ['validation', 'test']) {
    const p = sets[name]?.predictions;
    if (p) p.paths.forEach((item, i) => out.set(item, p.probs.slice(i * k, (i + 1) * k)));
  }
  return out;
}

/** The probabilities of a prediction row given with every class (`top` = class count). */
function fromTop(top: { label: string; probability: number }[], classes: readonly string[]): Float32Array {
  const row = new Float32Array(classes.length).fill(Number.NaN);
  for (const t of top) row[classes.indexOf(t.label)] = t.probability;
  return row;
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

/** The layers model of a bundle folder, loaded over "HTTP" as a browser loads it. */
async function loadLayers(bundleDir: string): Promise<tf.LayersModel> {
  const fetchFunc = async (url: string | URL | Request) => new Response(fs.readFileSync(path.join(bundleDir, new URL(String(url)).pathname)));
  return tf.loadLayersModel(tf.io.http('https://models.example.invalid/model.json', { fetchFunc }));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("equivalence through the library (import … from 'd2')", { tags: ['slow'] }, () => {
  let d2: D2;
  beforeAll(async () => {
    d2 = await import('d2');
  });

  describe('an image model', () => {
    let dir: string;
    let classes: string[];
    let stored: Map<string, Float32Array>;
    let items: string[];
    let modelOid: string;

    beforeAll(async () => {
      // Given a project of 120 images, built on wasm and committed with its d2.lock
      dir = path.join(tempDir(), 'proj');
      await d2.init({ dir });
      copyFixtureImages(path.join(dir, 'img'), { perClass: 12, classes: 10 });
      await d2.add({ dir, paths: ['img'], labels: 'dirname' });
      // steps that change every pixel, so equality means the same resampling and arithmetic
      fs.appendFileSync(path.join(dir, 'd2.yaml'), [
        '', 'preprocess:', '  image:',
        '    - crop: { center: 0.9 }', '    - resize: { width: 20, height: 20, fit: contain, kernel: bicubic, background: 30 }',
        '    - channels: 1', '    - normalize: { mean: 0.3, std: 0.4 }',
        'model:', '  preset: fast', '  seed: 9', '',
      ].join('\n'));
      const built = await d2.build({ dir, engine: 'wasm', workers: 0 });
      await d2.commit({ dir, message: 'images and model', env: ENV });
      const { evaluation, build } = await d2.readEvaluation({ dir });
      expect(build.evaluation).toBe(built.build.evaluation);
      modelOid = build.model;
      expect(build.preprocess.shape).toEqual([20, 20, 1]);
      classes = evaluation.classes;
      stored = storedRows(evaluation.sets, classes.length);
      items = [...stored.keys()]; // '<source>/<path>': the source 'img' is the folder 'img'
      expect(items.length).toBeGreaterThan(10);
    }, 120_000);

    it('predict: bit-identical to the stored evaluation', async () => {
      const r = await d2.predict({ dir, paths: items, top: classes.length, engine: 'wasm' });
      expect(r).toMatchObject({ count: items.length, failed: 0, model: { oid: modelOid, engine: expect.stringMatching(/^wasm@/) } });
      expect(r.model.commit).toMatch(/^[0-9a-f]{40}$/); // HEAD's d2.lock names this build
      for (const p of r.predictions) expect(bits(fromTop(p.top, classes))).toBe(bits(stored.get(p.input)!));
    });

    it('predictStream: one row per input in order, bad inputs reported in their row', async () => {
      const folder = path.join(dir, 'img', classes[0]!);
      fs.writeFileSync(path.join(dir, 'broken.png'), 'not an image');
      const rows = [];
      const stream = d2.predictStream({ dir, paths: ['broken.png', `img/${classes[0]}`], top: classes.length, engine: 'wasm' });
      for await (const row of stream) rows.push(row);
      const inFolder = fs.readdirSync(folder).sort().map((f) => `img/${classes[0]}/${f}`);
      expect(rows.map((r) => r.input)).toEqual(['broken.png', ...inFolder]);
      expect(rows[0]).toMatchObject({ top: [], error: { code: 'ItemInvalid' } });
      for (const row of rows.slice(1)) {
        expect(row.error).toBeUndefined();
        if (stored.has(row.input)) expect(bits(fromTop(row.top, classes))).toBe(bits(stored.get(row.input)!));
      }
      // leaving early releases the model
      for await (const row of d2.predictStream({ dir, paths: items, engine: 'wasm' })) {
        expect(row.top).toHaveLength(3);
        break;
      }
    });

    it('loadModel: bit-identical; by revision too', async () => {
      const model = await d2.loadModel({ dir, engine: 'wasm' });
      try {
        const probs = await model.predictImages(items.map((p) => fs.readFileSync(path.join(dir, p))));
        expect(bits(probs)).toBe(bits(Float32Array.from(items.flatMap((p) => Array.from(stored.get(p)!)))));
      } finally {
        await model.dispose();
      }
      const atHead = await d2.loadModel({ dir, rev: 'HEAD', engine: 'wasm' });
      expect(atHead.model).toBe(modelOid);
      await atHead.dispose();
    });

    it('exported bundle: moved away from the project, bit-identical; its layers model and preprocess.js agree', async () => {
      const out = path.join(tempDir(), 'bundle');
      const exported = await d2.exportModel({ dir, out });
      expect(exported.files.map((f) => f.name).sort()).toEqual(['README.md', 'd2-bundle.json', 'd2-model.bin', 'model.json', 'package.json', 'preprocess.js', 'weights.bin']);
      const elsewhere = path.join(tempDir(), 'moved');
      fs.renameSync(out, elsewhere);
      const bundle = await d2.loadBundle(elsewhere, { engine: 'wasm' });
      const expected = Float32Array.from(items.flatMap((p) => Array.from(stored.get(p)!)));
      try {
        expect(bundle.bundle).toMatchObject({ kind: 'd2-bundle', classes, model: modelOid, commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
        const bytes = items.map((p) => fs.readFileSync(path.join(dir, p)));
        expect(bits(await bundle.predictImages(bytes))).toBe(bits(expected));

        // the browser's path: pixels decoded by another decoder into RGBA (as a canvas gives
        // them), the bundle's preprocess.js, then the layers model loaded over HTTP
        const portable = await import(pathToFileURL(path.join(elsewhere, 'preprocess.js')).href);
        const x = new Float32Array(items.length * bundle.preprocess.shape.reduce((a, b) => a * b, 1));
        for (const [i, b] of bytes.entries()) {
          const { data, info } = await sharp(b).toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
          expect(info.channels).toBe(4);
          const one = portable.preprocessImageData({ data, width: info.width, height: info.height }, bundle.bundle.preprocess) as Float32Array;
          x.set(one, i * one.length);
        }
        // same features, so d2's engine on them is bit-identical too
        expect(bits(await bundle.predictFeatures(x))).toBe(bits(expected));
        const layers = await loadLayers(elsewhere);
        const out2 = layers.predict(tf.tensor(x, [items.length, ...bundle.preprocess.shape])) as tf.Tensor;
        const probs = new Float32Array(await out2.data());
        out2.dispose();
        layers.dispose();
        expect(maxDiff(probs, expected)).toBeLessThan(1e-5);
        expect(portable.topClasses(probs.subarray(0, classes.length), classes, 1)[0].label).toBe(d2.topK(expected.subarray(0, classes.length), classes, 1)[0]!.label);
      } finally {
        await bundle.dispose();
      }
      // a damaged model file is refused
      const bin = path.join(elsewhere, 'd2-model.bin');
      const damaged = fs.readFileSync(bin);
      damaged[damaged.length - 1] = damaged[damaged.length - 1]! ^ 1;
      fs.writeFileSync(bin, damaged);
      await expect(d2.loadBundle(elsewhere)).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('damaged'), caller: 'd2.loadBundle' });
    });

    it('a revision without a model, and a project without a build, are ModelNotBuilt', async () => {
      // Given a committed relabel that was never built
      const labels = path.join(dir, 'd2.sources', 'img.labels.csv');
      const text = fs.readFileSync(labels, 'utf8');
      const line = text.split('\n').find((l) => l.startsWith(`${classes[0]}/`))!;
      fs.writeFileSync(labels, text.replace(line, line.replace(/,[^,]+$/, `,${classes[1]}`)));
      await d2.commit({ dir, message: 'relabel one image', env: ENV });
      // Then its model is not built, but the working tree's last build still predicts
      await expect(d2.loadModel({ dir, rev: 'HEAD', engine: 'wasm' })).rejects.toMatchObject({ code: 'ModelNotBuilt', data: { rev: 'HEAD' }, hint: "run 'd2 build --rev HEAD'", caller: 'd2.loadModel' });
      expect((await d2.readEvaluation({ dir, rev: 'HEAD~1', engine: 'wasm' })).build.model).toBe(modelOid);
      const empty = path.join(tempDir(), 'empty');
      await d2.init({ dir: empty });
      await expect(d2.predict({ dir: empty, paths: ['x.png'] })).rejects.toMatchObject({ code: 'ModelNotBuilt', hint: expect.stringContaining('d2 build'), caller: 'd2.predict' });
    });
  });

  describe('a table model', () => {
    // Two classes: 'high' when size + 10·(city = paris) > 60.
    const ROWS = Array.from({ length: 160 }, (_, i) => {
      const size = 10 + ((i * 37) % 100);
      const city = ['paris', 'lyon', 'nice'][i % 3]!;
      return [`h${i}`, String(size), city, size + (city === 'paris' ? 10 : 0) > 60 ? 'high' : 'low'];
    });
    let dir: string;
    let classes: string[];
    let stored: Map<string, Float32Array>;

    beforeAll(async () => {
      dir = path.join(tempDir(), 'houses');
      await d2.init({ dir });
      fs.writeFileSync(path.join(dir, 'houses.csv'), `id,size,city,band\n${ROWS.map((r) => r.join(',')).join('\n')}\n`);
      await d2.add({ dir, paths: ['houses.csv'], labelColumn: 'band', idColumn: 'id' });
      fs.appendFileSync(path.join(dir, 'd2.yaml'), '\nmodel:\n  preset: fast\n  seed: 5\n');
      await d2.build({ dir, engine: 'wasm', workers: 0 });
      const { evaluation } = await d2.readEvaluation({ dir });
      classes = evaluation.classes;
      stored = storedRows(evaluation.sets, classes.length);
      expect(stored.size).toBeGreaterThan(10);
    }, 120_000);

    it('CSV rows through predict, a bundle and its preprocess.js: bit-identical; bad rows reported per row', async () => {
      // new rows file: the stored items' rows (label column dropped), one bad value, one short row
      const ids = [...stored.keys()].map((k) => k.replace(/^houses\//, ''));
      const byId = new Map(ROWS.map((r) => [r[0]!, r]));
      const lines = ids.map((id) => `${byId.get(id)![1]},${byId.get(id)![2]}`);
      fs.writeFileSync(path.join(dir, 'new.csv'), `size,city\n${lines.join('\n')}\nhuge,paris\n42\n`);
      const r = await d2.predict({ dir, paths: ['new.csv'], top: classes.length, engine: 'wasm' });
      expect(r).toMatchObject({ count: ids.length + 2, failed: 2 });
      ids.forEach((id, i) => {
        const p = r.predictions[i]!;
        expect(p.input).toBe(`new.csv:${i + 2}`);
        expect(bits(fromTop(p.top, classes))).toBe(bits(stored.get(`houses/${id}`)!));
      });
      expect(r.predictions.slice(-2)).toMatchObject([
        { input: `new.csv:${ids.length + 2}`, top: [], error: { code: 'ItemInvalid', message: "'huge' in column 'size' is not a number" } },
        { input: `new.csv:${ids.length + 3}`, top: [], error: { code: 'ItemInvalid', message: 'expected 2 columns as in the header, got 1' } },
      ]);
      fs.writeFileSync(path.join(dir, 'nocity.csv'), 'size\n12\n');
      await expect(d2.predict({ dir, paths: ['nocity.csv'] })).rejects.toMatchObject({ code: 'InvalidArgument', message: "'nocity.csv' has no column 'city', which the model reads" });

      const out = path.join(tempDir(), 'table-bundle');
      await d2.exportModel({ dir, out });
      const bundle = await d2.loadBundle(out, { engine: 'wasm' });
      try {
        const rows = ids.map((id) => ({ size: byId.get(id)![1]!, city: byId.get(id)![2]! }));
        const expected = Float32Array.from(ids.flatMap((id) => Array.from(stored.get(`houses/${id}`)!)));
        expect(bits(await bundle.predictRows(rows))).toBe(bits(expected));
        const portable = await import(pathToFileURL(path.join(out, 'preprocess.js')).href);
        const x = new Float32Array(rows.length * bundle.preprocess.shape[0]!);
        rows.forEach((row, i) => x.set(portable.preprocessRow(row, bundle.bundle.preprocess), i * bundle.preprocess.shape[0]!));
        expect(bits(await bundle.predictFeatures(x))).toBe(bits(expected));
        const layers = await loadLayers(out);
        const y = layers.predict(tf.tensor(x, [rows.length, bundle.preprocess.shape[0]!])) as tf.Tensor;
        expect(maxDiff(new Float32Array(await y.data()), expected)).toBeLessThan(1e-5);
        y.dispose();
        layers.dispose();
      } finally {
        await bundle.dispose();
      }
    });
  });
});
