/**
 * End-to-end: a TensorFlow.js graph model (`format: graph-model`) as the backbone, through the
 * real bin/d2. The graph is made by hand in the test (testing/graph-model.ts): image → dense
 * ReLU 'features' → dense softmax. Covered: the default cut at the input of its final MatMul,
 * the input size read from its Placeholder, cached embeddings, `d2 predict` == the stored
 * evaluation == the exported bundle (the graph carried beside the head, run by loadBundle; the
 * head-only model.json after the graph's node agrees to float rounding), and the errors (no
 * such node; a graph without a classifier needs `layer`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyFixtureImages, git, lastJson, runD2, tempDir } from '../testing/index.js';
import { fails, ok, predictRows, setModelSection } from '../testing/json-run.js';
import { writeGraphModel } from '../testing/graph-model.js';

const ENGINE = ['--engine', 'wasm', '--workers', '0'];

describe('model.backbone: a TensorFlow.js graph model', { tags: ['slow'] }, () => {
  let root: string;
  let dir: string;
  let first: any;

  beforeAll(async () => {
    root = tempDir('d2-backbone-graph-');
    dir = path.join(root, 'p');
    fs.mkdirSync(dir);
    expect((await runD2(['init'], { cwd: dir })).exitCode).toBe(0);
    copyFixtureImages(path.join(dir, 'img'), { perClass: 8, classes: 4 });
    expect((await runD2(['add', 'img', '--labels', 'dirname'], { cwd: dir })).exitCode).toBe(0);
    writeGraphModel(path.join(dir, 'models', 'graph'));
    writeGraphModel(path.join(dir, 'models', 'headless'), { classifier: false });
    setModelSection(dir, '  seed: 3\n  backbone:\n    path: models/graph\n');
    first = await ok(['build', ...ENGINE], dir);
    expect((await runD2(['commit', '-m', 'graph backbone'], { cwd: dir })).exitCode).toBe(0);
  }, 240_000);

  it('cuts at the input of its final MatMul, reads its input size from the Placeholder, caches embeddings', async () => {
    expect(first.build.backbone).toEqual({ source: 'models/graph', oid: expect.stringMatching(/^[0-9a-f]{64}$/), layer: 'features', dims: 16 });
    expect(first.build.preprocess.shape).toEqual([8, 8, 1]);
    expect(first.embeddings).toEqual({ embedded: 32, cached: 0, dims: 16 });
    const again = await ok(['build', ...ENGINE, '--force'], dir);
    expect(again.embeddings).toEqual({ embedded: 0, cached: 32, dims: 16 });
    expect(again.build.model).toBe(first.build.model);
  });

  it('predict equals the stored evaluation and the bundle, which carries the graph beside the head', async () => {
    const d2 = await import('d2');
    const { evaluation } = await d2.readEvaluation({ dir, rev: 'HEAD' });
    const classes = evaluation.classes;
    const test = evaluation.sets.test!.predictions;
    const rows = await predictRows(dir, test.paths, classes);
    expect(Buffer.from(rows.buffer).equals(Buffer.from(test.probs.buffer))).toBe(true);
    const out = path.join(root, 'bundle');
    const exported = await ok(['export', '--out', out, '--rev', 'HEAD'], dir);
    expect(exported.bundle.backbone).toEqual({ ...first.build.backbone, files: ['backbone/group1-shard1of1.bin', 'backbone/model.json'], graph: true });
    const bundle = await d2.loadBundle(out, { engine: 'wasm' });
    const images = test.paths.map((p) => fs.readFileSync(path.join(dir, p)));
    const fromBundle = await bundle.predictImages(images);
    await bundle.dispose();
    expect(Buffer.from(fromBundle.buffer).equals(Buffer.from(test.probs.buffer))).toBe(true);
    // without d2: the graph up to its node, then model.json (the head alone)
    const tf = await import('@tensorflow/tfjs');
    const graphJson = JSON.parse(fs.readFileSync(path.join(out, 'backbone', 'model.json'), 'utf8'));
    const graph = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: graphJson.modelTopology, weightSpecs: graphJson.weightsManifest[0].weights, weightData: new Uint8Array(fs.readFileSync(path.join(out, 'backbone', 'group1-shard1of1.bin'))).buffer, format: 'graph-model' }));
    const json = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
    const head = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: new Uint8Array(fs.readFileSync(path.join(out, 'weights.bin'))).buffer }));
    const predictor = await d2.loadModel({ dir, rev: 'HEAD', engine: 'wasm' });
    const { featuresFor } = (await import('../../dist/project/inference.js' as string)) as typeof import('../project/inference.js');
    const x = await featuresFor(predictor.preprocess, images.map((bytes, i) => ({ key: String(i), bytes })));
    await predictor.dispose();
    const features = graph.execute(tf.tensor(x.x, [images.length, 8, 8, 1]), 'features') as any;
    const probs = (head.predict(features) as any).dataSync() as Float32Array;
    expect(probs.length).toBe(test.probs.length);
    for (let i = 0; i < probs.length; i++) expect(Math.abs(probs[i]! - test.probs[i]!)).toBeLessThan(1e-5);
  });

  it('says what is wrong: no such node; a graph without a classifier needs a layer, and works with one', async () => {
    setModelSection(dir, '  seed: 3\n  backbone:\n    path: models/graph\n    layer: nope\n');
    const none = await fails(['build', ...ENGINE], dir);
    expect(none.code).toBe('BackboneInvalid');
    expect(none.message).toMatch(/^backbone 'models\/graph' has no node 'nope' \(its last nodes: .*features.*\)$/);
    setModelSection(dir, '  seed: 3\n  backbone:\n    path: models/headless\n');
    const headless = await fails(['build', ...ENGINE], dir);
    expect(headless.code).toBe('BackboneInvalid');
    expect(headless.message).toBe("backbone 'models/headless' is a graph model whose classifier d2 cannot find (no final MatMul before its output): name the node to cut at");
    expect(headless.hint).toContain("'model.backbone.layer'");
    setModelSection(dir, '  seed: 3\n  backbone:\n    path: models/headless\n    layer: features\n');
    const named = await ok(['build', ...ENGINE], dir);
    // another backbone record (another model.json), so its items are embedded anew
    expect(named.embeddings).toEqual({ embedded: 32, cached: 0, dims: 16 });
    expect(named.build.backbone.layer).toBe('features');
    await git(['checkout', '--', 'd2.yaml', 'd2.lock'], dir);
  });
});
