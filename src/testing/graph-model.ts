/**
 * A small TensorFlow.js graph model (`format: graph-model`, as tfjs-converter writes one),
 * made by hand for tests: image [N, size, size, 1] → Reshape → MatMul → BiasAdd → Relu
 * ('features') → MatMul → BiasAdd → Softmax ('probs'), weights from a fixed formula. With
 * `classifier: false` it ends at 'features' (no final MatMul, so no default cut).
 */
import fs from 'node:fs';
import path from 'node:path';

export function writeGraphModel(dir: string, options: { size?: number; features?: number; classes?: number; classifier?: boolean } = {}): void {
  const size = options.size ?? 8;
  const inDims = size * size;
  const hidden = options.features ?? 16;
  const classes = options.classes ?? 3;
  const classifier = options.classifier ?? true;
  const T = { type: 'DT_FLOAT' };
  const konst = (name: string, shape: number[], dtype = 'DT_FLOAT') => ({ name, op: 'Const', attr: { value: { tensor: { dtype, tensorShape: { dim: shape.map((s) => ({ size: String(s) })) } } }, dtype: { type: dtype } } });
  const matmul = (name: string, a: string, b: string) => ({ name, op: 'MatMul', input: [a, b], attr: { transpose_a: { b: false }, transpose_b: { b: false }, T } });
  const biasAdd = (name: string, a: string, b: string) => ({ name, op: 'BiasAdd', input: [a, b], attr: { T, data_format: { s: Buffer.from('NHWC').toString('base64') } } });
  const nodes: object[] = [
    { name: 'image', op: 'Placeholder', attr: { shape: { shape: { dim: [-1, size, size, 1].map((s) => ({ size: String(s) })) } }, dtype: T } },
    konst('flat_shape', [2], 'DT_INT32'),
    { name: 'flat', op: 'Reshape', input: ['image', 'flat_shape'], attr: { T, Tshape: { type: 'DT_INT32' } } },
    konst('w1', [inDims, hidden]), konst('b1', [hidden]),
    matmul('mm1', 'flat', 'w1'), biasAdd('add1', 'mm1', 'b1'),
    { name: 'features', op: 'Relu', input: ['add1'], attr: { T } },
  ];
  const specs: { name: string; shape: number[]; dtype: string }[] = [
    { name: 'flat_shape', shape: [2], dtype: 'int32' }, { name: 'w1', shape: [inDims, hidden], dtype: 'float32' }, { name: 'b1', shape: [hidden], dtype: 'float32' },
  ];
  if (classifier) {
    nodes.push(konst('w2', [hidden, classes]), konst('b2', [classes]), matmul('mm2', 'features', 'w2'), biasAdd('logits', 'mm2', 'b2'), { name: 'probs', op: 'Softmax', input: ['logits'], attr: { T } });
    specs.push({ name: 'w2', shape: [hidden, classes], dtype: 'float32' }, { name: 'b2', shape: [classes], dtype: 'float32' });
  }
  const count = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = Math.sin(i * 0.7) * 0.2;
  new Int32Array(data.buffer, 0, 2).set([-1, inDims]);
  fs.mkdirSync(dir, { recursive: true });
  const json = { format: 'graph-model', generatedBy: 'd2 tests', convertedBy: null, modelTopology: { node: nodes, versions: { producer: 1 } }, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: specs }] };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), new Uint8Array(data.buffer));
}
