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
 *
 * On the wasm backend they run as SIMD code over the backend's memory where the shapes allow
 * (simd-kernels.ts: 2×2 pools over a multiple of 4 channels, biases of a multiple of 16, bias
 * and activation over a multiple of 4 items, ReLU gradients in blocks of 4), and as the loops
 * below otherwise; both give the same bits.
 *
 * Invariants: each kernel allocates exactly its one output; inputs are never written; results
 * equal the composed fallback's (tests compare them).
 */
import type { KernelBackend, KernelFunc, Tensor, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from './engines.js';
import { biasGradFits, maxPool2ReluGradFits, simdKernelsFor, type WasmMemory } from './simd-kernels.js';

export const MAX_POOL_RELU_GRAD = 'D2MaxPoolReluGrad';
export const BIAS_GRAD = 'D2BiasGrad';
export const BIAS_ACT = 'D2BiasAct';
export const RELU_GRAD = 'D2ReluGrad';

interface Memory {
  read(t: TensorInfo): Float32Array;
  /** A new float32 output; `values` is valid until the next allocation on this backend. */
  alloc(shape: number[]): { info: TensorInfo; values: Float32Array };
}

interface WasmLike extends KernelBackend {
  wasm: { HEAPU8: Uint8Array; asm?: { memory?: WasmMemory } };
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

const registered = new Set<string>();

/** Register the kernels for a backend ('wasm' or 'cpu'; others use the composed fallbacks). */
export function registerFusedKernels(tf: Tf, backendName: string): void {
  if (backendName !== 'wasm' && backendName !== 'cpu') return;
  if (registered.has(backendName)) return;
  for (const [name, make] of [[MAX_POOL_RELU_GRAD, maxPoolReluGradKernel], [BIAS_GRAD, biasGradKernel], [BIAS_ACT, biasActKernel], [RELU_GRAD, reluGradKernel]] as const) {
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

/** act(z + bias) for feature-major z [rows, n] and bias [rows]; act is ReLU or the identity. */
export function biasAct(tf: Tf, z: Tensor, bias: Tensor, relu: boolean): Tensor {
  // Under autodiff (tests check d2's backward pass against it) the composition, which has gradients.
  const recording = (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;
  if (!recording && tf.getKernel(BIAS_ACT, tf.getBackend())) return tf.engine().runKernel(BIAS_ACT, { x: z, bias }, { relu } as never) as Tensor;
  const y = tf.add(z, tf.reshape(bias, [-1, 1]));
  return relu ? tf.relu(y) : y;
}

/** dy × step(y): the gradient through a ReLU whose output is y. */
export function reluGrad(tf: Tf, dy: Tensor, y: Tensor): Tensor {
  if (tf.getKernel(RELU_GRAD, tf.getBackend())) return tf.engine().runKernel(RELU_GRAD, { dy, y }, {}) as Tensor;
  return tf.mul(dy, tf.step(y));
}
