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
/** The reference network's shape of stages, with a 'same' convolution that needs its input gradient. */
const CNN2: Architecture = {
  family: 'cnn', inputShape: [12, 12, 1], numClasses: 4,
  layers: [
    { kind: 'conv2d', filters: 3, kernel: 3, padding: 'valid' },
    { kind: 'maxPool', size: 2 },
    { kind: 'conv2d', filters: 4, kernel: 3, padding: 'same' },
    { kind: 'maxPool', size: 2 },
    { kind: 'flatten' },
    { kind: 'dense', units: 5, activation: 'relu' },
    { kind: 'dense', units: 4, activation: 'linear' },
  ],
};
/** Filters in multiples of 8: the wasm engine's SIMD filter-gradient kernel, 'same' and 'valid'. */
const CNN8: Architecture = {
  family: 'cnn', inputShape: [10, 10, 3], numClasses: 3,
  layers: [
    { kind: 'conv2d', filters: 8, kernel: 3, padding: 'same' },
    { kind: 'maxPool', size: 2 },
    { kind: 'conv2d', filters: 16, kernel: 3, padding: 'valid' },
    { kind: 'flatten' },
    { kind: 'dense', units: 3, activation: 'linear' },
  ],
};
const MLP: Architecture = {
  family: 'mlp', inputShape: [7], numClasses: 4,
  layers: [{ kind: 'flatten' }, { kind: 'dense', units: 8, activation: 'relu' }, { kind: 'dropout', rate: 0.25 }, { kind: 'dense', units: 4, activation: 'linear' }],
};

describe('backward pass', () => {
  const cases = [['cnn (same, valid, pool, dropout)', CNN], ['cnn (valid, pool, same, pool)', CNN2], ['cnn (filters 8 and 16)', CNN8], ['mlp', MLP]] as const;
  for (const [label, arch] of cases) {
    it(`equals autodiff for the ${label}, on cpu and on wasm`, async () => {
      const net = describeNetwork(arch);
      const w = initialWeights(net, 3);
      const n = 5;
      const rng = new Rng(4);
      const xs = rng.fillUniform(new Float32Array(n * arch.inputShape.reduce((a, b) => a * b, 1)), 0, 1);
      const r = rng.fillUniform(new Float32Array(n * arch.numClasses), -1, 1);
      const masks = dropoutMasks(net, n, new Rng(5));
      // Expected: TensorFlow.js's autodiff through the same forward pass, on the cpu backend.
      const { tf } = await selectEngine('cpu');
      const vars = net.params.map((p) => tf.variable(tf.tensor(w.subarray(p.offset, p.offset + p.size), p.shape)));
      const auto = tf.tidy(() => {
        const x = tf.tensor(xs, [n, ...arch.inputShape]);
        const rT = tf.tensor2d(r, [arch.numClasses, n]);
        const { grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(tf, net, vars as Tensor[], { x }, masks).logitsT, rT)) as never, vars);
        return vars.map((v) => grads[v.name]!.dataSync().slice() as Float32Array);
      });
      for (const v of vars) v.dispose();
      for (const backend of ['cpu', 'wasm'] as const) {
        const { tf: t } = await selectEngine(backend);
        const before = t.memory().numTensors;
        const mine = t.tidy(() => {
          const params = net.params.map((p) => t.tensor(w.subarray(p.offset, p.offset + p.size), p.shape));
          const { caches } = forward(t, net, params, { x: t.tensor(xs, [n, ...arch.inputShape]) }, masks);
          return backward(t, net, params, caches, t.tensor2d(r, [arch.numClasses, n])).map((g) => g.dataSync().slice() as Float32Array);
        });
        expect(t.memory().numTensors).toBe(before);
        net.params.forEach((p, i) => {
          const expected = auto[i]!;
          const got = mine[i]!;
          expect(got.length).toBe(expected.length);
          let maxErr = 0;
          let scale = 1e-6;
          for (let j = 0; j < got.length; j++) {
            maxErr = Math.max(maxErr, Math.abs(got[j]! - expected[j]!));
            scale = Math.max(scale, Math.abs(expected[j]!));
          }
          expect(maxErr / scale, `${backend} ${p.name}`).toBeLessThanOrEqual(1e-4);
          expect(scale, `${backend} ${p.name} has a gradient`).toBeGreaterThan(1e-6);
        });
      }
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

describe('divergence guard (more)', () => {
  const images = (n: number, bad?: number) => {
    const x = new Float32Array(n * 100);
    for (let i = 0; i < x.length; i++) x[i] = ((i * 7) % 13) / 13;
    if (bad !== undefined) x.fill(3e38, bad * 100, (bad + 1) * 100);
    return { x, y: Int32Array.from({ length: n }, (_, i) => i % 2), shape: [10, 10, 1] };
  };
  const none = { x: new Float32Array(0), y: new Int32Array(0), shape: [10, 10, 1] };

  it('a huge learning rate diverges at batch 2 of epoch 1 and names a layer', async () => {
    const err = await train({
      train: images(96), validation: none, numClasses: 2, seed: 3, preset: 'fast', engine: 'wasm', workers: 0, learningRateOverride: 1e30,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TrainingDiverged', data: { epoch: 1, batch: 2, layer: expect.any(String), lastGoodEpoch: 0 } });
    const data = (err as { data: { layer: string; layers: string[] } }).data;
    expect(data.layers).toContain(data.layer);
    expect(data.layer).toMatch(/^(conv2d|dense)_\d+$/);
    expect((err as Error).message).toBe(`training diverged at epoch 1, batch 2: non-finite gradients in layer '${data.layer}'`);
    expect((err as { hint?: string }).hint).toMatch(/extreme values/);
  });

  it('an item of huge (finite) values stops the CNN in the batch that holds it, before any weight changes', async () => {
    // Batch size 32 (fewer than 2,000 items); find the batch that draws item 40 in epoch 1.
    const { epochOrder } = await import('./replica.js');
    const order = epochOrder(5, 0, 96);
    const batch = Math.floor(order.indexOf(40) / 32) + 1;
    const checkpoints: number[] = [];
    const err = await train({
      train: images(96, 40), validation: none, numClasses: 2, seed: 5, preset: 'fast', engine: 'wasm', workers: 0,
      onCheckpoint: (_b, info) => void checkpoints.push(info.epoch),
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TrainingDiverged', data: { epoch: 1, batch, layer: expect.any(String) } });
    expect(checkpoints).toEqual([]);
  });
});

describe('cancellation in this thread', () => {
  const images = (n: number) => {
    const x = new Float32Array(n * 100);
    for (let i = 0; i < x.length; i++) x[i] = ((i * 7) % 13) / 13;
    return { x, y: Int32Array.from({ length: n }, (_, i) => i % 2), shape: [10, 10, 1] };
  };

  it('an abort from a timer (the event loop, as Ctrl-C arrives) stops within a batch of an epoch of a few batches', async () => {
    // Given 96 items (3 batches an epoch) trained in this thread, when a timer set at the end of
    // epoch 1 aborts: training yields to the event loop before every step, so the timer runs
    const controller = new AbortController();
    const batches: string[] = [];
    let timer = false;
    const err = await train({
      train: images(96), validation: images(32), numClasses: 2, seed: 1, preset: 'fast', engine: 'wasm', workers: 0,
      signal: controller.signal,
      onBatch: (b) => void batches.push(`${b.epoch}.${b.batch}`),
      onEpoch: () => {
        if (timer) return;
        timer = true;
        setTimeout(() => controller.abort(new Error('interrupted by SIGINT')), 0);
      },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'Interrupted', data: { epochsDone: 1, reason: 'interrupted by SIGINT' } });
    expect((err as Error).message).toBe('training interrupted after epoch 1');
    expect((err as { hint: string }).hint).toMatch(/resumes after epoch 1/);
    expect(batches.filter((b) => b.startsWith('2.')).length).toBeLessThanOrEqual(1); // at most one more batch ran
  });
});
