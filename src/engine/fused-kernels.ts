/**
 * d2's own fused kernels for the training step's memory-bound parts, as plain loops over the
 * backend's memory (the wasm heap, or the cpu backend's arrays), registered under d2 names for
 * the 'wasm' and 'cpu' backends. On other backends the same functions are composed from
 * standard operations, so every engine computes the same function.
 *
 * - D2MaxPoolReluGrad: the gradient through ReLU then a k×k stride-k max pool (valid
 *   padding): each output gradient goes to the first maximum of its window (row-major, as
 *   TensorFlow and the cpu backend), and only if that maximum is positive (ReLU's derivative).
 * - D2BiasGrad: the sum over every axis but the last (a conv bias's gradient, NHWC).
 * - D2BiasAct: a feature-major dense layer's bias and activation, act(z[r, j] + bias[r]), in one
 *   call where the composition takes three (reshape, add, relu): the same float32 sum, and
 *   ReLU as the backends compute it.
 * - D2ReluGrad: dy × step(y) in one call where the composition takes two.
 * - D2BatchNormRelu: training-time batch normalisation of z [rows, C] (NHWC) then ReLU,
 *   y = relu(z·a + b), a = γ/σ, b = β − mean·a, with the per-channel mean and 1/σ (σ² the
 *   biased variance + ε) as further outputs: two passes over z (statistics, then y) where the
 *   composition takes about ten.
 * - D2BatchNormReluGrad: its backward pass from dy (the gradient after the ReLU, or before it
 *   when the ReLU's output y is given): dβ, dγ and dz in two passes.
 *
 * The batch-norm kernels compute in float64 (statistics summed row by row, channel by channel:
 * a fixed order) and store float32; they equal the compositions to float32 rounding, not bit
 * for bit (tests compare them within 1e-5).
 *
 * On the wasm backend the kernels run as SIMD code over the backend's memory where the shapes
 * allow (simd-kernels.ts: 2×2 pools over a multiple of 4 channels, biases of a multiple of 16,
 * bias and activation over a multiple of 4 items, ReLU gradients in blocks of 4, batch norm
 * over a multiple of 8 channels), and as the loops below otherwise; both give the same bits.
 *
 * Invariants: each kernel allocates exactly its outputs (the batch-norm kernels' float64
 * scratch on the wasm heap is freed before they return); inputs are never written; results
 * equal the composed fallback's (tests compare them).
 */
import type { KernelBackend, KernelFunc, Tensor, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from './engines.js';
import { batchNormFits, biasGradFits, maxPool2ReluGradFits, simdKernelsFor, type SimdKernels, type WasmMemory } from './simd-kernels.js';

export const MAX_POOL_RELU_GRAD = 'D2MaxPoolReluGrad';
export const BIAS_GRAD = 'D2BiasGrad';
export const BIAS_ACT = 'D2BiasAct';
export const RELU_GRAD = 'D2ReluGrad';
export const BATCH_NORM_RELU = 'D2BatchNormRelu';
export const BATCH_NORM_RELU_GRAD = 'D2BatchNormReluGrad';

interface Memory {
  read(t: TensorInfo): Float32Array;
  /** A new float32 output; `values` is valid until the next allocation on this backend. */
  alloc(shape: number[]): { info: TensorInfo; values: Float32Array };
}

interface WasmLike extends KernelBackend {
  wasm: { HEAPU8: Uint8Array; asm?: { memory?: WasmMemory }; _malloc(bytes: number): number; _free(at: number): void };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}
interface CpuLike extends KernelBackend {
  data: { get(dataId: object): { values: Float32Array } | undefined };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function memoryOf(backendName: string, backend: KernelBackend): Memory {
  if (backendName === 'wasm') {
    const be = backend as WasmLike;
    const view = (t: TensorInfo) => new Float32Array(be.wasm.HEAPU8.buffer, be.dataIdMap.get(t.dataId)!.memoryOffset, size(t.shape));
    return {
      read: view,
      alloc: (shape) => {
        const info = be.makeOutput(shape, 'float32');
        return { info, values: view(info) };
      },
    };
  }
  const be = backend as CpuLike;
  return {
    read: (t) => be.data.get(t.dataId)!.values,
    alloc: (shape) => {
      const values = new Float32Array(size(shape));
      return { info: be.makeTensorInfo(shape, 'float32', values), values };
    },
  };
}

/** The ReLU + max-pool gradient as a loop (the reference for the SIMD kernel): dx must be zeroed. */
export function maxPoolReluGradLoop(xs: Float32Array, gs: Float32Array, dx: Float32Array, n: number, h: number, w: number, c: number, k: number): void {
  const oh = Math.floor(h / k);
  const ow = Math.floor(w / k);
  const rowStride = w * c;
  for (let b = 0; b < n; b++) {
    const xb = b * h * rowStride;
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const base = xb + i * k * rowStride + j * k * c;
        const g = ((b * oh + i) * ow + j) * c;
        for (let ch = 0; ch < c; ch++) {
          let best = 0;
          let at = -1;
          for (let y = 0; y < k; y++) {
            let p = base + y * rowStride + ch;
            for (let xx = 0; xx < k; xx++, p += c) {
              const v = xs[p] as number;
              // First strict maximum; a maximum of 0 (or less) has no ReLU gradient.
              if (v > best) {
                best = v;
                at = p;
              }
            }
          }
          if (at >= 0) dx[at] = gs[g + ch] as number;
        }
      }
    }
  }
}

/** act(x + bias per row) for feature-major x [rows, n] (the reference for the SIMD kernel). */
export function biasActLoop(xs: Float32Array, bs: Float32Array, ys: Float32Array, rows: number, n: number, relu: boolean): void {
  for (let r = 0, p = 0; r < rows; r++) {
    const b = bs[r] as number;
    for (let j = 0; j < n; j++, p++) {
      // The float32 sum as Add stores it, then ReLU as max(v, 0) (NaN kept).
      const v = Math.fround((xs[p] as number) + b);
      ys[p] = relu && v < 0 ? 0 : v;
    }
  }
}

/** dx = dy × step(y) from element `from` on (the reference for the SIMD kernel). */
export function reluGradLoop(gs: Float32Array, ys: Float32Array, dx: Float32Array, from = 0): void {
  // A product with 1 or 0, so a negative dy where y ≤ 0 gives -0, as Multiply does.
  for (let i = from; i < dx.length; i++) dx[i] = (gs[i] as number) * ((ys[i] as number) > 0 ? 1 : 0);
}

/** The sum over rows of a [rows, c] matrix, in float64 row by row (the reference for the SIMD kernel). */
export function biasGradLoop(gs: Float32Array, values: Float32Array, rows: number, c: number): void {
  const acc = new Float64Array(c);
  for (let r = 0, p = 0; r < rows; r++) for (let ch = 0; ch < c; ch++, p++) acc[ch] = (acc[ch] as number) + (gs[p] as number);
  for (let ch = 0; ch < c; ch++) values[ch] = acc[ch] as number;
}

/**
 * The filter gradient of a stride-1 'valid' convolution as a loop (the reference for the SIMD
 * kernel): x [n, hp, wp, ci] (padded beforehand), dy [n, oh, ow, co], dw [kh, kw, ci, co];
 * each element a float32 sum over positions in (b, y, x) order, or (y, x, b) with `batchInner`.
 */
export function convFilterGradLoop(x: Float32Array, dy: Float32Array, dw: Float32Array, n: number, hp: number, wp: number, ci: number, oh: number, ow: number, co: number, kh: number, kw: number, batchInner = false): void {
  const positions: [number, number, number][] = [];
  if (batchInner) {
    for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) for (let b = 0; b < n; b++) positions.push([b, y, xx]);
  } else {
    for (let b = 0; b < n; b++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) positions.push([b, y, xx]);
  }
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      for (let c = 0; c < ci; c++) {
        const row = ((ky * kw + kx) * ci + c) * co;
        for (let o = 0; o < co; o++) {
          let acc = 0;
          for (const [b, y, xx] of positions) {
            const p = (b * oh + y) * ow + xx;
            acc = Math.fround(acc + Math.fround((x[((b * hp + y + ky) * wp + xx + kx) * ci + c] as number) * (dy[p * co + o] as number)));
          }
          dw[row + o] = acc;
        }
      }
    }
  }
}

/**
 * A stride-1 'valid' correlation as a loop (the reference for the SIMD kernel): out [n, oh, ow,
 * cout] = act(bias + Σ in [n, ph, pw, cin] · w [kh, kw, cin, cout]), each element a float32 sum
 * starting from the bias (0 without), over ky, then kx and the input channel, in order; act is
 * max(·, 0) with `relu`.
 */
export function conv2dLoop(input: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array, n: number, ph: number, pw: number, cin: number, oh: number, ow: number, cout: number, kh: number, kw: number, relu: boolean): void {
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        for (let o = 0; o < cout; o++) {
          let acc = bias ? (bias[o] as number) : 0;
          for (let ky = 0; ky < kh; ky++) {
            const row = ((b * ph + y + ky) * pw + x) * cin;
            for (let t = 0; t < kw * cin; t++) acc = Math.fround(acc + Math.fround((input[row + t] as number) * (w[(ky * kw * cin + t) * cout + o] as number)));
          }
          out[((b * oh + y) * ow + x) * cout + o] = relu ? Math.max(acc, 0) : acc;
        }
      }
    }
  }
}

/**
 * Batch normalisation's statistics as a loop (the reference for the SIMD kernel): per channel,
 * in float64 row by row, s1 = Σ(z − K) and s2 = Σ(z − K)² with K the channel's value in the
 * first row. Then mean = K + s1/M and variance = s2/M − (s1/M)² (`batchNormCoefficients`): with
 * float32 data summed in float64, the cancellation costs about 2⁻⁵³·(mean − K)²/variance,
 * negligible unless the first row lies millions of standard deviations from the mean; so one
 * pass is as accurate as two (mean, then centred squares) for any realistic activation.
 */
export function batchNormStatsLoop(z: Float32Array, rows: number, c: number, s1: Float64Array, s2: Float64Array): void {
  s1.fill(0, 0, c);
  s2.fill(0, 0, c);
  for (let r = 0, p = 0; r < rows; r++) {
    for (let ch = 0; ch < c; ch++, p++) {
      const d = (z[p] as number) - (z[ch] as number);
      s1[ch] = (s1[ch] as number) + d;
      s2[ch] = (s2[ch] as number) + d * d;
    }
  }
}

/**
 * From the shifted sums (batchNormStatsLoop): mean and invStd = 1/√(variance + ε) (stored as
 * float32), and in float64 the coefficients of y = relu(z·a + b), a = γ·invStd, b = β − mean·a.
 */
export function batchNormCoefficients(z: Float32Array, s1: Float64Array, s2: Float64Array, gamma: Float32Array, beta: Float32Array, epsilon: number, rows: number, c: number, mean: Float32Array, invStd: Float32Array, a: Float64Array, b: Float64Array): void {
  for (let ch = 0; ch < c; ch++) {
    const m1 = (s1[ch] as number) / rows;
    const mu = (z[ch] as number) + m1;
    const is = 1 / Math.sqrt(Math.max(0, (s2[ch] as number) / rows - m1 * m1) + epsilon);
    a[ch] = (gamma[ch] as number) * is;
    b[ch] = (beta[ch] as number) - mu * (a[ch] as number);
    mean[ch] = mu;
    invStd[ch] = is;
  }
}

/** y = relu(z·a + b) per channel, z·a + b in float64 rounded to float32, then max(·, 0) (NaN kept). */
export function batchNormApplyLoop(z: Float32Array, a: Float64Array, b: Float64Array, rows: number, c: number, y: Float32Array): void {
  for (let r = 0, p = 0; r < rows; r++) {
    for (let ch = 0; ch < c; ch++, p++) {
      const v = Math.fround((z[p] as number) * (a[ch] as number) + (b[ch] as number));
      y[p] = v < 0 ? 0 : v;
    }
  }
}

/** Batch normalisation then ReLU over z [rows, c] (the kernel D2BatchNormRelu): y [rows, c], and per channel mean and invStd. */
export function batchNormReluLoop(z: Float32Array, gamma: Float32Array, beta: Float32Array, epsilon: number, rows: number, c: number, y: Float32Array, mean: Float32Array, invStd: Float32Array): void {
  const s1 = new Float64Array(c);
  const s2 = new Float64Array(c);
  const a = new Float64Array(c);
  const b = new Float64Array(c);
  batchNormStatsLoop(z, rows, c, s1, s2);
  batchNormCoefficients(z, s1, s2, gamma, beta, epsilon, rows, c, mean, invStd, a, b);
  batchNormApplyLoop(z, a, b, rows, c, y);
}

/** The gradient at the normalisation's output: dy, or 0 where the ReLU's output y is not positive. */
const reluMasked = (dy: Float32Array, y: Float32Array | null, p: number): number => (y && !((y[p] as number) > 0) ? 0 : (dy[p] as number));

/**
 * The backward pass's sums as a loop (the reference for the SIMD kernel): per channel, in
 * float64 row by row, sb = Σ g and sc = Σ g·(z − mean), g being dy masked by y > 0 when y is given.
 */
export function batchNormGradSumsLoop(dy: Float32Array, y: Float32Array | null, z: Float32Array, mean: Float32Array, rows: number, c: number, sb: Float64Array, sc: Float64Array): void {
  sb.fill(0, 0, c);
  sc.fill(0, 0, c);
  for (let r = 0, p = 0; r < rows; r++) {
    for (let ch = 0; ch < c; ch++, p++) {
      const g = reluMasked(dy, y, p);
      sb[ch] = (sb[ch] as number) + g;
      sc[ch] = (sc[ch] as number) + g * ((z[p] as number) - (mean[ch] as number));
    }
  }
}

/**
 * From the sums (batchNormGradSumsLoop): dβ = sb, dγ = sc·invStd (stored as float32), and in
 * float64 the coefficients of dz = a·g + k·(z − mean) + b: a = γ·invStd, k = −a·dγ·invStd/M,
 * b = −a·dβ/M (M = rows). This is dz = γ·invStd/M · (M·g − dβ − ẑ·dγ), ẑ = (z − mean)·invStd.
 */
export function batchNormGradCoefficients(sb: Float64Array, sc: Float64Array, invStd: Float32Array, gamma: Float32Array, rows: number, c: number, dgamma: Float32Array, dbeta: Float32Array, a: Float64Array, k: Float64Array, b: Float64Array): void {
  for (let ch = 0; ch < c; ch++) {
    const is = invStd[ch] as number;
    const dg = (sc[ch] as number) * is;
    a[ch] = (gamma[ch] as number) * is;
    k[ch] = (-(a[ch] as number) * dg * is) / rows;
    b[ch] = (-(a[ch] as number) * (sb[ch] as number)) / rows;
    dgamma[ch] = dg;
    dbeta[ch] = sb[ch] as number;
  }
}

/** dz = a·g + k·(z − mean) + b per channel, in float64 (left to right) rounded to float32. */
export function batchNormGradApplyLoop(dy: Float32Array, y: Float32Array | null, z: Float32Array, mean: Float32Array, a: Float64Array, k: Float64Array, b: Float64Array, rows: number, c: number, dz: Float32Array): void {
  for (let r = 0, p = 0; r < rows; r++) {
    for (let ch = 0; ch < c; ch++, p++) {
      dz[p] = (a[ch] as number) * reluMasked(dy, y, p) + (k[ch] as number) * ((z[p] as number) - (mean[ch] as number)) + (b[ch] as number);
    }
  }
}

/** Batch normalisation's backward pass (the kernel D2BatchNormReluGrad): dz [rows, c], dγ and dβ [c]. */
export function batchNormReluGradLoop(dy: Float32Array, y: Float32Array | null, z: Float32Array, mean: Float32Array, invStd: Float32Array, gamma: Float32Array, rows: number, c: number, dz: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void {
  const sb = new Float64Array(c);
  const sc = new Float64Array(c);
  const a = new Float64Array(c);
  const k = new Float64Array(c);
  const b = new Float64Array(c);
  batchNormGradSumsLoop(dy, y, z, mean, rows, c, sb, sc);
  batchNormGradCoefficients(sb, sc, invStd, gamma, rows, c, dgamma, dbeta, a, k, b);
  batchNormGradApplyLoop(dy, y, z, mean, a, k, b, rows, c, dz);
}

/** The wasm backend's WebAssembly.Memory (where d2's SIMD kernels work), if this is one. */
export function wasmMemoryOf(backend: KernelBackend): WasmMemory | undefined {
  return (backend as Partial<WasmLike>).wasm?.asm?.memory;
}

/**
 * Copy a float32 tensor's values into `out` at `at`: straight from the backend's memory on the
 * wasm and cpu backends (one copy, where `dataSync` makes a second one), else through dataSync.
 */
export function readInto(tf: Tf, t: Tensor, out: Float32Array, at: number): void {
  const name = tf.getBackend();
  if ((name === 'wasm' || name === 'cpu') && t.dtype === 'float32') {
    const values = memoryOf(name, tf.backend()).read(t);
    if (values && values.length === t.size) {
      out.set(values, at);
      return;
    }
  }
  out.set(t.dataSync() as Float32Array, at);
}

/**
 * Overwrite a float32 tensor's values in place with `values` (same size) on the wasm backend;
 * false (nothing written) elsewhere. Only for tensors no kernel has cached a packed copy of:
 * the caller decides which those are (the backend's XNNPACK operators pack convolution
 * filters and biases and a product's second operand, keyed by tensor).
 */
export function writeInPlace(tf: Tf, t: Tensor, values: Float32Array): boolean {
  if (tf.getBackend() !== 'wasm' || t.dtype !== 'float32' || t.isDisposed || values.length !== t.size) return false;
  const be = tf.backend() as WasmLike;
  const info = be.dataIdMap.get(t.dataId);
  if (!info) return false;
  new Float32Array(be.wasm.HEAPU8.buffer, info.memoryOffset, t.size).set(values);
  return true;
}

const offsetOf = (backend: KernelBackend, t: TensorInfo): number => (backend as WasmLike).dataIdMap.get(t.dataId)!.memoryOffset;

function maxPoolReluGradKernel(backendName: string): KernelFunc {
  return (({ inputs, attrs, backend }: { inputs: Record<string, TensorInfo>; attrs: Record<string, unknown>; backend: KernelBackend }) => {
    const mem = memoryOf(backendName, backend);
    const dy = inputs.dy as TensorInfo;
    const x = inputs.x as TensorInfo;
    const k = attrs.size as number;
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const out = mem.alloc([n, h, w, c]);
    const simd = backendName === 'wasm' && maxPool2ReluGradFits(k, c) ? simdKernelsFor(wasmMemoryOf(backend)) : null;
    if (simd) {
      simd.maxPool2ReluGrad(offsetOf(backend, x), offsetOf(backend, dy), offsetOf(backend, out.info), n, h, w, c);
      return out.info;
    }
    // Views after the allocation: allocating may move the wasm heap.
    out.values.fill(0);
    maxPoolReluGradLoop(mem.read(x), mem.read(dy), out.values, n, h, w, c, k);
    return out.info;
  }) as unknown as KernelFunc;
}

function biasGradKernel(backendName: string): KernelFunc {
  return (({ inputs, backend }: { inputs: Record<string, TensorInfo>; backend: KernelBackend }) => {
    const mem = memoryOf(backendName, backend);
    const dy = inputs.dy as TensorInfo;
    const c = dy.shape.at(-1) as number;
    const rows = size(dy.shape) / c;
    const out = mem.alloc([c]);
    const simd = backendName === 'wasm' && biasGradFits(c) ? simdKernelsFor(wasmMemoryOf(backend)) : null;
    if (simd) simd.biasGrad(offsetOf(backend, dy), offsetOf(backend, out.info), rows, c);
    else biasGradLoop(mem.read(dy), mem.read(out.info), rows, c);
    return out.info;
  }) as unknown as KernelFunc;
}

function biasActKernel(backendName: string): KernelFunc {
  return (({ inputs, attrs, backend }: { inputs: Record<string, TensorInfo>; attrs: Record<string, unknown>; backend: KernelBackend }) => {
    const mem = memoryOf(backendName, backend);
    const x = inputs.x as TensorInfo;
    const [rows, n] = x.shape as [number, number];
    const out = mem.alloc([rows, n]);
    // Views after the allocation: allocating may move the wasm heap.
    const xs = mem.read(x);
    const bs = mem.read(inputs.bias as TensorInfo);
    const ys = mem.read(out.info);
    const relu = attrs.relu === true;
    const simd = backendName === 'wasm' && n % 4 === 0 ? simdKernelsFor(wasmMemoryOf(backend)) : null;
    if (simd) simd.biasAct(offsetOf(backend, x), offsetOf(backend, inputs.bias as TensorInfo), offsetOf(backend, out.info), rows, n, relu);
    else biasActLoop(xs, bs, ys, rows, n, relu);
    return out.info;
  }) as unknown as KernelFunc;
}

function reluGradKernel(backendName: string): KernelFunc {
  return (({ inputs, backend }: { inputs: Record<string, TensorInfo>; backend: KernelBackend }) => {
    const mem = memoryOf(backendName, backend);
    const dy = inputs.dy as TensorInfo;
    const out = mem.alloc(dy.shape);
    const gs = mem.read(dy);
    const ys = mem.read(inputs.y as TensorInfo);
    const dx = mem.read(out.info);
    const simd = backendName === 'wasm' ? simdKernelsFor(wasmMemoryOf(backend)) : null;
    // SIMD over a multiple of 4 elements, the loop over the rest.
    const from = simd ? dx.length & ~3 : 0;
    if (simd && from > 0) simd.reluGrad(offsetOf(backend, dy), offsetOf(backend, inputs.y as TensorInfo), offsetOf(backend, out.info), from);
    reluGradLoop(gs, ys, dx, from);
    return out.info;
  }) as unknown as KernelFunc;
}

/**
 * Float64 scratch of `count` numbers on the wasm heap for the SIMD batch-norm passes (their
 * per-channel sums and coefficients), given to `use` with its byte offset and freed after.
 * Views of tensors must be taken inside `use`: allocating may move the heap.
 */
function withWasmScratch(backend: KernelBackend, count: number, use: (at: number, view: () => Float64Array) => void): void {
  const wasm = (backend as WasmLike).wasm;
  const at = wasm._malloc(count * 8) >>> 0;
  try {
    if (at % 8 !== 0) throw new Error('internal: unaligned wasm allocation');
    use(at, () => new Float64Array(wasm.HEAPU8.buffer, at, count));
  } finally {
    wasm._free(at);
  }
}

/** The SIMD kernels when they fit a batch-norm kernel over [rows, c] on this backend, else null. */
function batchNormSimd(backendName: string, backend: KernelBackend, rows: number, c: number): SimdKernels | null {
  return backendName === 'wasm' && rows > 0 && batchNormFits(c) ? simdKernelsFor(wasmMemoryOf(backend)) : null;
}

/** Per-channel sums of a tensor's rows (every axis but the last), as batchNormStatsLoop gives them. */
export interface ChannelSums {
  rows: number;
  /** K: the first row's values. */
  shift: Float64Array;
  /** Σ(x − K) and Σ(x − K)², in float64 row by row. */
  s1: Float64Array;
  s2: Float64Array;
}

/**
 * The shifted per-channel sums of a float32 tensor [..., c] (batchNormStatsLoop), read in place
 * on the wasm (SIMD where it fits) and cpu backends, through dataSync elsewhere.
 */
export function channelSums(tf: Tf, t: Tensor): ChannelSums {
  const c = t.shape.at(-1) as number;
  const rows = c > 0 ? t.size / c : 0;
  const out: ChannelSums = { rows, shift: new Float64Array(c), s1: new Float64Array(c), s2: new Float64Array(c) };
  if (rows === 0) return out;
  const name = tf.getBackend();
  const backend = tf.backend();
  let values: Float32Array | undefined;
  if ((name === 'wasm' || name === 'cpu') && t.dtype === 'float32') {
    const simd = batchNormSimd(name, backend, rows, c);
    if (simd) {
      withWasmScratch(backend, 2 * c, (at, view) => {
        simd.batchNormStats(offsetOf(backend, t), rows, c, at);
        const sums = view();
        out.s1.set(sums.subarray(0, c));
        out.s2.set(sums.subarray(c, 2 * c));
        out.shift.set(memoryOf(name, backend).read(t).subarray(0, c));
      });
      return out;
    }
    const inPlace = memoryOf(name, backend).read(t);
    if (inPlace && inPlace.length === t.size) values = inPlace;
  }
  values ??= t.dataSync() as Float32Array;
  batchNormStatsLoop(values, rows, c, out.s1, out.s2);
  out.shift.set(values.subarray(0, c));
  return out;
}

function batchNormReluKernel(backendName: string): KernelFunc {
  return (({ inputs, attrs, backend }: { inputs: Record<string, TensorInfo>; attrs: Record<string, unknown>; backend: KernelBackend }) => {
    const mem = memoryOf(backendName, backend);
    const z = inputs.z as TensorInfo;
    const gamma = inputs.gamma as TensorInfo;
    const beta = inputs.beta as TensorInfo;
    const epsilon = attrs.epsilon as number;
    const c = z.shape.at(-1) as number;
    const rows = size(z.shape) / c;
    const y = mem.alloc(z.shape);
    const mean = mem.alloc([c]);
    const invStd = mem.alloc([c]);
    const simd = batchNormSimd(backendName, backend, rows, c);
    if (simd) {
      withWasmScratch(backend, 2 * c, (at, view) => {
        simd.batchNormStats(offsetOf(backend, z), rows, c, at);
        const sums = view();
        const s1 = sums.slice(0, c);
        const s2 = sums.slice(c, 2 * c);
        batchNormCoefficients(mem.read(z), s1, s2, mem.read(gamma), mem.read(beta), epsilon, rows, c, mem.read(mean.info), mem.read(invStd.info), sums.subarray(0, c), sums.subarray(c, 2 * c));
        simd.batchNormApply(offsetOf(backend, z), offsetOf(backend, y.info), at, rows, c);
      });
    } else {
      // Views after the allocations: allocating may move the wasm heap.
      batchNormReluLoop(mem.read(z), mem.read(gamma), mem.read(beta), epsilon, rows, c, mem.read(y.info), mem.read(mean.info), mem.read(invStd.info));
    }
    return [y.info, mean.info, invStd.info];
  }) as unknown as KernelFunc;
}

function batchNormReluGradKernel(backendName: string): KernelFunc {
  return (({ inputs, backend }: { inputs: Record<string, TensorInfo>; backend: KernelBackend }) => {
    const mem = memoryOf(backendName, backend);
    const { dy, z, mean, invStd, gamma } = inputs as Record<'dy' | 'z' | 'mean' | 'invStd' | 'gamma', TensorInfo>;
    const y = inputs.y;
    const c = z.shape.at(-1) as number;
    const rows = size(z.shape) / c;
    const dz = mem.alloc(z.shape);
    const dgamma = mem.alloc([c]);
    const dbeta = mem.alloc([c]);
    const simd = batchNormSimd(backendName, backend, rows, c);
    if (simd) {
      withWasmScratch(backend, 3 * c, (at, view) => {
        const yAt = y ? offsetOf(backend, y) : 0;
        simd.batchNormGradSums(offsetOf(backend, dy), yAt, offsetOf(backend, z), offsetOf(backend, mean), rows, c, at);
        const scratch = view();
        const sb = scratch.slice(0, c);
        const sc = scratch.slice(c, 2 * c);
        batchNormGradCoefficients(sb, sc, mem.read(invStd), mem.read(gamma), rows, c, mem.read(dgamma.info), mem.read(dbeta.info), scratch.subarray(0, c), scratch.subarray(c, 2 * c), scratch.subarray(2 * c));
        simd.batchNormGradApply(offsetOf(backend, dy), yAt, offsetOf(backend, z), offsetOf(backend, mean), offsetOf(backend, dz.info), at, rows, c);
      });
    } else {
      batchNormReluGradLoop(mem.read(dy), y ? mem.read(y) : null, mem.read(z), mem.read(mean), mem.read(invStd), mem.read(gamma), rows, c, mem.read(dz.info), mem.read(dgamma.info), mem.read(dbeta.info));
    }
    return [dz.info, dgamma.info, dbeta.info];
  }) as unknown as KernelFunc;
}

const registered = new Set<string>();

/** Register the kernels for a backend ('wasm' or 'cpu'; others use the composed fallbacks). */
export function registerFusedKernels(tf: Tf, backendName: string): void {
  if (backendName !== 'wasm' && backendName !== 'cpu') return;
  if (registered.has(backendName)) return;
  for (const [name, make] of [[MAX_POOL_RELU_GRAD, maxPoolReluGradKernel], [BIAS_GRAD, biasGradKernel], [BIAS_ACT, biasActKernel], [RELU_GRAD, reluGradKernel], [BATCH_NORM_RELU, batchNormReluKernel], [BATCH_NORM_RELU_GRAD, batchNormReluGradKernel]] as const) {
    if (!tf.getKernel(name, backendName)) tf.registerKernel({ kernelName: name, backendName, kernelFunc: make(backendName) });
  }
  registered.add(backendName);
}

/** Gradient through ReLU and a size×size stride-size max pool (valid): dy is the pool's output gradient, x its input. */
export function maxPoolReluGrad(tf: Tf, dy: Tensor, x: Tensor, poolSize: number): Tensor {
  if (tf.getKernel(MAX_POOL_RELU_GRAD, tf.getBackend())) {
    return tf.engine().runKernel(MAX_POOL_RELU_GRAD, { dy, x }, { size: poolSize } as never) as Tensor;
  }
  return tf.tidy(() => {
    const y = tf.maxPool(x as never, poolSize, poolSize, 'valid');
    const g = tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, { filterSize: [poolSize, poolSize], strides: [poolSize, poolSize], pad: 'valid' } as never) as Tensor;
    return tf.mul(g, tf.step(x));
  });
}

/** Sum over every axis but the last. */
export function biasGrad(tf: Tf, dy: Tensor): Tensor {
  if (tf.getKernel(BIAS_GRAD, tf.getBackend())) return tf.engine().runKernel(BIAS_GRAD, { dy }, {}) as Tensor;
  return tf.sum(dy, [...Array(dy.rank - 1).keys()]);
}

const recordingGradients = (tf: Tf): boolean => (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;

/** act(z + bias) for feature-major z [rows, n] and bias [rows]; act is ReLU or the identity. */
export function biasAct(tf: Tf, z: Tensor, bias: Tensor, relu: boolean): Tensor {
  // Under autodiff (tests check d2's backward pass against it) the composition, which has gradients.
  if (!recordingGradients(tf) && tf.getKernel(BIAS_ACT, tf.getBackend())) return tf.engine().runKernel(BIAS_ACT, { x: z, bias }, { relu } as never) as Tensor;
  const y = tf.add(z, tf.reshape(bias, [-1, 1]));
  return relu ? tf.relu(y) : y;
}

/** dy × step(y): the gradient through a ReLU whose output is y. */
export function reluGrad(tf: Tf, dy: Tensor, y: Tensor): Tensor {
  if (tf.getKernel(RELU_GRAD, tf.getBackend())) return tf.engine().runKernel(RELU_GRAD, { dy, y }, {}) as Tensor;
  return tf.mul(dy, tf.step(y));
}

/** The forward pass of a batch-normalised conv2d's normalisation and ReLU: its output and what its backward pass needs. */
export interface BatchNormRelu {
  y: Tensor;
  /** Per channel: the mean of z over its rows, and 1/√(variance + ε). */
  mean: Tensor;
  invStd: Tensor;
}

/**
 * Batch normalisation over the rows of z (every axis but the last: NHWC positions) with the
 * batch's own statistics, ×γ + β, then ReLU.
 */
export function batchNormRelu(tf: Tf, z: Tensor, gamma: Tensor, beta: Tensor, epsilon: number): BatchNormRelu {
  if (!recordingGradients(tf) && tf.getKernel(BATCH_NORM_RELU, tf.getBackend())) {
    const [y, mean, invStd] = tf.engine().runKernel(BATCH_NORM_RELU, { z, gamma, beta }, { epsilon } as never) as unknown as Tensor[];
    return { y: y!, mean: mean!, invStd: invStd! };
  }
  return batchNormReluComposed(tf, z, gamma, beta, epsilon);
}

/** batchNormRelu composed from standard operations (other backends, autodiff, and the tests' reference). */
export function batchNormReluComposed(tf: Tf, z: Tensor, gamma: Tensor, beta: Tensor, epsilon: number): BatchNormRelu {
  return tf.tidy(() => {
    const m = z.size / (z.shape.at(-1) as number);
    const mean = tf.div(biasGrad(tf, z), m);
    const centered = tf.sub(z, mean);
    const invStd = tf.rsqrt(tf.add(tf.div(biasGrad(tf, tf.square(centered)), m), epsilon));
    const y = tf.relu(tf.add(tf.mul(centered, tf.mul(gamma, invStd)), beta));
    return { y, mean, invStd };
  });
}

/** Gradients of a batch normalisation and ReLU (see batchNormRelu). */
export interface BatchNormReluGrad {
  dz: Tensor;
  dgamma: Tensor;
  dbeta: Tensor;
}

/**
 * The backward pass of batchNormRelu(z, γ, β): dy is the gradient after the ReLU when `y` (the
 * forward output) is given, else the gradient already through the ReLU.
 */
export function batchNormReluGrad(tf: Tf, dy: Tensor, z: Tensor, stats: Pick<BatchNormRelu, 'mean' | 'invStd'>, gamma: Tensor, reluOf?: Tensor): BatchNormReluGrad {
  if (tf.getKernel(BATCH_NORM_RELU_GRAD, tf.getBackend())) {
    const inputs: Record<string, Tensor> = { dy, z, mean: stats.mean, invStd: stats.invStd, gamma };
    if (reluOf) inputs.y = reluOf;
    const [dz, dgamma, dbeta] = tf.engine().runKernel(BATCH_NORM_RELU_GRAD, inputs, {}) as unknown as Tensor[];
    return { dz: dz!, dgamma: dgamma!, dbeta: dbeta! };
  }
  return batchNormReluGradComposed(tf, dy, z, stats, gamma, reluOf);
}

/**
 * batchNormReluGrad composed from standard operations: dβ = Σ dy, dγ = Σ dy·ẑ (ẑ = centred·invStd),
 * dz = γ·invStd/M · (M·dy − dβ − ẑ·dγ), as dy·a + centred·c + b with a = γ·invStd,
 * b = −a·dβ/M, c = −a·dγ·invStd/M per channel.
 */
export function batchNormReluGradComposed(tf: Tf, dy: Tensor, z: Tensor, stats: Pick<BatchNormRelu, 'mean' | 'invStd'>, gamma: Tensor, reluOf?: Tensor): BatchNormReluGrad {
  return tf.tidy(() => {
    const g = reluOf ? reluGrad(tf, dy, reluOf) : dy;
    const m = g.size / (g.shape.at(-1) as number);
    const { invStd } = stats;
    const centered = tf.sub(z, stats.mean);
    const dbeta = biasGrad(tf, g);
    const dgamma = tf.mul(biasGrad(tf, tf.mul(g, centered)), invStd);
    const a = tf.mul(gamma, invStd);
    const b = tf.mul(a, tf.div(dbeta, -m));
    const c = tf.mul(a, tf.mul(dgamma, tf.div(invStd, -m)));
    const dz = tf.add(tf.add(tf.mul(g, a), tf.mul(centered, c)), b);
    return { dz, dgamma, dbeta };
  });
}
