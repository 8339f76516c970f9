/**
 * d2's SIMD kernels (src/engine/simd-kernels.wat): over the TensorFlow.js wasm backend's own
 * memory, the ReLU + 2×2 max-pool gradient, the bias gradient, a dense layer's bias and ReLU
 * and the ReLU gradient (~5× faster than the same loops in JavaScript), the stride-1
 * convolutions and matrix products (one operand possibly read transposed), matrix
 * transposes and row sums, batch normalisation's passes; over a replica's own
 * optimizer memory (`optimizerMemory`), the sum of the two parts' gradients and the Adam update. Each equals its JavaScript loop bit for bit
 * (src/engine/simd-kernels.test.ts), so using them or not changes no weight.
 *
 * Invariants: one instance per wasm memory (each worker thread has its own backend); when the
 * module cannot be instantiated (a runtime without WebAssembly SIMD) or D2_SIMD_KERNELS=0,
 * `simdKernelsFor` and `optimizerMemory` return null and callers keep their JavaScript loops.
 * An optimizer memory never grows, so its views stay valid for its lifetime.
 */
import { SIMD_KERNELS_WASM } from './simd-kernels-binary.js';

export interface SimdKernels {
  /** Byte offsets; c a multiple of 4 (see `maxPool2ReluGradFits`). */
  maxPool2ReluGrad(x: number, dy: number, dx: number, n: number, h: number, w: number, c: number): void;
  /** Byte offsets; c a multiple of 16 (see `biasGradFits`). */
  biasGrad(dy: number, out: number, rows: number, c: number): void;
  /**
   * The filter gradient [kh, kw, ci, co] of a stride-1 'valid' convolution of x [n, hp, wp, ci]
   * (padded beforehand) giving dy [n, oh, ow, co]; byte offsets, co a multiple of 8 (see
   * `convFilterGradFits`). Each element is a float32 sum over positions in (b, y, x) order, or
   * (y, x, b) with `batchInner`: `convFilterGradLoop` (fused-kernels.ts) gives the same bits.
   * Layout 'hwnc': x is [hp, wp, n, ci] and dy [oh, ow, n, co] (then the order is (y, x, b)).
   */
  convFilterGrad(x: number, dy: number, dw: number, n: number, hp: number, wp: number, ci: number, oh: number, ow: number, co: number, kh: number, kw: number, batchInner: boolean, layout?: 'nhwc' | 'hwnc'): void;
  /**
   * out [n, oh, ow, cout] = act(bias + the stride-1 'valid' correlation of input [n, ph, pw, cin]
   * (padded beforehand) with w [kh, kw, cin, cout]); byte offsets (bias 0: none), cout a
   * multiple of 16 (see `conv2dFits`). `conv2dLoop` (fused-kernels.ts) gives the same bits.
   */
  conv2d(input: number, w: number, bias: number, out: number, n: number, ph: number, pw: number, cin: number, oh: number, ow: number, cout: number, kh: number, kw: number, relu: boolean): void;
  /**
   * Batch normalisation (fused-kernels.ts, the `batchNorm*Loop` functions give the same bits);
   * byte offsets, c a multiple of 8 (see `batchNormFits`); `sums` and `coef` are float64 [2c]
   * (Σ(z − K), Σ(z − K)²) and [2c] (a, b); y = relu(z·a + b).
   */
  batchNormStats(z: number, rows: number, c: number, sums: number): void;
  batchNormApply(z: number, y: number, coef: number, rows: number, c: number): void;
  /**
   * Its backward pass: `sums` float64 [2c] (Σ g, Σ g·(z − mean)), `coef` float64 [3c] (a, k, b),
   * g being dy masked by y > 0 when y is not null (byte offset 0 stands for null).
   */
  batchNormGradSums(dy: number, y: number, z: number, mean: number, rows: number, c: number, sums: number): void;
  batchNormGradApply(dy: number, y: number, z: number, mean: number, dz: number, coef: number, rows: number, c: number): void;
  /**
   * out [m, n] = a · b for b [k, n]; byte offsets, n a multiple of 16 (see `conv2dFits`); a [m, k]
   * or, with `aTransposed`, a stored as [k, m] and read in place. Each element a float32 sum over
   * k in order from 0, as the 1×1 `conv2d` and the backend's own product give it.
   */
  matmul(a: number, b: number, out: number, m: number, k: number, n: number, aTransposed: boolean): void;
  /** out[r] = Σ x[r, ·] in order from 0 (float32) for x [rows, cols]; byte offsets, rows and cols multiples of 4. */
  sumRows(x: number, out: number, rows: number, cols: number): void;
  /** out [cols, rows] = the transpose of x [rows, cols]; byte offsets, rows and cols multiples of 4. */
  transpose(x: number, out: number, rows: number, cols: number): void;
  /** out [rows, n] = act(x + bias per row); byte offsets, n a multiple of 4. `biasActLoop` gives the same bits. */
  biasAct(x: number, bias: number, out: number, rows: number, n: number, relu: boolean): void;
  /** out = dy × step(y) over count elements; byte offsets, count a multiple of 4. `reluGradLoop` gives the same bits. */
  reluGrad(dy: number, y: number, out: number, count: number): void;
}

export const maxPool2ReluGradFits = (poolSize: number, channels: number): boolean => poolSize === 2 && channels % 4 === 0;
export const biasGradFits = (channels: number): boolean => channels % 16 === 0;
export const convFilterGradFits = (outChannels: number): boolean => outChannels % 8 === 0;
export const conv2dFits = (outChannels: number): boolean => outChannels % 16 === 0;
export const batchNormFits = (channels: number): boolean => channels % 8 === 0;

/** A WebAssembly.Memory (TypeScript's Node typings here do not declare the WebAssembly API). */
export type WasmMemory = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (desc: { initial: number }) => { buffer: ArrayBuffer };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: object | null | undefined;
const instances = new WeakMap<WasmMemory, SimdKernels | null>();

function compile(): object | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled = new wasmApi.Module(Buffer.from(SIMD_KERNELS_WASM, 'base64'));
  } catch {
    compiled = null; // no WebAssembly SIMD here
  }
  return compiled;
}

/** The kernels bound to `memory`, or null where they cannot run (the JavaScript loops then serve). */
export function simdKernelsFor(memory: WasmMemory | undefined): SimdKernels | null {
  if (!memory || process.env.D2_SIMD_KERNELS === '0') return null;
  const known = instances.get(memory);
  if (known !== undefined) return known;
  const mod = compile();
  let kernels: SimdKernels | null = null;
  if (mod) {
    try {
      const exports = new wasmApi.Instance(mod, { env: { memory } }).exports as Record<string, (...a: number[]) => void>;
      const pool = exports.max_pool2_relu_grad!;
      const bias = exports.bias_grad!;
      const filter4 = exports.conv_filter_grad4!;
      const conv16 = exports.conv2d_16!;
      const bnStats = exports.bn_stats8!;
      const bnApply = exports.bn_apply4!;
      const bnGradSums = exports.bn_grad_sums8!;
      const bnGradApply = exports.bn_grad_apply4!;
      const biasAct = exports.bias_act!;
      const matmul = exports.matmul_16!;
      const transpose = exports.transpose_4x4!;
      const sumRows = exports.sum_rows!;
      const reluGrad = exports.relu_grad!;
      kernels = {
        batchNormStats: (z, rows, c, sums) => bnStats(z, rows, c, sums),
        batchNormApply: (z, y, coef, rows, c) => bnApply(z, y, coef, rows, c),
        // Without a ReLU output, the kernels read dy in its place and keep every lane.
        batchNormGradSums: (dy, y, z, mean, rows, c, sums) => bnGradSums(dy, y || dy, z, mean, rows, c, sums, y ? 1 : 0),
        batchNormGradApply: (dy, y, z, mean, dz, coef, rows, c) => bnGradApply(dy, y || dy, z, mean, dz, coef, rows, c, y ? 1 : 0),
        maxPool2ReluGrad: (x, dy, dx, n, h, w, c) => pool(x, dy, dx, n, h, w, c),
        biasGrad: (dy, out, rows, c) => bias(dy, out, rows, c),
        conv2d: (input, w, bias, out, n, ph, pw, cin, oh, ow, cout, kh, kw, relu) => conv16(input, w, bias, out, n, ph, pw, cin, oh, ow, cout, kh, kw, relu ? 1 : 0),
        matmul: (a, b, out, m, k, n, aTransposed) => matmul(a, b, out, m, k, n, aTransposed ? 4 : k * 4, aTransposed ? m * 4 : 4),
        transpose: (x, out, rows, cols) => transpose(x, out, rows, cols),
        sumRows: (x, out, rows, cols) => sumRows(x, out, rows, cols),
        biasAct: (x, bias, out, rows, n, relu) => biasAct(x, bias, out, rows, n, relu ? 1 : 0),
        reluGrad: (dy, y, out, count) => reluGrad(dy, y, out, count),
        convFilterGrad: (x, dy, dw, n, hp, wp, ci, oh, ow, co, kh, kw, batchInner, layout = 'nhwc') => {
          // The position loops as counts and pointer steps (bytes): (b, y, x) or (y, x, b); in
          // the 'hwnc' layout (batch inside the row) the (y, x, b) order reads memory in order.
          const xs = ci * 4;
          const ds = co * 4;
          const image = hp * wp * xs;
          const hwnc = layout === 'hwnc';
          const loops = hwnc
            ? [oh, ow, n, xs, ds, 0, 0, (wp - ow) * n * xs, 0]
            : batchInner
              ? [oh, ow, n, image, oh * ow * ds, xs - n * image, ds - n * oh * ow * ds, (wp - ow) * xs, 0]
              : [n, oh, ow, xs, ds, (wp - ow) * xs, 0, (hp - oh) * wp * xs, 0];
          // Rows of the gradient in (ky, kx, c) order, four per call; a short last block
          // repeats its first row's offset and stores only its real rows.
          const total = kh * kw * ci;
          const pixel = hwnc ? n * ci : ci;
          const offset = (r: number) => ((Math.floor(r / (kw * ci)) * wp + (Math.floor(r / ci) % kw)) * pixel + (r % ci)) * 4;
          for (let r = 0; r < total; r += 4) {
            const rows = Math.min(4, total - r);
            const d0 = offset(r);
            filter4(x, dy, dw + r * co * 4, co, ...loops,
              d0, rows > 1 ? offset(r + 1) : d0, rows > 2 ? offset(r + 2) : d0, rows > 3 ? offset(r + 3) : d0, rows);
          }
        },
      };
    } catch {
      kernels = null;
    }
  }
  instances.set(memory, kernels);
  return kernels;
}

/**
 * A replica's optimizer state in a WebAssembly memory of its own: weights, Adam's moments, the
 * step gradient and a second part's gradient, each `count` floats (views valid for good: the
 * memory never grows), with the kernels that work on them.
 */
export interface OptimizerMemory {
  weights: Float32Array;
  m: Float32Array;
  v: Float32Array;
  grad: Float32Array;
  /** The second part's gradient, summed into `grad` by `sumParts`. */
  other: Float32Array;
  /**
   * grad[i] = grad[i] + other[i] (float32) for i in [from, to), `to` rounded down so that the
   * count is a multiple of 4; true when any of those sums is not finite. Returns how far it went
   * through `upTo`.
   */
  sumParts(from: number, to: number): { bad: boolean; upTo: number };
  /**
   * Adam over [from, to) rounded down to an even count (from even); the constants as computed
   * by adam.ts. Returns the index it stopped at (the caller finishes the rest).
   */
  adam(from: number, to: number, k: { b1: number; a1: number; b2: number; a2: number; lr: number; c1: number; c2: number; eps: number }): number;
}

const PAGE = 65536;

/** A new optimizer memory for `count` parameters, or null where the SIMD module cannot run. */
export function optimizerMemory(count: number): OptimizerMemory | null {
  if (process.env.D2_SIMD_KERNELS === '0') return null;
  const mod = compile();
  if (!mod) return null;
  // Five regions, each 16-byte aligned.
  const stride = Math.ceil(count / 4) * 16;
  try {
    const memory = new wasmApi.Memory({ initial: Math.max(1, Math.ceil((5 * stride) / PAGE)) });
    const exports = new wasmApi.Instance(mod, { env: { memory } }).exports as Record<string, (...a: number[]) => number>;
    const sum = exports.sum_parts2!;
    const adam = exports.adam!;
    const view = (i: number) => new Float32Array(memory.buffer, i * stride, count);
    const [w, m, v, g, o] = [0, 1, 2, 3, 4];
    const off = (region: number, index: number) => region * stride + index * 4;
    return {
      weights: view(w), m: view(m), v: view(v), grad: view(g), other: view(o),
      sumParts: (from, to) => {
        const count = Math.max(0, to - from) & ~3;
        return { bad: count > 0 && sum(off(g, from), off(o, from), off(g, from), count) !== 0, upTo: from + count };
      },
      adam: (from, to, k) => {
        const n = (to - from) & ~1;
        if (from % 2 !== 0 || n <= 0) return from;
        adam(off(w, from), off(m, from), off(v, from), off(g, from), n, k.b1, k.a1, k.b2, k.a2, k.lr, k.c1, k.c2, k.eps);
        return from + n;
      },
    };
  } catch {
    return null;
  }
}
