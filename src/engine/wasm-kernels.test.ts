/**
 * The wasm backend's added and replaced kernels compute what the cpu backend computes: each
 * kernel is run on both backends with the same inputs and the results are compared (relative
 * error ≤ 1e-4), over strides 1 and 2, paddings same / valid / explicit, several shapes,
 * channel counts and batch sizes; max-pool gradients also with ties. The filter gradient, which
 * d2 composes on both backends, is checked against its definition computed in double precision.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { selectEngine, type Tf } from './engines.js';
import { Rng } from './prng.js';

let tf: Tf;
beforeAll(async () => {
  tf = (await selectEngine('wasm')).tf;
});

type Inputs = Record<string, { shape: number[]; data: Float32Array }>;

function rand(shape: number[], seed: number, levels = 0): { shape: number[]; data: Float32Array } {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = levels ? rng.int(levels) : rng.next() * 2 - 1;
  return { shape, data };
}

async function runOn(backend: 'wasm' | 'cpu', kernel: string, inputs: Inputs, attrs: Record<string, unknown>): Promise<{ shape: number[]; data: Float32Array }> {
  await selectEngine(backend);
  expect(tf.getBackend()).toBe(backend);
  const ts = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]));
  const out = tf.engine().runKernel(kernel, ts, attrs as never) as import('@tensorflow/tfjs').Tensor;
  const result = { shape: out.shape, data: out.dataSync() as Float32Array };
  for (const t of Object.values(ts)) t.dispose();
  out.dispose();
  return result;
}

function relativeError(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    num += d * d;
    den += (b[i] as number) * (b[i] as number);
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

async function compare(kernel: string, inputs: Inputs, attrs: Record<string, unknown>): Promise<void> {
  const cpu = await runOn('cpu', kernel, inputs, attrs);
  const wasm = await runOn('wasm', kernel, inputs, attrs);
  expect(wasm.shape).toEqual(cpu.shape);
  expect(wasm.data.length).toBe(cpu.data.length);
  let nonzero = 0;
  for (const v of cpu.data) if (v !== 0) nonzero++;
  expect(nonzero).toBeGreaterThan(0);
  expect(relativeError(wasm.data, cpu.data)).toBeLessThanOrEqual(1e-4);
}

type Pad = 'same' | 'valid' | number[][];
interface ConvCase { b: number; h: number; w: number; ci: number; co: number; kh: number; kw: number; s: number; pad: Pad }

function outSize(n: number, k: number, s: number, pad: Pad, before: number, after: number): number {
  if (pad === 'same') return Math.ceil(n / s);
  if (pad === 'valid') return Math.floor((n - k) / s) + 1;
  return Math.floor((n + before + after - k) / s) + 1;
}

function dyShape(c: ConvCase, channels: number): number[] {
  const ph = Array.isArray(c.pad) ? (c.pad[1] as number[]) : [0, 0];
  const pw = Array.isArray(c.pad) ? (c.pad[2] as number[]) : [0, 0];
  return [c.b, outSize(c.h, c.kh, c.s, c.pad, ph[0]!, ph[1]!), outSize(c.w, c.kw, c.s, c.pad, pw[0]!, pw[1]!), channels];
}

// The filter gradient takes d2's SIMD kernel for stride 1 and Co a multiple of 8, else explicit
// patches for kh·kw·Ci ≤ 36, else the transposed convolution.
const CONV_CASES: ConvCase[] = [
  { b: 1, h: 5, w: 5, ci: 1, co: 1, kh: 3, kw: 3, s: 1, pad: 'valid' },
  { b: 2, h: 7, w: 7, ci: 3, co: 4, kh: 3, kw: 3, s: 2, pad: 'same' },
  { b: 3, h: 8, w: 8, ci: 2, co: 5, kh: 3, kw: 3, s: 2, pad: 'valid' },
  { b: 4, h: 9, w: 6, ci: 3, co: 2, kh: 2, kw: 2, s: 1, pad: 'same' },
  { b: 2, h: 10, w: 10, ci: 4, co: 3, kh: 5, kw: 5, s: 2, pad: 'same' },
  { b: 1, h: 6, w: 7, ci: 2, co: 3, kh: 3, kw: 3, s: 2, pad: 'valid' },
  { b: 2, h: 8, w: 6, ci: 3, co: 2, kh: 3, kw: 2, s: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  // The reference CNN's two convolutions (batch 8 of 28×28×1, then 13×13×16).
  { b: 8, h: 28, w: 28, ci: 1, co: 16, kh: 3, kw: 3, s: 1, pad: 'valid' },
  { b: 8, h: 13, w: 13, ci: 16, co: 32, kh: 3, kw: 3, s: 1, pad: 'valid' },
  { b: 5, h: 14, w: 14, ci: 16, co: 8, kh: 3, kw: 3, s: 1, pad: 'same' },
  { b: 3, h: 9, w: 11, ci: 3, co: 24, kh: 5, kw: 3, s: 1, pad: 'same' },
  { b: 2, h: 8, w: 6, ci: 5, co: 8, kh: 3, kw: 2, s: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { b: 2, h: 9, w: 9, ci: 4, co: 8, kh: 3, kw: 3, s: 2, pad: 'same' },
  { b: 32, h: 28, w: 28, ci: 1, co: 32, kh: 3, kw: 3, s: 1, pad: 'same' },
  // The default image network's first convolution (5×5 over one channel), and a 'valid' one.
  { b: 8, h: 28, w: 28, ci: 1, co: 32, kh: 5, kw: 5, s: 1, pad: 'same' },
  { b: 8, h: 28, w: 28, ci: 1, co: 32, kh: 5, kw: 5, s: 1, pad: 'valid' },
];

const name = (c: ConvCase) => `${c.b}x${c.h}x${c.w}x${c.ci} -> ${c.co}, ${c.kh}x${c.kw}, stride ${c.s}, pad ${JSON.stringify(c.pad)}`;

/**
 * The filter gradient by its definition, in double precision: both backends run d2's
 * composition of it (the cpu backend's own kernel is too slow to train with), so the reference
 * is this loop. dW[i, j, ci, co] = Σ x[b, y·s + i - top, x·s + j - left, ci] · dy[b, y, x, co].
 */
function referenceFilterGrad(c: ConvCase, x: Float32Array, dy: Float32Array, dys: number[]): Float32Array {
  const [, oh, ow] = dys as [number, number, number, number];
  let top = 0;
  let left = 0;
  if (c.pad === 'same') {
    top = Math.floor(Math.max(0, (oh - 1) * c.s + c.kh - c.h) / 2);
    left = Math.floor(Math.max(0, (ow - 1) * c.s + c.kw - c.w) / 2);
  } else if (Array.isArray(c.pad)) {
    top = (c.pad[1] as number[])[0]!;
    left = (c.pad[2] as number[])[0]!;
  }
  const out = new Float64Array(c.kh * c.kw * c.ci * c.co);
  for (let b = 0; b < c.b; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        for (let i = 0; i < c.kh; i++) {
          const r = y * c.s + i - top;
          if (r < 0 || r >= c.h) continue;
          for (let j = 0; j < c.kw; j++) {
            const col = xx * c.s + j - left;
            if (col < 0 || col >= c.w) continue;
            for (let ci = 0; ci < c.ci; ci++) {
              const xv = x[((b * c.h + r) * c.w + col) * c.ci + ci]!;
              for (let co = 0; co < c.co; co++) out[((i * c.kw + j) * c.ci + ci) * c.co + co]! += xv * dy[((b * oh + y) * ow + xx) * c.co + co]!;
            }
          }
        }
      }
    }
  }
  return Float32Array.from(out);
}

describe('Conv2DBackpropFilter (wasm and cpu vs its definition)', () => {
  it.each(CONV_CASES.map((c) => [name(c), c] as const))('%s', async (_, c) => {
    const x = rand([c.b, c.h, c.w, c.ci], 1);
    const dy = rand(dyShape(c, c.co), 2);
    const attrs = { strides: [c.s, c.s], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [c.kh, c.kw, c.ci, c.co] };
    const expected = referenceFilterGrad(c, x.data, dy.data, dy.shape);
    for (const backend of ['cpu', 'wasm'] as const) {
      const got = await runOn(backend, 'Conv2DBackpropFilter', { x, dy }, attrs);
      expect(got.shape).toEqual([c.kh, c.kw, c.ci, c.co]);
      expect(relativeError(got.data, expected), backend).toBeLessThanOrEqual(1e-5);
    }
  });
});

describe('FusedConv2D (wasm vs cpu)', () => {
  // d2's SIMD kernel takes stride 1 with Co a multiple of 16; the others go to XNNPACK.
  const cases: ConvCase[] = [
    { b: 4, h: 28, w: 28, ci: 1, co: 16, kh: 3, kw: 3, s: 1, pad: 'valid' },
    { b: 3, h: 13, w: 13, ci: 16, co: 32, kh: 3, kw: 3, s: 1, pad: 'valid' },
    { b: 2, h: 9, w: 7, ci: 3, co: 48, kh: 3, kw: 3, s: 1, pad: 'same' },
    { b: 2, h: 8, w: 6, ci: 5, co: 16, kh: 3, kw: 2, s: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
    { b: 1, h: 7, w: 5, ci: 4, co: 32, kh: 5, kw: 5, s: 1, pad: 'same' },
    { b: 4, h: 28, w: 28, ci: 1, co: 32, kh: 5, kw: 5, s: 1, pad: 'same' },
    { b: 4, h: 28, w: 28, ci: 1, co: 32, kh: 5, kw: 5, s: 1, pad: 'valid' },
    { b: 2, h: 9, w: 9, ci: 4, co: 16, kh: 3, kw: 3, s: 2, pad: 'same' },
    { b: 2, h: 9, w: 9, ci: 4, co: 12, kh: 3, kw: 3, s: 1, pad: 'same' },
  ];
  for (const c of cases) {
    for (const activation of ['relu', 'linear'] as const) {
      for (const withBias of [true, false]) {
        it(`${name(c)}, ${activation}${withBias ? ', bias' : ''}`, async () => {
          await compare('FusedConv2D', {
            x: rand([c.b, c.h, c.w, c.ci], 5),
            filter: rand([c.kh, c.kw, c.ci, c.co], 6),
            ...(withBias ? { bias: rand([c.co], 7) } : {}),
          }, { strides: [c.s, c.s], pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined, activation, leakyreluAlpha: 0.2 });
        });
      }
    }
  }
});

describe('Conv2DBackpropInput (wasm vs cpu)', () => {
  it.each(CONV_CASES.map((c) => [name(c), c] as const))('%s', async (_, c) => {
    await compare('Conv2DBackpropInput', {
      dy: rand(dyShape(c, c.co), 3),
      filter: rand([c.kh, c.kw, c.ci, c.co], 4),
    }, { strides: [c.s, c.s], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: [c.b, c.h, c.w, c.ci] });
  });
});

const DEPTHWISE_CASES: ConvCase[] = [
  { b: 2, h: 7, w: 7, ci: 3, co: 1, kh: 3, kw: 3, s: 1, pad: 'same' },
  { b: 2, h: 8, w: 8, ci: 2, co: 2, kh: 3, kw: 3, s: 2, pad: 'valid' },
  { b: 3, h: 9, w: 9, ci: 4, co: 1, kh: 3, kw: 3, s: 2, pad: 'same' },
  { b: 1, h: 6, w: 5, ci: 2, co: 3, kh: 2, kw: 3, s: 1, pad: 'valid' },
];

describe('DepthwiseConv2dNativeBackpropFilter (wasm vs cpu; co is the channel multiplier)', () => {
  it.each(DEPTHWISE_CASES.map((c) => [name(c), c] as const))('%s', async (_, c) => {
    await compare('DepthwiseConv2dNativeBackpropFilter', {
      x: rand([c.b, c.h, c.w, c.ci], 5),
      dy: rand(dyShape(c, c.ci * c.co), 6),
    }, { strides: [c.s, c.s], dilations: [1, 1], pad: c.pad, dimRoundingMode: undefined, filterShape: [c.kh, c.kw, c.ci, c.co] });
  });
});

describe('DepthwiseConv2dNativeBackpropInput (wasm vs cpu; co is the channel multiplier)', () => {
  it.each(DEPTHWISE_CASES.map((c) => [name(c), c] as const))('%s', async (_, c) => {
    await compare('DepthwiseConv2dNativeBackpropInput', {
      dy: rand(dyShape(c, c.ci * c.co), 7),
      filter: rand([c.kh, c.kw, c.ci, c.co], 8),
    }, { strides: [c.s, c.s], dilations: [1, 1], pad: c.pad, dimRoundingMode: undefined, inputShape: [c.b, c.h, c.w, c.ci] });
  });
});

describe('BatchMatMul with transposed operands (wasm vs cpu)', () => {
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['a^T b', [1, 7, 5], [1, 7, 3], true, false],
    ['a b^T', [1, 5, 7], [1, 3, 7], false, true],
    ['a^T b^T', [1, 7, 5], [1, 3, 7], true, true],
    ['a b', [1, 64, 40], [1, 40, 24], false, false],
    ['a^T b, reference MLP first layer (64 x 784)^T (64 x 256)', [1, 64, 784], [1, 64, 256], true, false],
    ['a^T b, reference MLP input gradient (128 x 256)^T (128 x 32)', [128, 256], [128, 32], true, false],
    ['a^T b, odd rows (5 x 7)^T (5 x 16)', [1, 5, 7], [1, 5, 16], true, false],
    ['batched a^T b (batch 3: the scalar path)', [3, 6, 4], [3, 6, 5], true, false],
  ];
  it.each(cases)('%s', async (_, as, bs, transposeA, transposeB) => {
    await compare('BatchMatMul', { a: rand(as, 9), b: rand(bs, 10) }, { transposeA, transposeB });
  });
});

describe('Transpose (wasm, d2\'s SIMD kernel for matrices of multiples of 4)', () => {
  it.each([[[256, 32]], [[32, 784]], [[4, 4]], [[8, 12]], [[6, 8]], [[3, 5]], [[2, 4, 8]]])('%j equals the cpu backend bit for bit', async (shape) => {
    const x = rand(shape, 21);
    const perm = shape.length === 2 ? [1, 0] : [0, 2, 1];
    const cpu = await runOn('cpu', 'Transpose', { x }, { perm });
    const wasm = await runOn('wasm', 'Transpose', { x }, { perm });
    expect(wasm.shape).toEqual(cpu.shape);
    expect(Buffer.from(wasm.data.buffer, wasm.data.byteOffset, wasm.data.byteLength).equals(Buffer.from(cpu.data.buffer, cpu.data.byteOffset, cpu.data.byteLength))).toBe(true);
  });
});

describe('Sum over the last axis (wasm, d2\'s SIMD kernel for matrices of multiples of 4)', () => {
  const bits = (t: import('@tensorflow/tfjs').Tensor) => Buffer.from((t.dataSync() as Float32Array).buffer);
  it.each([[[256, 32], 1], [[128, 32], -1], [[4, 4], 1], [[12, 800], [1]], [[10, 32], 1], [[8, 6], 1], [[8, 32], 0], [[2, 4, 8], 2]])('%j over axis %j equals the backend\'s own kernel bit for bit', async (shape, axis) => {
    await selectEngine('wasm');
    const { originalKernel } = await import('./wasm-kernels.js');
    const x = tf.tensor(rand(shape as number[], 23).data, shape as number[]);
    const attrs = { axis, keepDims: false };
    const ours = tf.engine().runKernel('Sum', { x }, attrs as never) as import('@tensorflow/tfjs').Tensor;
    const info = originalKernel('wasm', 'Sum')!({ inputs: { x }, attrs: attrs as never, backend: tf.backend() }) as import('@tensorflow/tfjs').TensorInfo;
    const theirs = tf.engine().makeTensorFromTensorInfo(info);
    expect(ours.shape).toEqual(theirs.shape);
    expect(bits(ours).equals(bits(theirs))).toBe(true);
    tf.dispose([x, ours, theirs]);
  });
});

describe('MaxPoolGrad (wasm vs cpu)', () => {
  const cases: [string, number[], number, number, Pad, number][] = [
    ['2x2 stride 2 valid', [2, 8, 8, 3], 2, 2, 'valid', 0],
    ['2x2 stride 2 valid, odd size (last row and column unused)', [3, 11, 11, 4], 2, 2, 'valid', 0],
    ['2x2 stride 2 valid, many ties (values 0..2)', [4, 10, 10, 5], 2, 2, 'valid', 3],
    ['3x3 stride 2 same (overlapping windows, padding)', [2, 9, 7, 2], 3, 2, 'same', 0],
    ['3x3 stride 1 same with ties', [2, 6, 6, 3], 3, 1, 'same', 2],
  ];
  it.each(cases)('%s', async (_, shape, k, s, pad, levels) => {
    const x = rand(shape, 11, levels);
    const ph = pad === 'same' ? Math.ceil(shape[1]! / s) : Math.floor((shape[1]! - k) / s) + 1;
    const pw = pad === 'same' ? Math.ceil(shape[2]! / s) : Math.floor((shape[2]! - k) / s) + 1;
    await compare('MaxPoolGrad', {
      dy: rand([shape[0]!, ph, pw, shape[3]!], 12),
      input: x,
      output: rand([shape[0]!, ph, pw, shape[3]!], 13),
    }, { filterSize: [k, k], strides: [s, s], pad, dimRoundingMode: undefined });
  });
});

describe('gradients through autodiff on wasm', () => {
  it('a small CNN loss has the same gradients on wasm as on cpu', async () => {
    const x = rand([4, 12, 12, 2], 20);
    const w1 = rand([3, 3, 2, 5], 21);
    const w2 = rand([3, 3, 5, 4], 22);
    const run = async (backend: 'wasm' | 'cpu') => {
      await selectEngine(backend);
      return tf.tidy(() => {
        const xt = tf.tensor4d(x.data, x.shape as [number, number, number, number]);
        const f = (a: import('@tensorflow/tfjs').Tensor4D, b: import('@tensorflow/tfjs').Tensor4D) => {
          const h = tf.maxPool(tf.relu(tf.conv2d(xt, a, 1, 'same')), 2, 2, 'valid');
          return tf.sum(tf.square(tf.conv2d(h, b, 2, 'valid')));
        };
        const grads = tf.grads(f as never)([
          tf.tensor4d(w1.data, w1.shape as [number, number, number, number]),
          tf.tensor4d(w2.data, w2.shape as [number, number, number, number]),
        ]);
        return grads.map((g) => g.dataSync() as Float32Array);
      });
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    for (let i = 0; i < cpu.length; i++) expect(relativeError(wasm[i]!, cpu[i]!)).toBeLessThanOrEqual(1e-4);
  });
});

/**
 * d2's SIMD kernels sum in the order of what they replaced, so models are the same bit for bit
 * with and without them (no trainer version bump): each is compared here with the backend's
 * XNNPACK path it replaced, run through public operations or the original kernel.
 */
describe('SIMD kernels give the bits of the paths they replaced', () => {
  const bits = (t: import('@tensorflow/tfjs').Tensor) => Buffer.from((t.dataSync() as Float32Array).buffer);
  const cases = [
    { x: [32, 28, 28, 1], k: 3, co: 16, pad: 'valid' },
    { x: [32, 13, 13, 16], k: 3, co: 32, pad: 'valid' },
    { x: [4, 12, 12, 32], k: 3, co: 48, pad: 'same' },
    { x: [3, 9, 9, 3], k: 5, co: 16, pad: 'same' },
  ] as const;

  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('FusedConv2D and Conv2DBackpropInput, %s', async (_, c) => {
    await selectEngine('wasm');
    const { originalKernel } = await import('./wasm-kernels.js');
    const [b, h, w, ci] = c.x;
    const x = tf.tensor(rand([...c.x], 1).data, [...c.x]);
    const filter = tf.tensor(rand([c.k, c.k, ci, c.co], 2).data, [c.k, c.k, ci, c.co]);
    const bias = tf.tensor(rand([c.co], 3).data, [c.co]);
    const attrs = { strides: [1, 1], pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined, activation: 'relu', leakyreluAlpha: 0.2 };
    const ours = tf.engine().runKernel('FusedConv2D', { x, filter, bias }, attrs as never) as import('@tensorflow/tfjs').Tensor;
    const info = originalKernel('wasm', 'FusedConv2D')!({ inputs: { x, filter, bias }, attrs: attrs as never, backend: tf.backend() }) as import('@tensorflow/tfjs').TensorInfo;
    const theirs = tf.engine().makeTensorFromTensorInfo(info);
    expect(bits(ours).equals(bits(theirs))).toBe(true);
    // The input gradient: XNNPACK's correlation of the padded output gradient with the
    // flipped filter, as the composition computed it.
    if (ci % 16 === 0) {
      const [oh, ow] = [ours.shape[1]!, ours.shape[2]!];
      const dy = tf.tensor(rand([b, oh, ow, c.co], 4).data, [b, oh, ow, c.co]);
      const got = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { strides: [1, 1], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: [b, h, w, ci] } as never) as import('@tensorflow/tfjs').Tensor;
      const front = c.pad === 'valid' ? c.k - 1 : (c.k - 1) - Math.floor((c.k - 1) / 2);
      const back = c.k - 1 - (c.pad === 'valid' ? 0 : Math.floor((c.k - 1) / 2));
      const composed = tf.conv2d(tf.pad(dy, [[0, 0], [front, c.pad === 'valid' ? c.k - 1 : back], [front, c.pad === 'valid' ? c.k - 1 : back], [0, 0]]) as never,
        tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as never, 1, 'valid') as import('@tensorflow/tfjs').Tensor;
      expect(got.shape).toEqual(composed.shape);
      expect(bits(got).equals(bits(composed))).toBe(true);
      tf.dispose([dy, got, composed]);
    }
    tf.dispose([x, filter, bias, ours, theirs]);
  });

  it.each([[[256, 784], [784, 32]], [[1, 64, 32], [1, 32, 800]], [[10, 64], [64, 48]], [[3, 5], [5, 16]], [[256, 128], [128, 32]], [[128, 10], [10, 32]], [[7, 3], [3, 16]]])('BatchMatMul %j · %j', async (sa, sb) => {
    await selectEngine('wasm');
    const { originalKernel } = await import('./wasm-kernels.js');
    const a = tf.tensor(rand(sa, 8).data, sa);
    const b = tf.tensor(rand(sb, 9).data, sb);
    const attrs = { transposeA: false, transposeB: false, bias: undefined, activation: 'linear' };
    const ours = tf.engine().runKernel('BatchMatMul', { a, b }, attrs as never) as import('@tensorflow/tfjs').Tensor;
    const info = originalKernel('wasm', 'BatchMatMul')!({ inputs: { a, b }, attrs: attrs as never, backend: tf.backend() }) as import('@tensorflow/tfjs').TensorInfo;
    const theirs = tf.engine().makeTensorFromTensorInfo(info);
    expect(ours.shape).toEqual(theirs.shape);
    expect(bits(ours).equals(bits(theirs))).toBe(true);
    // and with a transposed operand, the product of the explicit transpose
    const t = tf.engine().runKernel('BatchMatMul', { a, b: tf.transpose(b, sb.length === 3 ? [0, 2, 1] : [1, 0]) }, { ...attrs, transposeB: true } as never) as import('@tensorflow/tfjs').Tensor;
    expect(bits(t).equals(bits(theirs))).toBe(true);
    // a stored transposed: d2's SIMD kernel reads it in place (n a multiple of 16), the same bits
    const aT = tf.transpose(a, sa.length === 3 ? [0, 2, 1] : [1, 0]);
    const ta = tf.engine().runKernel('BatchMatMul', { a: aT, b }, { ...attrs, transposeA: true } as never) as import('@tensorflow/tfjs').Tensor;
    expect(ta.shape).toEqual(theirs.shape);
    expect(bits(ta).equals(bits(theirs))).toBe(true);
    tf.dispose([a, b, ours, theirs, t, aT, ta]);
  });

  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('Conv2DBackpropFilter, %s', async (_, c) => {
    await selectEngine('wasm');
    const [b, h, w, ci] = c.x;
    const oh = c.pad === 'valid' ? h - c.k + 1 : h;
    const ow = c.pad === 'valid' ? w - c.k + 1 : w;
    const x = tf.tensor(rand([...c.x], 5).data, [...c.x]);
    const dy = tf.tensor(rand([b, oh, ow, c.co], 6).data, [b, oh, ow, c.co]);
    const got = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [c.k, c.k, ci, c.co] } as never) as import('@tensorflow/tfjs').Tensor;
    const top = c.pad === 'valid' ? 0 : Math.floor((c.k - 1) / 2);
    const xp = tf.pad(x, [[0, 0], [top, c.k - 1 - top], [top, c.k - 1 - top], [0, 0]].map((p) => (c.pad === 'valid' ? [0, 0] : p)) as never);
    let composed: import('@tensorflow/tfjs').Tensor;
    const cols = c.k * c.k * ci;
    if (cols <= 36) {
      // patchesᵀ · dy, the patches from a convolution with one-hot filters
      const eye = tf.reshape(tf.eye(cols), [c.k, c.k, ci, cols]);
      const patches = tf.reshape(tf.conv2d(xp as never, eye as never, 1, 'valid'), [b * oh * ow, cols]);
      composed = tf.reshape(tf.matMul(tf.transpose(patches), tf.reshape(dy, [b * oh * ow, c.co])), [c.k, c.k, ci, c.co]);
    } else {
      // the transposed input convolved with the transposed output gradient
      const r = tf.conv2d(tf.transpose(xp, [3, 1, 2, 0]) as never, tf.transpose(dy, [1, 2, 0, 3]) as never, 1, 'valid');
      composed = tf.transpose(tf.slice(r, [0, 0, 0, 0], [ci, c.k, c.k, c.co]), [1, 2, 0, 3]);
    }
    expect(bits(got).equals(bits(composed))).toBe(true);
    tf.dispose([x, dy, got, xp, composed]);
  });
});
