/**
 * The trainer's hand-written backward pass against TensorFlow.js's autodiff, and the
 * divergence guard.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@tensorflow/tfjs';
import { selectEngine } from './engines.js';
import { backward, describeNetwork, dropoutMasks, forward, initialWeights } from './network.js';
import type { Architecture } from './plan.js';
import { Rng } from './prng.js';
import { train } from './train.js';

const CNN: Architecture = {
  family: 'cnn', inputShape: [9, 9, 2], numClasses: 3,
  layers: [
    { kind: 'conv2d', filters: 4, kernel: 3, padding: 'same' },
    { kind: 'conv2d', filters: 5, kernel: 3, padding: 'valid' },
    { kind: 'maxPool', size: 2 },
    { kind: 'flatten' },
    { kind: 'dense', units: 6, activation: 'relu' },
    { kind: 'dropout', rate: 0.5 },
    { kind: 'dense', units: 3, activation: 'linear' },
  ],
};
const MLP: Architecture = {
  family: 'mlp', inputShape: [7], numClasses: 4,
  layers: [{ kind: 'flatten' }, { kind: 'dense', units: 8, activation: 'relu' }, { kind: 'dropout', rate: 0.25 }, { kind: 'dense', units: 4, activation: 'linear' }],
};

describe('backward pass', () => {
  for (const arch of [CNN, MLP]) {
    it(`equals autodiff for the ${arch.family}`, async () => {
      const { tf } = await selectEngine('cpu');
      const net = describeNetwork(arch);
      const w = initialWeights(net, 3);
      const n = 5;
      const rng = new Rng(4);
      const xs = rng.fillUniform(new Float32Array(n * arch.inputShape.reduce((a, b) => a * b, 1)), 0, 1);
      const r = rng.fillUniform(new Float32Array(n * arch.numClasses), -1, 1);
      const masks = dropoutMasks(net, n, new Rng(5));
      const params = net.params.map((p) => tf.variable(tf.tensor(w.subarray(p.offset, p.offset + p.size), p.shape)));
      const x = tf.tensor(xs, [n, ...arch.inputShape]);
      const rT = tf.tensor2d(r, [arch.numClasses, n]);
      const mine = tf.tidy(() => {
        const { caches } = forward(tf, net, params, { x }, masks);
        return backward(tf, net, params, caches, rT).map((g) => g.dataSync().slice());
      });
      const auto = tf.variableGrads(() => tf.sum(tf.mul(forward(tf, net, params as Tensor[], { x }, masks).logitsT, rT)) as never, params);
      net.params.forEach((p, i) => {
        const expected = auto.grads[params[i]!.name]!.dataSync();
        const got = mine[i]!;
        expect(got.length).toBe(expected.length);
        let maxErr = 0;
        let scale = 1e-6;
        for (let j = 0; j < got.length; j++) {
          maxErr = Math.max(maxErr, Math.abs(got[j]! - expected[j]!));
          scale = Math.max(scale, Math.abs(expected[j]!));
        }
        expect(maxErr / scale, p.name).toBeLessThan(1e-4);
      });
      for (const v of params) v.dispose();
    });
  }
});

describe('divergence guard', () => {
  it('stops at the first non-finite loss, naming the epoch, the batch and the layers', async () => {
    const n = 80;
    const x = new Float32Array(n * 6);
    for (let i = 0; i < x.length; i++) x[i] = (i % 7) / 7;
    x.fill(3e38, 50 * 6, 51 * 6); // one item overflows float32 in the first layer (finite input, infinite activations)
    const y = Int32Array.from({ length: n }, (_, i) => i % 2);
    const err = await train({
      train: { x, y, shape: [6] }, validation: { x: new Float32Array(0), y: new Int32Array(0), shape: [6] },
      numClasses: 2, seed: 1, preset: 'fast', engine: 'cpu', workers: 0,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TrainingDiverged', data: { epoch: 1, batch: expect.any(Number), lastGoodEpoch: 0 } });
    const data = (err as { data: { layers: string[]; batch: number } }).data;
    expect(data.batch).toBeGreaterThanOrEqual(1);
    expect((err as Error).message).toMatch(/^training diverged at epoch 1, batch \d+: /);
    expect(Array.isArray(data.layers)).toBe(true);
  });
});
