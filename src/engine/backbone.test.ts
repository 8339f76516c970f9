/**
 * engine/backbone.ts: reading model.json (the default cut, the input, the weight files; a graph
 * model's node names and default cut; damaged files refused), and embedding: an item's vector does not depend on the
 * other items of the call, so cached vectors equal fresh ones.
 */
import { describe, expect, it } from 'vitest';
import { describeBackbone, openBackbone, openBackbonePool } from './backbone.js';
import { loadTf } from './engines.js';
import { writeGraphModel } from '../testing/graph-model.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function graphFiles(options: { classifier?: boolean } = {}): Map<string, Uint8Array> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'd2-graph-'));
  writeGraphModel(dir, options);
  const files = new Map(fs.readdirSync(dir).map((f) => [f, new Uint8Array(fs.readFileSync(path.join(dir, f)))]));
  fs.rmSync(dir, { recursive: true });
  return files;
}

function functional(layers: { class_name: string; name: string }[]): string {
  return JSON.stringify({
    format: 'layers-model',
    modelTopology: {
      keras_version: '2.2.4',
      model_config: { class_name: 'Model', config: { layers: [{ class_name: 'InputLayer', name: 'input_1', config: { name: 'input_1', batch_input_shape: [null, 224, 224, 3] } }, ...layers.map((l) => ({ ...l, config: { name: l.name } }))] } },
    },
    weightsManifest: [{ paths: ['group1-shard1of2', 'group1-shard2of2'], weights: [] }],
  });
}

describe('describeBackbone', () => {
  it('cuts before the trailing classifier layers (an nsfwjs-like MobileNetV2)', () => {
    const t = describeBackbone(functional([
      { class_name: 'ReLU', name: 'out_relu' }, { class_name: 'AveragePooling2D', name: 'average_pooling2d_1' }, { class_name: 'Flatten', name: 'flatten_1' },
      { class_name: 'Dense', name: 'dense_1' }, { class_name: 'Dropout', name: 'dropout_2' }, { class_name: 'Dense', name: 'dense_3' },
    ]), 'm');
    expect(t).toEqual({
      format: 'layers', inputShape: [224, 224, 3], defaultLayer: 'flatten_1', weightFiles: ['group1-shard1of2', 'group1-shard2of2'],
      layers: ['input_1', 'out_relu', 'average_pooling2d_1', 'flatten_1', 'dense_1', 'dropout_2', 'dense_3'],
    });
  });

  it('a model without a classifier is cut at its output', () => {
    expect(describeBackbone(functional([{ class_name: 'GlobalAveragePooling2D', name: 'pool' }]), 'm').defaultLayer).toBe('pool');
  });

  it('refuses empty graph models, JSON that is not a model, and models that do not read images', () => {
    expect(() => describeBackbone(JSON.stringify({ format: 'graph-model', modelTopology: { node: [] } }), 'g')).toThrow("backbone 'g' is a graph model without nodes in model.json's modelTopology");
    const twoInputs = { format: 'graph-model', modelTopology: { node: [{ name: 'a', op: 'Placeholder' }, { name: 'b', op: 'Placeholder' }] }, weightsManifest: [] };
    expect(() => describeBackbone(JSON.stringify(twoInputs), 'g')).toThrow("backbone 'g' is a graph model with 2 inputs (Placeholder nodes): d2 feeds one image input");
    expect(() => describeBackbone('{', 'x')).toThrow(/^backbone 'x' has a model\.json that is not JSON/);
    expect(() => describeBackbone(JSON.stringify({ modelTopology: { class_name: 'Sequential', config: { layers: [{ class_name: 'Dense', config: { name: 'd', batch_input_shape: [null, 4] } }] } }, weightsManifest: [] }), 't'))
      .toThrow("backbone 't' does not read images: its input shape is [null,4], expected [batch, height, width, channels]");
  });
});

describe('graph models', () => {
  it('reads the input from the Placeholder, names nodes, and cuts at the input of the final MatMul', () => {
    const t = describeBackbone(graphFiles().get('model.json')!, 'g');
    expect(t).toMatchObject({ format: 'graph', inputShape: [8, 8, 1], defaultLayer: 'features', weightFiles: ['group1-shard1of1.bin'] });
    expect(t.layers).toContain('probs');
    // no classifier at the end: no default cut (the layer must be named)
    expect(describeBackbone(graphFiles({ classifier: false }).get('model.json')!, 'g').defaultLayer).toBeUndefined();
  });

  it('embeds up to the node, each item the same whatever else is in the call', async () => {
    const bb = await openBackbone(graphFiles(), 'features', [8, 8, 1], 'g', 'cpu');
    expect(bb.dims).toBe(16);
    const x = Float32Array.from({ length: 3 * 64 }, (_, i) => Math.cos(i));
    const all = await bb.embed(x);
    const second = await bb.embed(x.slice(64, 128));
    expect(Buffer.from(all.slice(16, 32).buffer).equals(Buffer.from(second.buffer))).toBe(true);
    await expect(openBackbone(graphFiles(), 'nope', [8, 8, 1], 'g', 'cpu')).rejects.toThrow(/^backbone 'g' has no node 'nope'/);
    bb.dispose();
    // worker threads (the built worker script) run the graph the same way
    const pool = await openBackbonePool(graphFiles(), 'features', [8, 8, 1], 'g', 'cpu', 2, new URL('../../dist/engine/backbone-worker.js', import.meta.url));
    const pooled = await pool.embed(x);
    pool.dispose();
    expect(Buffer.from(pooled.buffer).equals(Buffer.from(all.buffer))).toBe(true);
  });
});

describe('openBackbone', () => {
  it("embeds each item the same whatever else is in the call, and names a missing layer's neighbours", async () => {
    const tf = await loadTf();
    await tf.setBackend('cpu');
    const input = tf.input({ shape: [8, 8, 1] });
    const conv = tf.layers.conv2d({ name: 'conv', filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input);
    const flat = tf.layers.flatten({ name: 'flat' }).apply(conv);
    const out = tf.layers.dense({ name: 'cls', units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(flat);
    const model = tf.model({ inputs: input, outputs: out as never });
    const files = new Map<string, Uint8Array>();
    await model.save(tf.io.withSaveHandler(async (a) => {
      files.set('model.json', Buffer.from(JSON.stringify({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: a.weightSpecs }] })));
      files.set('w.bin', new Uint8Array(a.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }));
    model.dispose();
    const leak = tf.memory().numTensors;
    const bb = await openBackbone(files, describeBackbone(files.get('model.json')!, 'm').defaultLayer!, [8, 8, 1], 'm', 'cpu');
    expect(bb.dims).toBe(6 * 6 * 4);
    const x = Float32Array.from({ length: 5 * 64 }, (_, i) => Math.sin(i));
    const all = await bb.embed(x);
    const third = await bb.embed(x.slice(2 * 64, 3 * 64));
    expect(Buffer.from(third.buffer).equals(Buffer.from(all.slice(2 * bb.dims, 3 * bb.dims).buffer))).toBe(true);
    bb.dispose();
    expect(tf.memory().numTensors).toBe(leak);
    // worker threads (the built worker script) give the same vectors, in order
    const pool = await openBackbonePool(files, 'flat', [8, 8, 1], 'm', 'cpu', 2, new URL('../../dist/engine/backbone-worker.js', import.meta.url));
    const pooled = await pool.embed(x);
    pool.dispose();
    expect(pool.dims).toBe(bb.dims);
    expect(Buffer.from(pooled.buffer).equals(Buffer.from(all.buffer))).toBe(true);
    await expect(openBackbonePool(files, 'nope', [8, 8, 1], 'm', 'cpu', 2, new URL('../../dist/engine/backbone-worker.js', import.meta.url))).rejects.toThrow("backbone 'm' has no layer 'nope'");
    await expect(openBackbone(files, 'nope', [8, 8, 1], 'm', 'cpu')).rejects.toThrow("backbone 'm' has no layer 'nope' (its last layers: input1, conv, flat, cls)");
    await expect(openBackbone(files, 'flat', [9, 9, 1], 'm', 'cpu')).rejects.toThrow("backbone 'm' expects input [8, 8, 1], but the images are preprocessed to [9, 9, 1]");
  });
});
