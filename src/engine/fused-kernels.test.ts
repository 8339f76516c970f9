/**
 * d2's fused kernels equal the compositions they replace, on every backend they are registered
 * for: the ReLU + max-pool gradient exactly (it only routes values), the bias gradient and batch
 * normalisation to float32 rounding (they compute in double precision).
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@tensorflow/tfjs';
import { selectEngine, type Tf } from './engines.js';
import { BATCH_NORM_RELU, BATCH_NORM_RELU_GRAD, batchNormRelu, channelSums, batchNormReluComposed, batchNormReluGrad, batchNormReluGradComposed, biasAct, biasGrad, maxPoolReluGrad, reluGrad } from './fused-kernels.js';
import { Rng } from './prng.js';

function values(shape: number[], seed: number, levels = 0): Float32Array {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  // With `levels`, small integers centred on 0: many ties and many non-positive maxima.
  for (let i = 0; i < n; i++) out[i] = levels ? rng.int(levels) - Math.floor(levels / 2) : rng.next() * 2 - 1;
  return out;
}

/** The composition the fused kernel replaces, on the cpu backend's standard kernels. */
async function composedMaxPoolReluGrad(x: Float32Array, dy: Float32Array, shape: number[], k: number): Promise<Float32Array> {
  const { tf } = await selectEngine('cpu');
  const [b, h, w, c] = shape as [number, number, number, number];
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, [b, h, w, c]);
    const y = tf.maxPool(xt, k, k, 'valid');
    const g = tf.engine().runKernel('MaxPoolGrad', { dy: tf.tensor4d(dy, y.shape), input: xt, output: y }, { filterSize: [k, k], strides: [k, k], pad: 'valid' } as never) as Tensor;
    return tf.mul(g, tf.step(xt)).dataSync() as Float32Array;
  });
}

async function onBackend(backend: 'cpu' | 'wasm', fn: (tf: Tf) => Tensor): Promise<Float32Array> {
  const { tf } = await selectEngine(backend);
  expect(tf.getBackend()).toBe(backend);
  const before = tf.memory().numTensors;
  const out = tf.tidy(() => fn(tf));
  const values = out.dataSync() as Float32Array;
  out.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return values;
}

const POOL_CASES: [string, number[], number, number][] = [
  ['2×2 on 8×8×3', [2, 8, 8, 3], 2, 0],
  ['2×2 on 11×11×4 (last row and column uncovered)', [3, 11, 11, 4], 2, 0],
  ['2×2 with ties and non-positive maxima', [4, 10, 10, 5], 2, 3],
  ['2×2 with ties over 8 channels (SIMD on wasm)', [4, 10, 10, 8], 2, 3],
  ['3×3 on 9×9×2', [2, 9, 9, 2], 3, 0],
  ['3×3 on 10×7×2 with ties', [2, 10, 7, 2], 3, 4],
  ['reference CNN, first pool (26×26×16)', [8, 26, 26, 16], 2, 0],
  ['reference CNN, second pool (11×11×32)', [8, 11, 11, 32], 2, 0],
];

describe.each(['cpu', 'wasm'] as const)('fused kernels on %s', (backend) => {
  it.each(POOL_CASES)('D2MaxPoolReluGrad equals MaxPoolGrad × step(x): %s', async (_, shape, k, levels) => {
    const x = values(shape, 1, levels);
    const [b, h, w, c] = shape as [number, number, number, number];
    const dyShape = [b, Math.floor(h / k), Math.floor(w / k), c];
    const dy = values(dyShape, 2);
    const expected = await composedMaxPoolReluGrad(x, dy, shape, k);
    const got = await onBackend(backend, (tf) => maxPoolReluGrad(tf, tf.tensor(dy, dyShape), tf.tensor(x, shape), k));
    expect(got.length).toBe(expected.length);
    let mismatches = 0;
    for (let i = 0; i < got.length; i++) if (!Object.is(got[i], expected[i]) && !(got[i] === 0 && expected[i] === 0)) mismatches++;
    expect(mismatches).toBe(0);
    expect(got.some((v) => v !== 0)).toBe(true);
  });

  it.each([[[2, 5, 5, 3]], [[64, 13, 13, 32]], [[3, 7]], [[1, 1, 1, 1]]])('D2BiasGrad equals a sum over all axes but the last: %j', async (shape) => {
    const dy = values(shape, 3);
    const { tf: cpu } = await selectEngine('cpu');
    const c = shape.at(-1)!;
    const expected = cpu.tidy(() => cpu.sum(cpu.tensor(dy, shape), [...Array(shape.length - 1).keys()]).dataSync() as Float32Array);
    const got = await onBackend(backend, (tf) => biasGrad(tf, tf.tensor(dy, shape)));
    expect(got.length).toBe(c);
    const scale = Math.max(...Array.from(expected, Math.abs), 1e-3);
    for (let i = 0; i < c; i++) expect(Math.abs(got[i]! - expected[i]!) / scale).toBeLessThan(1e-5);
  });
});

describe('dense layer kernels equal their compositions bit for bit (also signed zeros)', () => {
  // Values with exact zeros, negative zeros and cancellations (z = -bias).
  const data = (shape: number[], seed: number) => {
    const v = values(shape, seed, 7);
    const r = values(shape, seed + 1);
    for (let i = 0; i < v.length; i++) v[i] = i % 5 === 0 ? (v[i] as number) : (v[i] as number) * 0.37 + (r[i] as number);
    if (v.length > 3) v[3] = -0;
    return v;
  };
  for (const backend of ['wasm', 'cpu'] as const) {
    // [17, 9]: the loop; [17, 32]: on wasm the SIMD kernel (items a multiple of 4).
    for (const [rows, n] of [[17, 9], [17, 32]] as const) {
      for (const relu of [true, false]) {
        it(`D2BiasAct on ${backend}, [${rows}, ${n}], relu ${relu}`, async () => {
          const z = data([rows, n], 3);
          const bias = values([rows], 5, 5);
          bias[1] = -0;
          const fused = await onBackend(backend, (tf) => biasAct(tf, tf.tensor2d(z, [rows, n]), tf.tensor1d(bias), relu));
          const composed = await onBackend(backend, (tf) => {
            const y = tf.add(tf.tensor2d(z, [rows, n]), tf.reshape(tf.tensor1d(bias), [-1, 1]));
            return relu ? tf.relu(y) : y;
          });
          expect(Buffer.from(fused.buffer).equals(Buffer.from(composed.buffer))).toBe(true);
        });
      }
    }
    // [6, 5, 4]: on wasm all SIMD; [6, 5, 3]: SIMD then the loop for the last 2.
    for (const shape of [[6, 5, 4], [6, 5, 3]] as [number, number, number][]) {
      it(`D2ReluGrad on ${backend}, ${shape.join('×')}`, async () => {
        const dy = data(shape, 7);
        const y = data(shape, 9);
        const fused = await onBackend(backend, (tf) => reluGrad(tf, tf.tensor3d(dy, shape), tf.tensor3d(y, shape)));
        const composed = await onBackend(backend, (tf) => tf.mul(tf.tensor3d(dy, shape), tf.step(tf.tensor3d(y, shape))));
        expect(Buffer.from(fused.buffer).equals(Buffer.from(composed.buffer))).toBe(true);
      });
    }
  }
});

describe.each(['cpu', 'wasm'] as const)('batch normalisation kernels on %s', (backend) => {
  /** Largest difference over the largest magnitude of the expected values (absolute when they are all 0). */
  const relErr = (got: Float32Array, expected: Float32Array) => {
    expect(got.length).toBe(expected.length);
    let maxErr = 0;
    let scale = 0;
    for (let i = 0; i < got.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(got[i]! - expected[i]!));
      scale = Math.max(scale, Math.abs(expected[i]!));
    }
    return scale > 0 ? maxErr / scale : maxErr;
  };
  // [shape, offset of z]: the reference CNNs' conv outputs, odd row counts, one row, 12
  // channels (no SIMD on wasm: the JavaScript loops), and activations far from 0 (the
  // statistics' shifted sums must not cancel).
  const CASES: [number[], number][] = [
    [[3, 5, 5, 8], 0], [[2, 7, 9, 16], 0.5], [[3, 9, 9, 12], 0.2], [[32, 26, 26, 32], 0], [[32, 11, 11, 48], -0.3], [[5, 3, 48], 40], [[1, 1, 1, 8], 0], [[4, 6, 6, 16], 1000],
  ];
  it.each(CASES)('D2BatchNormRelu and D2BatchNormReluGrad equal their compositions: %j, z offset %d', async (shape, offset) => {
    const c = shape.at(-1)!;
    const z = values(shape, 11).map((v, i) => offset + v * (1 + (i % c) / 4));
    const gamma = values([c], 12).map((v) => 1 + 0.5 * v);
    const beta = values([c], 13).map((v) => 0.3 * v);
    const dy = values(shape, 14);
    const { tf } = await selectEngine(backend);
    expect(tf.getKernel(BATCH_NORM_RELU, backend)).toBeDefined();
    expect(tf.getKernel(BATCH_NORM_RELU_GRAD, backend)).toBeDefined();
    for (const viaRelu of [false, true]) {
      const run = (fused: boolean) => onBackendAll(backend, (t) => {
        const zt = t.tensor(z, shape);
        const g = t.tensor1d(gamma);
        const fwd = (fused ? batchNormRelu : batchNormReluComposed)(t, zt, g, t.tensor1d(beta), 1e-3);
        const back = (fused ? batchNormReluGrad : batchNormReluGradComposed)(t, t.tensor(dy, shape), zt, fwd, g, viaRelu ? fwd.y : undefined);
        return [fwd.y, fwd.mean, fwd.invStd, back.dz, back.dgamma, back.dbeta];
      });
      const got = await run(true);
      const expected = await run(false);
      const names = ['y', 'mean', 'invStd', 'dz', 'dgamma', 'dbeta'];
      // The composition sums in float32 (the tf ops) where the kernels sum in float64: with
      // the large offset the composition's own error dominates.
      const tolerance = offset >= 1000 ? 1e-3 : 1e-5;
      names.forEach((name, i) => expect(relErr(got[i]!, expected[i]!), `${name}, via ReLU ${viaRelu}`).toBeLessThanOrEqual(name === 'mean' ? 1e-6 : tolerance));
      // The ReLU cuts some values (and with one row, dz and dγ are 0: each z is its own mean).
      expect(got[0]!.some((v) => v === 0)).toBe(true);
      if (shape.length === 4 && shape[0]! * shape[1]! * shape[2]! === 1) expect(got[3]!.every((v) => v === 0)).toBe(true);
      else expect(got[3]!.some((v) => v !== 0)).toBe(true);
    }
  });

  it('the statistics are those of float64 arithmetic, also for activations far from 0', async () => {
    const shape = [6, 10, 10, 16];
    const c = 16;
    const z = values(shape, 21).map((v, i) => 1000 + (i % c) + v * 0.01);
    const ones = new Float32Array(c).fill(1);
    const [, mean, invStd] = await onBackendAll(backend, (t) => {
      const fwd = batchNormRelu(t, t.tensor(z, shape), t.tensor1d(ones), t.tensor1d(new Float32Array(c)), 1e-3);
      return [fwd.y, fwd.mean, fwd.invStd];
    });
    const rows = z.length / c;
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += z[r * c + ch]!;
      const mu = s / rows;
      let v = 0;
      for (let r = 0; r < rows; r++) v += (z[r * c + ch]! - mu) ** 2;
      expect(Math.abs(mean![ch]! - mu) / mu).toBeLessThan(1e-7);
      expect(Math.abs(invStd![ch]! * Math.sqrt(v / rows + 1e-3) - 1)).toBeLessThan(1e-6);
    }
  });
});

async function onBackendAll(backend: 'cpu' | 'wasm', fn: (tf: Tf) => Tensor[]): Promise<Float32Array[]> {
  const { tf } = await selectEngine(backend);
  const before = tf.memory().numTensors;
  const outs = tf.tidy(() => fn(tf));
  const got = outs.map((t) => t.dataSync().slice() as Float32Array);
  for (const t of outs) t.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return got;
}

describe('channelSums (the fold\'s statistics)', () => {
  it.each([[[5, 7, 7, 16]], [[9, 12]], [[1, 8]]])('gives the same float64 sums on cpu and wasm, shifted by the first row: %j', async (shape) => {
    const c = shape.at(-1)!;
    const x = values(shape, 41).map((v, i) => 5 + v + (i % c));
    const results = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      const { tf } = await selectEngine(backend);
      const t = tf.tensor(x, shape);
      results.push(channelSums(tf, t));
      t.dispose();
    }
    const [cpu, wasm] = results;
    expect(wasm).toEqual(cpu);
    const rows = x.length / c;
    expect(cpu!.rows).toBe(rows);
    for (let ch = 0; ch < c; ch++) {
      let s1 = 0;
      let s2 = 0;
      for (let r = 0; r < rows; r++) {
        const d = x[r * c + ch]! - x[ch]!;
        s1 += d;
        s2 += d * d;
      }
      expect(cpu!.shift[ch]).toBe(x[ch]);
      expect(cpu!.s1[ch]).toBe(s1);
      expect(cpu!.s2[ch]).toBe(s2);
    }
  });
});
