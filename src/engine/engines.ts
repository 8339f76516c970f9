/**
 * Engine selection: which TensorFlow.js backend trains and predicts, picked at run time.
 *
 * Order of preference (fastest first): `gpu` (@tensorflow/tfjs-node-gpu, only when a GPU is
 * visible) > `node` (@tensorflow/tfjs-node) > `wasm` (@tensorflow/tfjs-backend-wasm, the default
 * that always installs) > `cpu` (the pure-JavaScript backend of @tensorflow/tfjs).
 *
 * Invariants:
 * - This folder is the only importer of `@tensorflow/*`, always through dynamic `import()`, so
 *   commands that never train never pay TensorFlow.js's load time.
 * - TensorFlow.js has one global engine per process: `selectEngine` switches it. Tensors must be
 *   created after the engine they belong to is selected (the trainer does this itself).
 * - A forced engine that is not available throws EngineUnavailable with the one command that
 *   enables it; `auto` never throws for an absent optional package, it falls through.
 * - The engine's `id` (name, backend version, wasm binary) is what reproducibility depends on:
 *   the same data, preset, seed and engine id give bit-identical weights.
 * - Nothing here prints: TensorFlow.js's own console notices are silenced with prod mode.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { EngineUnavailable, InvalidArgument } from '../errors/index.js';
import { registerFusedKernels } from './fused-kernels.js';
import { registerCpuKernels, registerWasmKernels } from './wasm-kernels.js';

export type Tf = typeof import('@tensorflow/tfjs');
export { ENGINE_NAMES, ENGINE_REQUESTS, type EngineName, type EngineRequest } from './names.js';
import { ENGINE_NAMES, type EngineName, type EngineRequest } from './names.js';

export interface EngineInfo {
  name: EngineName;
  /** The TensorFlow.js backend name: 'tensorflow', 'wasm' or 'cpu'. */
  backend: string;
  /** Versions of the packages in use, by package name. */
  versions: Record<string, string>;
  /** wasm only: which binary runs ('simd' or 'plain'); numerics differ between them. */
  wasmBinary?: 'simd' | 'plain';
  /** Threads one engine instance computes with (the trainer may run several instances). */
  threads: number;
  /** Stable identifier for records (d2.lock): name, version and binary, e.g. 'wasm@4.22.0+simd'. */
  id: string;
}

export interface Engine {
  info: EngineInfo;
  tf: Tf;
}

export interface EngineAvailability {
  name: EngineName;
  available: boolean;
  /** Why not, when not available. */
  reason?: string;
  /** The command that makes it available. */
  hint?: string;
}

const HINTS: Record<EngineName, string> = {
  gpu: 'npm install @tensorflow/tfjs-node-gpu',
  node: 'npm install @tensorflow/tfjs-node',
  wasm: 'npm install @tensorflow/tfjs-backend-wasm',
  cpu: 'npm install @tensorflow/tfjs',
};

const require = createRequire(import.meta.url);

// Specifiers held in variables: the optional packages are usually absent, so neither the
// compiler nor the bundler may try to resolve them.
const TFJS_NODE = '@tensorflow/tfjs-node';
const TFJS_NODE_GPU = '@tensorflow/tfjs-node-gpu';

let tfPromise: Promise<Tf> | undefined;

/** @tensorflow/tfjs itself (loaded once, prod mode: no console notices, no debug checks). */
export async function loadTf(): Promise<Tf> {
  tfPromise ??= (async () => {
    let tf: Tf;
    try {
      tf = await import('@tensorflow/tfjs');
    } catch (e) {
      tfPromise = undefined;
      throw new EngineUnavailable("engine 'cpu' is not available: cannot load '@tensorflow/tfjs'", {
        data: { engine: 'cpu' }, hint: HINTS.cpu, cause: e,
      });
    }
    tf.enableProdMode();
    return tf;
  })();
  return tfPromise;
}

function isModuleMissing(e: unknown): boolean {
  const code = (e as { code?: string } | undefined)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

interface Candidate {
  start(tf: Tf): Promise<EngineInfo>;
}

async function startNative(tf: Tf, name: 'gpu' | 'node'): Promise<EngineInfo> {
  const spec = name === 'gpu' ? TFJS_NODE_GPU : TFJS_NODE;
  let mod: { version?: Record<string, string> };
  try {
    mod = (await import(spec)) as { version?: Record<string, string> };
  } catch (e) {
    throw new EngineUnavailable(`engine '${name}' is not available: ${isModuleMissing(e) ? `'${spec}' is not installed` : `'${spec}' cannot be loaded`}`, {
      data: { engine: name }, hint: HINTS[name], cause: e,
    });
  }
  if (!(await tf.setBackend('tensorflow'))) {
    throw new EngineUnavailable(`engine '${name}' is not available: the 'tensorflow' backend did not start`, { data: { engine: name }, hint: HINTS[name] });
  }
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  if (name === 'gpu' && backend.isUsingGpuDevice !== true) {
    throw new EngineUnavailable("engine 'gpu' is not available: no GPU is visible to TensorFlow", {
      data: { engine: name }, hint: 'install CUDA and cuDNN for @tensorflow/tfjs-node-gpu, or choose another engine',
    });
  }
  const versions: Record<string, string> = { ...tf.version, ...(mod.version ?? {}) };
  const own = versions[spec.slice('@tensorflow/'.length)] ?? versions['tfjs-node'] ?? 'unknown';
  return { name, backend: 'tensorflow', versions, threads: 0, id: `${name}@${own}` };
}

function wasmDistDir(): string {
  const pkg = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  return path.join(path.dirname(pkg), 'dist') + path.sep;
}

let wasmPathsSet = false;

async function startWasm(tf: Tf): Promise<EngineInfo> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  let dir: string;
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
    dir = wasmDistDir();
  } catch (e) {
    throw new EngineUnavailable("engine 'wasm' is not available: '@tensorflow/tfjs-backend-wasm' is not installed", {
      data: { engine: 'wasm' }, hint: HINTS.wasm, cause: e,
    });
  }
  if (!existsSync(path.join(dir, 'tfjs-backend-wasm.wasm'))) {
    throw new EngineUnavailable(`engine 'wasm' is not available: its .wasm files are missing from '${dir}'`, {
      data: { engine: 'wasm', dir }, hint: HINTS.wasm,
    });
  }
  if (!wasmPathsSet) {
    // In Node the backend reads its binaries from disk: point it at the package's dist folder.
    wasm.setWasmPaths(dir);
    wasmPathsSet = true;
  }
  let ok = false;
  try {
    ok = await tf.setBackend('wasm');
  } catch (e) {
    throw new EngineUnavailable("engine 'wasm' is not available: the WebAssembly backend did not start", { data: { engine: 'wasm' }, hint: HINTS.wasm, cause: e });
  }
  if (!ok) throw new EngineUnavailable("engine 'wasm' is not available: the WebAssembly backend did not start", { data: { engine: 'wasm' }, hint: HINTS.wasm });
  await registerWasmKernels(tf);
  registerFusedKernels(tf, 'wasm');
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  const versions: Record<string, string> = { ...tf.version, 'tfjs-backend-wasm': wasm.version_wasm };
  return {
    name: 'wasm', backend: 'wasm', versions, wasmBinary: simd ? 'simd' : 'plain', threads: wasm.getThreadsCount(),
    id: `wasm@${wasm.version_wasm}+${simd ? 'simd' : 'plain'}`,
  };
}

async function startCpu(tf: Tf): Promise<EngineInfo> {
  if (!(await tf.setBackend('cpu'))) throw new EngineUnavailable("engine 'cpu' is not available", { data: { engine: 'cpu' }, hint: HINTS.cpu });
  registerCpuKernels(tf);
  registerFusedKernels(tf, 'cpu');
  return { name: 'cpu', backend: 'cpu', versions: { ...tf.version }, threads: 1, id: `cpu@${tf.version['tfjs-backend-cpu'] ?? tf.version.tfjs}` };
}

const CANDIDATES: Record<EngineName, Candidate> = {
  gpu: { start: (tf) => startNative(tf, 'gpu') },
  node: { start: (tf) => startNative(tf, 'node') },
  wasm: { start: startWasm },
  cpu: { start: startCpu },
};

const started = new Map<EngineName, EngineInfo>();
let autoChoice: EngineName | undefined;

async function start(tf: Tf, name: EngineName): Promise<Engine> {
  const known = started.get(name);
  if (known) {
    if (tf.getBackend() !== known.backend) await tf.setBackend(known.backend);
    return { info: known, tf };
  }
  const info = await CANDIDATES[name].start(tf);
  started.set(name, info);
  return { info, tf };
}

/**
 * Select the engine (and make it TensorFlow.js's active backend). `auto` picks the fastest one
 * present; a named engine that cannot start throws EngineUnavailable with a hint.
 *
 * @example
 * const { info, tf } = await selectEngine('auto');
 * onProgress({ phase: 'engine', loaded: 1, detail: { engine: info.id } });
 */
export async function selectEngine(request: EngineRequest = 'auto'): Promise<Engine> {
  if (request !== 'auto' && !ENGINE_NAMES.includes(request)) {
    throw new InvalidArgument(`unknown engine '${String(request)}' (expected one of: auto, ${ENGINE_NAMES.join(', ')})`, { data: { engine: request } });
  }
  const tf = await loadTf();
  if (request !== 'auto') return start(tf, request);
  if (autoChoice) return start(tf, autoChoice);
  let last: unknown;
  for (const name of ENGINE_NAMES) {
    try {
      const engine = await start(tf, name);
      autoChoice = name;
      return engine;
    } catch (e) {
      if (!(e instanceof EngineUnavailable)) throw e;
      last = e;
    }
  }
  throw last;
}

/** Which engines can start here (each is tried once; the active backend is restored after). */
export async function listEngines(): Promise<EngineAvailability[]> {
  const tf = await loadTf();
  const before = tf.getBackend();
  const out: EngineAvailability[] = [];
  for (const name of ENGINE_NAMES) {
    try {
      await start(tf, name);
      out.push({ name, available: true });
    } catch (e) {
      if (!(e instanceof EngineUnavailable)) throw e;
      out.push({ name, available: false, reason: e.message, ...(e.hint !== undefined ? { hint: e.hint } : {}) });
    }
  }
  if (before && tf.getBackend() !== before) await tf.setBackend(before);
  return out;
}
