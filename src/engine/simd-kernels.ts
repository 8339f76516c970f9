/**
 * d2's SIMD kernels (src/engine/simd-kernels.wat) over the TensorFlow.js wasm backend's own
 * memory: the ReLU + 2×2 max-pool gradient and the bias gradient, ~5× faster than the same
 * loops in JavaScript and equal to them bit for bit (src/engine/simd-kernels.test.ts).
 *
 * Invariants: one instance per wasm memory (each worker thread has its own backend); when the
 * module cannot be instantiated (a runtime without WebAssembly SIMD) or D2_SIMD_KERNELS=0,
 * `simdKernelsFor` returns null and callers keep their JavaScript loops.
 */
import { SIMD_KERNELS_WASM } from './simd-kernels-binary.js';

export interface SimdKernels {
  /** Byte offsets; c a multiple of 4 (see `maxPool2ReluGradFits`). */
  maxPool2ReluGrad(x: number, dy: number, dx: number, n: number, h: number, w: number, c: number): void;
  /** Byte offsets; c a multiple of 16 (see `biasGradFits`). */
  biasGrad(dy: number, out: number, rows: number, c: number): void;
}

export const maxPool2ReluGradFits = (poolSize: number, channels: number): boolean => poolSize === 2 && channels % 4 === 0;
export const biasGradFits = (channels: number): boolean => channels % 16 === 0;

/** A WebAssembly.Memory (TypeScript's Node typings here do not declare the WebAssembly API). */
export type WasmMemory = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
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
      kernels = {
        maxPool2ReluGrad: (x, dy, dx, n, h, w, c) => pool(x, dy, dx, n, h, w, c),
        biasGrad: (dy, out, rows, c) => bias(dy, out, rows, c),
      };
    } catch {
      kernels = null;
    }
  }
  instances.set(memory, kernels);
  return kernels;
}
