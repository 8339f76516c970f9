/**
 * Kernels for the WebAssembly backend that it lacks or runs slowly, composed from its own fast
 * kernels (XNNPACK convolutions and matrix products, transposes, pads, slices) or written as
 * plain loops over its heap where the work is only memory traffic.
 *
 * - `FusedConv2D` (present, XNNPACK): with stride 1 and Co a multiple of 16, d2's SIMD kernel
 *   (simd-kernels.wat; 2 positions × 16 outputs in registers), faster on these small layers.
 * - `Conv2DBackpropFilter` (missing): with stride 1 and Co a multiple of 8 (every convolution of
 *   d2's presets), d2's SIMD kernel over the padded input, accumulating 4 filter rows × 8
 *   outputs in registers: ~3× faster than the compositions below, which serve the other cases.
 *   With few patch columns (kh·kw·Ci ≤ 36, a first layer),
 *   patchesᵀ · dy, the patches laid out by a convolution with one-hot filters (~4× faster for
 *   3×3 over one channel). Otherwise a convolution of the transposed input (channels as
 *   batch, batch as channels) with the transposed output gradient as filter, the stride
 *   becoming the dilation: XNNPACK then forms the patches by indirection, with no copy
 *   (measured faster there than an explicit im2col and one matrix product). The cpu backend
 *   gets the same composition (`registerCpuKernels`): its own kernel is a generic-accessor
 *   loop, ~40× slower.
 * - `DepthwiseConv2dNativeBackpropFilter` (missing): the same idea with a depthwise convolution
 *   over (batch × channel) planes, then a sum over the batch.
 * - `DepthwiseConv2dNativeBackpropInput` (missing) and `Conv2DBackpropInput` (present but a plain
 *   loop ~7× slower than XNNPACK): a convolution of the zero-inserted, padded output gradient
 *   with the spatially flipped filter (for stride 1 and Ci a multiple of 16, by d2's SIMD
 *   correlation kernel, the filter flipped in JavaScript).
 * - `BatchMatMul` with a transposed operand (the backend then falls back to a scalar loop): the
 *   operand is transposed explicitly and the XNNPACK path is used; with batch 1 and N a multiple
 *   of 16, d2's SIMD kernel instead (the same sums; XNNPACK packs b anew at every call, and
 *   every call has a new b here: 1.1–2.4× faster on the reference networks' products); aᵀ · b
 *   (a dense layer's input gradient) then reads a in place, without the transpose.
 * - `MaxPoolGrad` (present but ~40× slower than a loop): one pass that routes each output
 *   gradient to the first maximum of its window, exactly as the cpu backend does.
 * - `Transpose` of a matrix whose sides are multiples of 4 (the backend's 2-D loop stores one
 *   element per step, ~3× slower for the dense layers' [256, 32]): d2's SIMD kernel in 4×4
 *   blocks; every other permutation by the backend's kernel.
 * - `Sum` over the last axis of such a matrix (a dense layer's bias gradient): d2's SIMD kernel,
 *   each row added in order from 0 as the backend's loop adds it.
 *
 * Invariants:
 * - Each kernel computes the same function as the cpu backend's kernel of the same name (tests
 *   compare them: relative error ≤ 1e-4), including its padding, stride and tie-breaking rules.
 * - d2's SIMD kernels add in the order of the XNNPACK path they replace (tests compare the
 *   bits), so a model is the same with or without them (D2_SIMD_KERNELS=0).
 * - Every intermediate tensor a kernel allocates is released before it returns; the kernel
 *   returns exactly one new tensor.
 * - Registration is idempotent and happens only through `registerWasmKernels` (no effect on
 *   import); replaced kernels keep a reference to the original, which the compositions call.
 * - Deterministic: no kernel here depends on timing, threads or memory addresses.
 */
import type { KernelBackend, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from './engines.js';
import { wasmMemoryOf } from './fused-kernels.js';
import { conv2dFits, convFilterGradFits, simdKernelsFor } from './simd-kernels.js';

interface AnyBackend extends KernelBackend {
  disposeData(dataId: object, force?: boolean): boolean;
}

interface WasmBackend extends AnyBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number; shape: number[] } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

type Pad = 'same' | 'valid' | number | number[][];
interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  attrs: Record<string, unknown>;
  backend: WasmBackend;
}
/** Compositions that only call other kernels run on any backend. */
type AnyKernelArgs = Omit<KernelArgs, 'backend'> & { backend: AnyBackend };
type Kernel = (args: KernelArgs) => TensorInfo;

/** The byte offset of a tensor's data on the wasm heap (what d2's SIMD kernels take). */
const heapOffset = (be: WasmBackend, t: TensorInfo): number => be.dataIdMap.get(t.dataId)!.memoryOffset;

/** A float32 matrix whose sides are non-zero multiples of 4 (the SIMD transpose's and row sum's blocks). */
const inBlocksOf4 = (x: TensorInfo): boolean => {
  const [r, c] = x.shape as [number, number];
  return x.shape.length === 2 && x.dtype === 'float32' && r % 4 === 0 && c % 4 === 0 && r > 0 && c > 0;
};
type Pair = [number, number];

/** Kernel names registered (or replaced) for the wasm backend. */
export const WASM_KERNELS = [
  'FusedConv2D',
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'BatchMatMul',
  'MaxPoolGrad',
  'Transpose',
  'Sum',
] as const;

/** Kernel names registered (or replaced) for the cpu backend: its own is a slow scalar loop. */
export const CPU_KERNELS = ['Conv2DBackpropFilter'] as const;

const registered = new Set<string>();

/** Original kernels, captured before any replacement, by 'backend/name'. */
const original = new Map<string, KernelFunc>();

function pair(v: number | number[] | undefined, dflt: number): Pair {
  if (v === undefined || v === null) return [dflt, dflt];
  if (typeof v === 'number') return [v, v];
  return [v[0] ?? dflt, v[1] ?? v[0] ?? dflt];
}

/** A scope of intermediate tensors on one backend, released together. */
class Scope {
  private readonly temps: TensorInfo[] = [];
  private readonly backendName: string;
  constructor(readonly tf: Tf, readonly backend: AnyBackend) {
    this.backendName = tf.getBackend();
  }

  run(name: string, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown> = {}): TensorInfo {
    const fn = original.get(`${this.backendName}/${name}`) ?? this.tf.getKernel(name, this.backendName)?.kernelFunc;
    if (!fn) throw new Error(`${this.backendName} kernel '${name}' is not registered`);
    const out = fn({ inputs, attrs: attrs as NamedAttrMap, backend: this.backend });
    const t = Array.isArray(out) ? (out[0] as TensorInfo) : out;
    this.temps.push(t);
    return t;
  }

  /** Take `t` out of the scope: the caller owns it. */
  keep(t: TensorInfo): TensorInfo {
    const i = this.temps.lastIndexOf(t);
    if (i >= 0) this.temps.splice(i, 1);
    return t;
  }

  dispose(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }
  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }
  pad(x: TensorInfo, paddings: Pair[]): TensorInfo {
    if (paddings.every(([a, b]) => a === 0 && b === 0)) return x;
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }
  /** A new float32 tensor holding `values`. */
  constant(shape: number[], values: Float32Array): TensorInfo {
    const be = this.backend as Partial<WasmBackend> & { makeTensorInfo?(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo };
    let t: TensorInfo;
    if (be.makeOutput && be.wasm && be.dataIdMap) {
      t = be.makeOutput(shape, 'float32');
      new Float32Array(be.wasm.HEAPU8.buffer, be.dataIdMap.get(t.dataId)!.memoryOffset, values.length).set(values);
    } else {
      t = be.makeTensorInfo!(shape, 'float32', values);
    }
    this.temps.push(t);
    return t;
  }
  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    if (begin.every((b) => b === 0) && size.every((s, i) => s === x.shape[i])) return x;
    return this.run('Slice', { x }, { begin, size });
  }
}

function withScope(tf: Tf, backend: AnyBackend, fn: (s: Scope) => TensorInfo): TensorInfo {
  const scope = new Scope(tf, backend);
  try {
    return scope.keep(fn(scope));
  } finally {
    scope.dispose();
  }
}

/** Insert `s - 1` zeros after each row and column of an NHWC tensor: [B,H,W,C] -> [B,H*sh,W*sw,C]. */
function zeroInsert(s: Scope, x: TensorInfo, [sh, sw]: Pair): TensorInfo {
  if (sh === 1 && sw === 1) return x;
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const r = s.reshape(x, [b, h, 1, w, 1, c]);
  const p = s.pad(r, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  return s.reshape(p, [b, h * sh, w * sw, c]);
}

interface InputGradGeometry {
  /** Explicit padding for the correlation of the zero-inserted gradient with the flipped filter. */
  pads: [Pair, Pair];
  /** Where the wanted [H, W] window starts in that correlation's output. */
  begin: Pair;
}

/**
 * Geometry of an input gradient computed as a stride-1 correlation: with front padding
 * `k - 1 - padBefore` the correlation's row i is input row i. Negative paddings become a crop.
 */
function inputGradGeometry(inH: number, inW: number, outH: number, outW: number, kh: number, kw: number, top: number, left: number, [sh, sw]: Pair): InputGradGeometry {
  const frontH = kh - 1 - top;
  const frontW = kw - 1 - left;
  const backH = inH + kh - 1 - frontH - outH * sh;
  const backW = inW + kw - 1 - frontW - outW * sw;
  return {
    pads: [[Math.max(0, frontH), Math.max(0, backH)], [Math.max(0, frontW), Math.max(0, backW)]],
    begin: [Math.max(0, -frontH), Math.max(0, -frontW)],
  };
}

function convInfo(tf: Tf, xShape: number[], filterShape: number[], strides: Pair, pad: Pad, dimRoundingMode: unknown, depthwise: boolean) {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number], strides, 1,
    pad as 'same', dimRoundingMode as 'floor' | undefined, depthwise,
  );
}

/** Patch columns (kh × kw × Ci) up to which the filter gradient is taken from explicit patches. */
export const PATCH_FILTER_GRAD_MAX = 36;

function conv2dBackpropFilter(tf: Tf): (args: AnyKernelArgs) => TensorInfo {
  return ({ inputs, attrs, backend }) => withScope(tf, backend, (s) => {
    const x = inputs.x as TensorInfo;
    const dy = inputs.dy as TensorInfo;
    const filterShape = attrs.filterShape as number[];
    const strides = pair(attrs.strides as number | number[], 1);
    const [kh, kw, ci, co] = filterShape as [number, number, number, number];
    const cols = kh * kw * ci;
    const simd = strides[0] === 1 && strides[1] === 1 && convFilterGradFits(co) ? simdKernelsFor(wasmMemoryOf(backend)) : null;
    if (simd) {
      // d2's SIMD kernel (simd-kernels.wat) over the padded input: no patches, no transposes.
      const be = backend as WasmBackend;
      const info = convInfo(tf, x.shape, filterShape, strides, attrs.pad as Pad, attrs.dimRoundingMode, false);
      const { top, bottom, left, right } = info.padInfo;
      const xp = s.pad(x, [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]]);
      const [n, hp, wp] = xp.shape as [number, number, number, number];
      const [, oh, ow] = dy.shape as [number, number, number, number];
      const out = be.makeOutput([kh, kw, ci, co], 'float32');
      const at = (t: TensorInfo) => heapOffset(be, t);
      // The positions in the order of the composition below that the shape would take, so
      // that the sums are the same, bit for bit: (b, y, x) as patchesᵀ · dy sums them, or
      // (y, x, b) as the convolution of the transposed input over the transposed dy does.
      if (cols <= PATCH_FILTER_GRAD_MAX) {
        simd.convFilterGrad(at(xp), at(dy), at(out), n, hp, wp, ci, oh, ow, co, kh, kw, false);
      } else {
        // (y, x, b) order over operands laid out with the batch inside each pixel, so that the
        // kernel reads both in memory order (two transposes cost less than strided reads).
        const xt = s.transpose(xp, [1, 2, 0, 3]);
        const dyt = s.transpose(dy, [1, 2, 0, 3]);
        simd.convFilterGrad(at(xt), at(dyt), at(out), n, hp, wp, ci, oh, ow, co, kh, kw, true, 'hwnc');
      }
      return out;
    }
    if (cols <= PATCH_FILTER_GRAD_MAX) {
      // Few input channels (a first layer over grey or RGB pixels): the convolution below would
      // be a product with only kh·kw·Ci rows, which XNNPACK runs slowly. Instead, a convolution
      // with one-hot filters lays out every patch ([B, oh, ow, kh·kw·Ci], in the filter's own
      // order), and the gradient is patchesᵀ · dy: ~4× faster for 3×3 over one channel.
      const oneHot = new Float32Array(cols * cols);
      for (let i = 0; i < cols; i++) oneHot[i * cols + i] = 1;
      const eye = s.constant([kh, kw, ci, cols], oneHot);
      const patches = s.run('Conv2D', { x, filter: eye }, { strides, pad: attrs.pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: attrs.dimRoundingMode });
      const rows = (dy.shape as number[]).slice(0, 3).reduce((a, b) => a * b, 1);
      const pt = s.transpose(s.reshape(patches, [rows, cols]), [1, 0]); // [cols, rows]
      const g = s.run('BatchMatMul', { a: s.reshape(pt, [1, cols, rows]), b: s.reshape(dy, [1, rows, co]) }, { transposeA: false, transposeB: false });
      return s.reshape(g, [kh, kw, ci, co]);
    }
    const info = convInfo(tf, x.shape, filterShape, strides, attrs.pad as Pad, attrs.dimRoundingMode, false);
    const { top, bottom, left, right } = info.padInfo;
    const xp = s.pad(x, [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]]);
    const xt = s.transpose(xp, [3, 1, 2, 0]); // [Ci, Hp, Wp, B]
    const dyt = s.transpose(dy, [1, 2, 0, 3]); // [oh, ow, B, Co]
    const r = s.run('Conv2D', { x: xt, filter: dyt }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: strides, dimRoundingMode: undefined });
    const cut = s.slice(r, [0, 0, 0, 0], [ci, kh, kw, co]);
    return s.transpose(cut, [1, 2, 0, 3]); // [kh, kw, Ci, Co]
  });
}

/**
 * FusedConv2D with stride 1 (no dilation, NHWC, a linear or ReLU activation, Co a multiple of
 * 16): d2's SIMD kernel over the padded input, two positions × 16 outputs in registers. Other
 * cases go to the backend's own (XNNPACK) kernel.
 */
function fusedConv2d(tf: Tf): Kernel {
  return (args) => {
    const { inputs, attrs, backend } = args;
    const x = inputs.x as TensorInfo;
    const filter = inputs.filter as TensorInfo;
    const bias = inputs.bias as TensorInfo | undefined;
    const strides = pair(attrs.strides as number | number[], 1);
    const dil = pair(attrs.dilations as number | number[] | undefined, 1);
    const activation = (attrs.activation as string | undefined) ?? 'linear';
    const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
    const fits = strides[0] === 1 && strides[1] === 1 && dil[0] === 1 && dil[1] === 1 && (attrs.dataFormat ?? 'NHWC') === 'NHWC'
      && (activation === 'relu' || activation === 'linear') && !inputs.preluActivationWeights
      && (!bias || (bias.shape.length === 1 && bias.shape[0] === co)) && conv2dFits(co);
    const simd = fits ? simdKernelsFor(wasmMemoryOf(backend)) : null;
    if (!simd) return (original.get('wasm/FusedConv2D') as unknown as Kernel)(args);
    return withScope(tf, backend, (s) => {
      const be = backend;
      const info = convInfo(tf, x.shape, filter.shape, strides, attrs.pad as Pad, attrs.dimRoundingMode, false);
      const { top, bottom, left, right } = info.padInfo;
      const xp = s.pad(x, [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]]);
      const [n, ph, pw] = xp.shape as [number, number, number, number];
      const out = be.makeOutput([n, info.outHeight, info.outWidth, co], 'float32');
      const at = (t: TensorInfo) => heapOffset(be, t);
      simd.conv2d(at(xp), at(filter), bias ? at(bias) : 0, at(out), n, ph, pw, ci, info.outHeight, info.outWidth, co, kh, kw, activation === 'relu');
      return out;
    });
  };
}

function conv2dBackpropInput(tf: Tf): Kernel {
  return ({ inputs, attrs, backend }) => withScope(tf, backend, (s) => {
    const dy = inputs.dy as TensorInfo;
    const filter = inputs.filter as TensorInfo;
    const inputShape = attrs.inputShape as [number, number, number, number];
    const strides = pair(attrs.strides as number | number[], 1);
    const info = convInfo(tf, inputShape, filter.shape, strides, attrs.pad as Pad, attrs.dimRoundingMode, false);
    const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
    const [b, inH, inW] = inputShape;
    const g = inputGradGeometry(inH, inW, dy.shape[1] as number, dy.shape[2] as number, kh, kw, info.padInfo.top, info.padInfo.left, strides);
    const simd = strides[0] === 1 && strides[1] === 1 && g.begin[0] === 0 && g.begin[1] === 0 && conv2dFits(ci) ? simdKernelsFor(wasmMemoryOf(backend)) : null;
    if (simd) {
      // d2's SIMD correlation of the padded output gradient with the flipped filter, laid out
      // [kh, kw, Co, Ci] here (a few thousand numbers) instead of by two kernel calls.
      const be = backend;
      const at = (t: TensorInfo) => heapOffset(be, t);
      const w = new Float32Array(be.wasm.HEAPU8.buffer, at(filter), kh * kw * ci * co);
      const wf = new Float32Array(w.length);
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          const src = ((kh - 1 - ky) * kw + (kw - 1 - kx)) * ci * co;
          const dst = (ky * kw + kx) * co * ci;
          for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) wf[dst + o * ci + c] = w[src + c * co + o] as number;
        }
      }
      const flipped = s.constant([kh, kw, co, ci], wf);
      const dyp = s.pad(dy, [[0, 0], g.pads[0], g.pads[1], [0, 0]]);
      const [, ph, pw] = dyp.shape as [number, number, number, number];
      const out = be.makeOutput([b, inH, inW, ci], 'float32');
      simd.conv2d(at(dyp), at(flipped), 0, at(out), b, ph, pw, co, inH, inW, ci, kh, kw, false);
      return out;
    }
    const dyd = zeroInsert(s, dy, strides);
    const flipped = s.run('Reverse', { x: filter }, { dims: [0, 1] });
    const wf = s.transpose(flipped, [0, 1, 3, 2]); // [kh, kw, Co, Ci]
    const r = s.run('Conv2D', { x: dyd, filter: wf }, {
      strides: [1, 1], pad: [[0, 0], g.pads[0], g.pads[1], [0, 0]], dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined,
    });
    return s.slice(r, [0, g.begin[0], g.begin[1], 0], [b, inH, inW, ci]);
  });
}

function depthwiseBackpropFilter(tf: Tf): Kernel {
  return ({ inputs, attrs, backend }) => withScope(tf, backend, (s) => {
    const x = inputs.x as TensorInfo;
    const dy = inputs.dy as TensorInfo;
    const filterShape = attrs.filterShape as [number, number, number, number];
    const strides = pair(attrs.strides as number | number[], 1);
    const dil = pair(attrs.dilations as number | number[] | undefined, 1);
    if (dil[0] !== 1 || dil[1] !== 1) throw new Error('DepthwiseConv2dNativeBackpropFilter: dilations > 1 are not supported');
    const info = convInfo(tf, x.shape, filterShape, strides, attrs.pad as Pad, attrs.dimRoundingMode, true);
    const { top, bottom, left, right } = info.padInfo;
    const [kh, kw, c, m] = filterShape;
    const [b, , , ] = x.shape as [number, number, number, number];
    const [, oh, ow] = dy.shape as [number, number, number, number];
    const xp = s.pad(x, [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]]);
    const [, hp, wp] = xp.shape as [number, number, number, number];
    // Every (batch, channel) plane is its own depthwise channel; the gradient is its filter.
    const xt = s.reshape(s.transpose(xp, [1, 2, 0, 3]), [1, hp, wp, b * c]);
    const dyt = s.reshape(s.transpose(dy, [1, 2, 0, 3]), [oh, ow, b * c, m]);
    const r = s.run('DepthwiseConv2dNative', { x: xt, filter: dyt }, { strides: [1, 1], pad: 'valid', dilations: strides, dimRoundingMode: undefined });
    const cut = s.slice(r, [0, 0, 0, 0], [1, kh, kw, b * c * m]);
    const summed = s.run('Sum', { x: s.reshape(cut, [kh, kw, b, c * m]) }, { axis: [2], keepDims: false });
    return s.reshape(summed, [kh, kw, c, m]);
  });
}

function depthwiseBackpropInput(tf: Tf): Kernel {
  return ({ inputs, attrs, backend }) => withScope(tf, backend, (s) => {
    const dy = inputs.dy as TensorInfo;
    const filter = inputs.filter as TensorInfo;
    const inputShape = attrs.inputShape as [number, number, number, number];
    const strides = pair(attrs.strides as number | number[], 1);
    const dil = pair(attrs.dilations as number | number[] | undefined, 1);
    if (dil[0] !== 1 || dil[1] !== 1) throw new Error('DepthwiseConv2dNativeBackpropInput: dilations > 1 are not supported');
    const info = convInfo(tf, inputShape, filter.shape, strides, attrs.pad as Pad, attrs.dimRoundingMode, true);
    const [kh, kw, c, m] = filter.shape as [number, number, number, number];
    const [b, inH, inW] = inputShape;
    const g = inputGradGeometry(inH, inW, dy.shape[1] as number, dy.shape[2] as number, kh, kw, info.padInfo.top, info.padInfo.left, strides);
    const dyd = zeroInsert(s, dy, strides);
    // Channel c*m+k of dy correlates with the flipped filter[:, :, c, k]; then sum over k.
    const wf = s.reshape(s.run('Reverse', { x: filter }, { dims: [0, 1] }), [kh, kw, c * m, 1]);
    const r = s.run('DepthwiseConv2dNative', { x: dyd, filter: wf }, {
      strides: [1, 1], pad: [[0, 0], g.pads[0], g.pads[1], [0, 0]], dilations: [1, 1], dimRoundingMode: undefined,
    });
    const cut = s.slice(r, [0, g.begin[0], g.begin[1], 0], [b, inH, inW, c * m]);
    if (m === 1) return cut;
    return s.run('Sum', { x: s.reshape(cut, [b, inH, inW, c, m]) }, { axis: [4], keepDims: false });
  });
}

function batchMatMul(tf: Tf): Kernel {
  return ({ inputs, attrs, backend }) => withScope(tf, backend, (s) => {
    let a = inputs.a as TensorInfo;
    let b = inputs.b as TensorInfo;
    const transposeA = attrs.transposeA === true;
    const transposeB = attrs.transposeB === true;
    // The backend's XNNPACK path takes only untransposed rank-3 operands with batch 1; anything
    // else goes to its scalar loop. Transposing first is far cheaper than that loop.
    const swap = (t: TensorInfo): TensorInfo => {
      const r = t.shape.length;
      const perm = [...Array(r).keys()];
      perm[r - 1] = r - 2;
      perm[r - 2] = r - 1;
      return s.transpose(t, perm);
    };
    const batchOne = (t: TensorInfo) => t.shape.slice(0, -2).every((d) => d === 1);
    const float = a.dtype === 'float32' && b.dtype === 'float32';
    if (batchOne(a) && batchOne(b) && transposeA && !transposeB && float) {
      // aᵀ · b (a dense layer's input gradient, Wᵀ · dz): d2's SIMD product reads a in place,
      // with the sums of the transpose-then-multiply below (same bits), without the transpose.
      const [k, m] = a.shape.slice(-2) as [number, number];
      const n = b.shape.at(-1) as number;
      const simd = conv2dFits(n) && b.shape.at(-2) === k ? simdKernelsFor(wasmMemoryOf(backend)) : null;
      if (simd) {
        const outer = a.shape.length >= b.shape.length ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
        const out = backend.makeOutput([...outer, m, n], 'float32');
        const at = (t: TensorInfo) => heapOffset(backend, t);
        simd.matmul(at(a), at(b), at(out), m, k, n, true);
        return out;
      }
    }
    if (batchOne(a) && batchOne(b)) {
      if (transposeA) a = swap(a);
      if (transposeB) b = swap(b);
      const [m, k] = a.shape.slice(-2) as [number, number];
      const n = b.shape.at(-1) as number;
      const simd = conv2dFits(n) && b.shape.at(-2) === k && a.dtype === 'float32' && b.dtype === 'float32' ? simdKernelsFor(wasmMemoryOf(backend)) : null;
      if (simd) {
        // d2's SIMD kernel as a 1×1 correlation: each element a float32 sum over k in order
        // from 0, as XNNPACK's product adds it (same bits), without packing b every call.
        const be = backend;
        const outer = a.shape.length >= b.shape.length ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
        const out = be.makeOutput([...outer, m, n], 'float32');
        const at = (t: TensorInfo) => heapOffset(be, t);
        simd.conv2d(at(a), at(b), 0, at(out), 1, 1, m, k, 1, m, n, 1, 1, false);
        return out;
      }
      return s.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
    }
    return s.run('BatchMatMul', { a, b }, { transposeA, transposeB });
  });
}

/**
 * A matrix transpose ([r, c] → [c, r], both multiples of 4) by d2's SIMD kernel in 4×4 blocks;
 * every other transpose by the backend's own kernel (whose 2-D loop writes one element per
 * column step, slow when the rows are long: ~5× for [256, 32]).
 */
function transpose(_tf: Tf): Kernel {
  return ({ inputs, attrs, backend }) => {
    const x = inputs.x as TensorInfo;
    const perm = attrs.perm as number[];
    const [r, c] = x.shape as [number, number];
    const simd = inBlocksOf4(x) && perm[0] === 1 && perm[1] === 0
      ? simdKernelsFor(wasmMemoryOf(backend))
      : null;
    if (simd) {
      const out = backend.makeOutput([c, r], 'float32');
      const at = (t: TensorInfo) => heapOffset(backend, t);
      simd.transpose(at(x), at(out), r, c);
      return out;
    }
    return original.get('wasm/Transpose')!({ inputs, attrs: attrs as NamedAttrMap, backend }) as TensorInfo;
  };
}

/**
 * The sum over the last axis of a float32 matrix whose sides are multiples of 4 (a dense layer's
 * bias gradient) by d2's SIMD kernel, adding each row in order as the backend's loop does (the
 * same bits); every other sum by the backend's kernel.
 */
function sum(_tf: Tf): Kernel {
  return ({ inputs, attrs, backend }) => {
    const x = inputs.x as TensorInfo;
    const axis = attrs.axis as number | number[];
    const axes = Array.isArray(axis) ? axis : [axis];
    const [r, c] = x.shape as [number, number];
    const last = axes.length === 1 && (axes[0] === 1 || axes[0] === -1);
    const simd = inBlocksOf4(x) && last && attrs.keepDims !== true
      ? simdKernelsFor(wasmMemoryOf(backend))
      : null;
    if (simd) {
      const out = backend.makeOutput([r], 'float32');
      const at = (t: TensorInfo) => heapOffset(backend, t);
      simd.sumRows(at(x), at(out), r, c);
      return out;
    }
    return original.get('wasm/Sum')!({ inputs, attrs: attrs as NamedAttrMap, backend }) as TensorInfo;
  };
}

/**
 * MaxPoolGrad as one loop over the heap. The gradient of each output goes to the first maximum
 * of its window in row-major order (window rows, then columns), padding excluded: the rule of
 * the cpu backend and of TensorFlow.
 */
function maxPoolGrad(tf: Tf): Kernel {
  return ({ inputs, attrs, backend }) => {
    const be = backend;
    const dy = inputs.dy as TensorInfo;
    const x = inputs.input as TensorInfo;
    const info = tf.backend_util.computePool2DInfo(
      x.shape as [number, number, number, number], attrs.filterSize as [number, number], attrs.strides as [number, number], 1,
      attrs.pad as 'same', attrs.dimRoundingMode as 'floor' | undefined,
    );
    const [b, h, w, c] = x.shape as [number, number, number, number];
    const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const out = be.makeOutput([b, h, w, c], 'float32');
    // Views are taken after makeOutput: allocating may grow (and so detach) the heap.
    const heap = be.wasm.HEAPU8.buffer;
    const view = (t: TensorInfo, n: number) => new Float32Array(heap, be.dataIdMap.get(t.dataId)!.memoryOffset, n);
    const xs = view(x, b * h * w * c);
    const gs = view(dy, b * oh * ow * c);
    const dx = view(out, b * h * w * c);
    dx.fill(0);
    for (let n = 0; n < b; n++) {
      const xBase = n * h * w * c;
      for (let i = 0; i < oh; i++) {
        const y0 = i * sh - top;
        const yStart = Math.max(0, y0);
        const yEnd = Math.min(h, y0 + fh);
        for (let j = 0; j < ow; j++) {
          const x0 = j * sw - left;
          const xStart = Math.max(0, x0);
          const xEnd = Math.min(w, x0 + fw);
          const gBase = ((n * oh + i) * ow + j) * c;
          for (let ch = 0; ch < c; ch++) {
            let best = -Infinity;
            let at = -1;
            for (let y = yStart; y < yEnd; y++) {
              let p = xBase + (y * w + xStart) * c + ch;
              for (let xx = xStart; xx < xEnd; xx++, p += c) {
                const v = xs[p] as number;
                // `>` keeps the first maximum; a window of only NaN or -Infinity gets no
                // gradient: both as in the cpu backend.
                if (v > best) {
                  best = v;
                  at = p;
                }
              }
            }
            if (at >= 0) dx[at] = (dx[at] as number) + (gs[gBase + ch] as number);
          }
        }
      }
    }
    return out;
  };
}

/** The backend's own kernel that d2 replaced (tests compare with it), if any. */
export function originalKernel(backend: string, name: string): KernelFunc | undefined {
  return original.get(`${backend}/${name}`);
}

function register(tf: Tf, backend: string, make: Record<string, (tf: Tf) => unknown>): void {
  if (registered.has(backend)) return;
  for (const name of Object.keys(make)) {
    const existing = tf.getKernel(name, backend);
    if (existing) {
      original.set(`${backend}/${name}`, existing.kernelFunc);
      tf.unregisterKernel(name, backend);
    }
    tf.registerKernel({ kernelName: name, backendName: backend, kernelFunc: make[name]!(tf) as KernelFunc });
  }
  registered.add(backend);
}

/**
 * Register the kernels above for the wasm backend (once per process). Call after the wasm
 * backend is initialised.
 */
export async function registerWasmKernels(tf: Tf): Promise<void> {
  const make: Record<(typeof WASM_KERNELS)[number], (tf: Tf) => unknown> = {
    FusedConv2D: fusedConv2d,
    Conv2DBackpropFilter: conv2dBackpropFilter,
    Conv2DBackpropInput: conv2dBackpropInput,
    DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
    DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
    BatchMatMul: batchMatMul,
    MaxPoolGrad: maxPoolGrad,
    Transpose: transpose,
    Sum: sum,
  };
  register(tf, 'wasm', make);
}

/**
 * Register the cpu backend's replacement (once per process): its Conv2DBackpropFilter reads
 * every element through a generic buffer accessor, ~40× slower than the composition over its
 * own Conv2D. Call while the cpu backend is active.
 */
export function registerCpuKernels(tf: Tf): void {
  const make: Record<(typeof CPU_KERNELS)[number], (tf: Tf) => unknown> = { Conv2DBackpropFilter: conv2dBackpropFilter };
  register(tf, 'cpu', make);
}
