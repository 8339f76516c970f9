/**
 * d2's fused kernels equal the compositions they replace, on every backend they are registered
 * for: the ReLU + max-pool gradient exactly (it only routes values), the bias gradient to float32
 * rounding (it sums in double precision).
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@tensorflow/tfjs';
import { selectEngine, type Tf } from './engines.js';
import { biasAct, biasGrad, maxPoolReluGrad, reluGrad } from './fused-kernels.js';
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
