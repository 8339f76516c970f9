/**
 * Batch normalisation in training (network.ts) and folded for inference (batch-norm.ts): the
 * hand-written backward pass against TensorFlow.js's autodiff over a reference forward pass
 * built on tf.moments; the folded plain network against batch normalisation with population
 * statistics; and a batch-normalised training run that learns.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import { foldBatchNorm, foldRows } from './batch-norm.js';
import { selectEngine, type Tf } from './engines.js';
import { backward, BATCH_NORM_EPSILON, describeNetwork, dropoutMasks, forward, initialWeights, type DropoutMasks, type NetworkShape } from './network.js';
import type { Architecture } from './plan.js';
import { Rng } from './prng.js';
import { barImages } from '../testing/bar-images.js';
import { train } from './train.js';

/** Two batch-normalised stages (pool after the first through the fused ReLU + pool gradient, a 'same' conv needing its input gradient), dropout. */
const CNN: Architecture = {
  family: 'cnn', inputShape: [10, 10, 2], numClasses: 3,
  layers: [
    { kind: 'conv2d', filters: 4, kernel: 3, padding: 'valid' },
    { kind: 'maxPool', size: 2 },
    { kind: 'conv2d', filters: 5, kernel: 3, padding: 'same' },
    { kind: 'flatten' },
    { kind: 'dense', units: 6, activation: 'relu' },
    { kind: 'dropout', rate: 0.5 },
    { kind: 'dense', units: 3, activation: 'linear' },
  ],
};
/** Filters in multiples of 8 and 16 (the wasm engine's SIMD kernels), two convolutions in a row, then a pool. */
const CNN16: Architecture = {
  family: 'cnn', inputShape: [8, 8, 1], numClasses: 4,
  layers: [
    { kind: 'conv2d', filters: 8, kernel: 3, padding: 'same' },
    { kind: 'conv2d', filters: 16, kernel: 3, padding: 'valid' },
    { kind: 'maxPool', size: 2 },
    { kind: 'flatten' },
    { kind: 'dense', units: 4, activation: 'linear' },
  ],
};

const rowSize = (arch: Architecture) => arch.inputShape.reduce((a, b) => a * b, 1);

/** Training weights with γ, β and the conv biases away from their initial values (so each matters). */
function trainingWeights(net: NetworkShape, seed: number): Float32Array {
  const w = initialWeights(net, seed);
  const rng = new Rng(seed + 100);
  for (const layer of net.layers) {
    if (layer.gamma === undefined) continue;
    for (const [index, lo, hi] of [[layer.gamma, 0.5, 1.5], [layer.beta!, -0.3, 0.3], [layer.bias!, -0.2, 0.2]] as const) {
      const p = net.params[index]!;
      rng.fillUniform(w.subarray(p.offset, p.offset + p.size), lo, hi);
    }
  }
  return w;
}

/**
 * The training network written independently: conv2d → tf.moments over (N, H, W) → normalise,
 * ×γ + β → ReLU, or with `stats`, per conv layer the given mean and variance (inference).
 * Returns the logits feature-major [numClasses, n], as `forward` does.
 */
function referenceForward(tf: Tf, net: NetworkShape, params: Tensor[], x: Tensor, masks?: DropoutMasks, stats?: Map<number, { mean: Tensor; variance: Tensor }>): Tensor2D {
  const n = x.shape[0] as number;
  let h = x;
  net.layers.forEach((layer, i) => {
    const spec = layer.spec;
    if (spec.kind === 'conv2d') {
      const z = tf.add(tf.conv2d(h as Tensor4D, params[layer.kernel!] as Tensor4D, 1, spec.padding), params[layer.bias!]!);
      const { mean, variance } = stats?.get(i) ?? tf.moments(z, [0, 1, 2]);
      h = tf.relu(tf.add(tf.mul(tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, BATCH_NORM_EPSILON))), params[layer.gamma!]!), params[layer.beta!]!));
    } else if (spec.kind === 'maxPool') {
      h = tf.maxPool(h as Tensor4D, spec.size, spec.size, 'valid');
    } else if (spec.kind === 'flatten') {
      h = tf.transpose(tf.reshape(h, [n, -1]));
    } else if (spec.kind === 'dense') {
      const z = tf.add(tf.matMul(params[layer.kernel!] as Tensor2D, h as Tensor2D), tf.reshape(params[layer.bias!]!, [-1, 1]));
      h = spec.activation === 'relu' ? tf.relu(z) : z;
    } else if (masks?.get(i)) {
      h = tf.mul(h, tf.tensor(masks.get(i)!, h.shape));
    }
  });
  return h as Tensor2D;
}

describe('batch-normalised training network', () => {
  it('appends γ and β after the plain parameters, initialised to 1 and 0, leaving the plain initial weights as they were', () => {
    const plain = describeNetwork(CNN);
    const bn = describeNetwork(CNN, { batchNorm: true });
    expect(plain.plainCount).toBe(plain.paramCount);
    expect(bn.plainCount).toBe(plain.paramCount);
    expect(bn.params.slice(0, plain.params.length)).toEqual(plain.params);
    expect(bn.params.slice(plain.params.length).map((p) => `${p.name} ${p.shape.join('x')}`)).toEqual(['conv2d_1/gamma 4', 'conv2d_1/beta 4', 'conv2d_2/gamma 5', 'conv2d_2/beta 5']);
    expect(bn.paramCount).toBe(plain.paramCount + 18);
    const w = initialWeights(bn, 7);
    expect(w.subarray(0, bn.plainCount)).toEqual(initialWeights(plain, 7));
    expect(Array.from(w.subarray(bn.plainCount))).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
  });

  for (const [label, arch] of [['valid, pool, same, dropout', CNN], ['filters 8 and 16, pool after two', CNN16]] as const) {
    it(`backward equals autodiff through tf.moments (${label}), on cpu and on wasm`, async () => {
      const net = describeNetwork(arch, { batchNorm: true });
      const w = trainingWeights(net, 3);
      const n = 6;
      const rng = new Rng(4);
      const xs = rng.fillUniform(new Float32Array(n * rowSize(arch)), 0, 1);
      const r = rng.fillUniform(new Float32Array(n * arch.numClasses), -1, 1);
      const masks = dropoutMasks(net, n, new Rng(5));
      // Expected: autodiff through the reference forward pass, on the cpu backend.
      const { tf } = await selectEngine('cpu');
      const vars = net.params.map((p) => tf.variable(tf.tensor(w.subarray(p.offset, p.offset + p.size), p.shape)));
      const auto = tf.tidy(() => {
        const x = tf.tensor(xs, [n, ...arch.inputShape]);
        const rT = tf.tensor2d(r, [arch.numClasses, n]);
        const { grads } = tf.variableGrads(() => tf.sum(tf.mul(referenceForward(tf, net, vars as Tensor[], x, masks), rT)) as never, vars);
        return vars.map((v) => grads[v.name]!.dataSync().slice() as Float32Array);
      });
      for (const v of vars) v.dispose();
      // The same forward values, too: the reference and `forward` agree.
      for (const backend of ['cpu', 'wasm'] as const) {
        const { tf: t } = await selectEngine(backend);
        const before = t.memory().numTensors;
        const { mine, logits, refLogits } = t.tidy(() => {
          const params = net.params.map((p) => t.tensor(w.subarray(p.offset, p.offset + p.size), p.shape));
          const x = t.tensor(xs, [n, ...arch.inputShape]);
          const out = forward(t, net, params, { x }, masks);
          return {
            mine: backward(t, net, params, out.caches, t.tensor2d(r, [arch.numClasses, n])).map((g) => g.dataSync().slice() as Float32Array),
            logits: out.logitsT.dataSync().slice() as Float32Array,
            refLogits: referenceForward(t, net, params, x, masks).dataSync().slice() as Float32Array,
          };
        });
        expect(t.memory().numTensors).toBe(before);
        logits.forEach((v, j) => expect(Math.abs(v - refLogits[j]!), `${backend} logit ${j}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(refLogits[j]!))));
        // One scale for the whole gradient: a conv bias's true gradient is 0 (the normalisation
        // subtracts it again), which autodiff gives as rounding noise.
        const overall = Math.max(...auto.map((g) => Math.max(...Array.from(g, Math.abs))));
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
          if (p.name.startsWith('conv2d') && p.name.endsWith('/bias')) {
            expect(Array.from(got).every((v) => v === 0), `${backend} ${p.name} is exactly 0`).toBe(true);
            expect(scale / overall, `${backend} ${p.name}: autodiff's is rounding noise`).toBeLessThan(1e-5);
            return;
          }
          expect(maxErr / scale, `${backend} ${p.name}`).toBeLessThanOrEqual(1e-4);
          expect(scale, `${backend} ${p.name} has a gradient`).toBeGreaterThan(1e-6);
        });
      }
    });
  }
});

describe('folding batch normalisation', () => {
  it('picks evenly spaced rows: all of a small set, at most FOLD_ROWS of a large one', () => {
    expect(Array.from(foldRows(5))).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(foldRows(10, 4))).toEqual([0, 2, 5, 7]);
    const rows = foldRows(54000);
    expect(rows.length).toBe(4096);
    expect(rows[0]).toBe(0);
    expect(rows.at(-1)).toBeLessThan(54000);
    expect(new Set(rows).size).toBe(4096);
  });

  for (const [label, arch] of [['valid, pool, same', CNN], ['filters 8 and 16', CNN16]] as const) {
    it(`gives a plain network that predicts as batch normalisation with population statistics (${label}), on cpu and on wasm`, async () => {
      const bn = describeNetwork(arch, { batchNorm: true });
      const plain = describeNetwork(arch);
      const w = trainingWeights(bn, 9);
      const count = 40;
      const x = new Rng(10).fillUniform(new Float32Array(count * rowSize(arch)), 0, 1);
      const rows = foldRows(count, 30); // a subset, fed in chunks of 7 rows
      for (const backend of ['cpu', 'wasm'] as const) {
        const { tf } = await selectEngine(backend);
        const before = tf.memory().numTensors;
        const folded = foldBatchNorm(tf, arch, w, { x, count, rowSize: rowSize(arch) }, { rows, chunk: 7 });
        expect(tf.memory().numTensors).toBe(before);
        expect(folded.length).toBe(plain.paramCount);
        // Dense layers are the training weights' own.
        for (const p of plain.params.filter((q) => q.layer.startsWith('dense'))) expect(folded.subarray(p.offset, p.offset + p.size)).toEqual(w.subarray(p.offset, p.offset + p.size));
        const [got, expected] = tf.tidy(() => {
          const all = tf.tensor(x, [count, ...arch.inputShape]);
          const subset = tf.gather(all, tf.tensor1d(Int32Array.from(rows), 'int32'));
          const params = bn.params.map((p) => tf.tensor(w.subarray(p.offset, p.offset + p.size), p.shape));
          // Population statistics layer by layer: each layer's over the subset, the layers
          // below it normalised by theirs.
          const stats = new Map<number, { mean: Tensor; variance: Tensor }>();
          bn.layers.forEach((layer, i) => {
            if (layer.gamma === undefined) return;
            const below = { ...bn, layers: bn.layers.slice(0, i) };
            const h = referenceForward(tf, below, params, subset, undefined, stats) as Tensor;
            const spec = layer.spec as { padding: 'valid' | 'same' };
            const z = tf.add(tf.conv2d(h as Tensor4D, params[layer.kernel!] as Tensor4D, 1, spec.padding), params[layer.bias!]!);
            stats.set(i, tf.moments(z, [0, 1, 2]));
          });
          const reference = referenceForward(tf, bn, params, all, undefined, stats);
          const foldedParams = plain.params.map((p) => tf.tensor(folded.subarray(p.offset, p.offset + p.size), p.shape));
          return [forward(tf, plain, foldedParams, { x: all }).logitsT.dataSync().slice() as Float32Array, reference.dataSync().slice() as Float32Array];
        });
        const scale = Math.max(...Array.from(expected, Math.abs));
        expect(scale).toBeGreaterThan(0.1);
        let maxErr = 0;
        expected.forEach((v, j) => (maxErr = Math.max(maxErr, Math.abs(v - got[j]!))));
        expect(maxErr / scale, backend).toBeLessThanOrEqual(1e-5);
        // Not the training network's batch statistics over these rows: the fold used the subset's.
        const batchStats = tf.tidy(() => {
          const params = bn.params.map((p) => tf.tensor(w.subarray(p.offset, p.offset + p.size), p.shape));
          return referenceForward(tf, bn, params, tf.tensor(x, [count, ...arch.inputShape])).dataSync().slice() as Float32Array;
        });
        expect(Math.max(...Array.from(batchStats, (v, j) => Math.abs(v - got[j]!))) / scale).toBeGreaterThan(1e-4);
      }
    });
  }

  it('leaves a network without convolutions as it is', async () => {
    const mlp: Architecture = { family: 'mlp', inputShape: [5], numClasses: 2, layers: [{ kind: 'flatten' }, { kind: 'dense', units: 2, activation: 'linear' }] };
    const net = describeNetwork(mlp, { batchNorm: true });
    expect(net.paramCount).toBe(net.plainCount);
    const w = initialWeights(net, 1);
    const { tf } = await selectEngine('cpu');
    expect(foldBatchNorm(tf, mlp, w, { x: new Float32Array(10), count: 2, rowSize: 5 })).toEqual(w);
  });
});

describe('training with batch normalisation', () => {
  it('learns: the loss falls, γ and β move, the checkpoint keeps them, no tensor is leaked', async () => {
    const checkpoints: Uint8Array[] = [];
    const { tf } = await selectEngine('wasm');
    const before = tf.memory().numTensors;
    const r = await train({
      train: barImages(240, 1), validation: barImages(60, 2), numClasses: 3, seed: 4, preset: 'fast', engine: 'wasm', workers: 0,
      epochsOverride: 3, planPatch: { batchNorm: true }, onCheckpoint: (b) => void checkpoints.push(b),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.plan.batchNorm).toBe(true);
    const losses = r.history.map((h) => h.loss);
    expect(losses[2]!).toBeLessThan(losses[0]! * 0.8);
    expect(r.history.at(-1)!.valAccuracy).toBeGreaterThan(0.6);
    const { parseCheckpoint } = await import('./checkpoint.js');
    const state = parseCheckpoint(checkpoints.at(-1)!);
    const bn = describeNetwork(r.plan.architecture, { batchNorm: true });
    expect(state.weights.length).toBe(bn.paramCount);
    const gamma = bn.params.find((p) => p.name === 'conv2d_1/gamma')!;
    const beta = bn.params.find((p) => p.name === 'conv2d_1/beta')!;
    expect(Array.from(state.weights.subarray(gamma.offset, gamma.offset + gamma.size)).some((v) => Math.abs(v - 1) > 1e-3)).toBe(true);
    expect(Array.from(state.weights.subarray(beta.offset, beta.offset + beta.size)).some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });
});
