/**
 * Engine selection: auto falls through absent optional packages to wasm; a forced engine that
 * is absent fails with EngineUnavailable and the command that enables it; nothing is printed.
 */
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EngineUnavailable, InvalidArgument } from '../errors/index.js';
import { listEngines, selectEngine, type EngineName } from './engines.js';

const require = createRequire(import.meta.url);
function installed(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}
const haveNode = installed('@tensorflow/tfjs-node');
const haveGpu = installed('@tensorflow/tfjs-node-gpu');

afterEach(() => {
  vi.restoreAllMocks();
});

describe('selectEngine', () => {
  it.skipIf(haveNode || haveGpu)('auto picks wasm when no native package is installed', async () => {
    const { info, tf } = await selectEngine('auto');
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.wasmBinary).toBe('simd');
    expect(info.id).toMatch(/^wasm@\d+\.\d+\.\d+\+simd$/);
    expect(info.versions['tfjs-backend-wasm']).toBe(info.versions['tfjs-core']);
  });

  it('wasm and cpu start on request and report their versions', async () => {
    for (const name of ['wasm', 'cpu'] as const) {
      const { info, tf } = await selectEngine(name);
      expect(info.name).toBe(name);
      expect(tf.getBackend()).toBe(name);
      expect(info.versions['tfjs-core']).toMatch(/^\d+\.\d+\.\d+$/);
      // The engine computes: a tiny matrix product.
      const y = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 0, 0, 1], [2, 2]));
      expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
      y.dispose();
    }
  });

  it.each([
    ['node', haveNode, 'npm install @tensorflow/tfjs-node'],
    ['gpu', haveGpu, 'npm install @tensorflow/tfjs-node-gpu'],
  ] as const)('a forced %s engine that is absent throws EngineUnavailable with its install command', async (name, present, hint) => {
    if (present) return;
    const err = await selectEngine(name as EngineName).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineUnavailable);
    expect((err as EngineUnavailable).code).toBe('EngineUnavailable');
    expect((err as EngineUnavailable).hint).toBe(hint);
    expect((err as EngineUnavailable).message).toContain(`engine '${name}' is not available`);
  });

  it('an unknown engine name is an InvalidArgument', async () => {
    const err = await selectEngine('tpu' as EngineName).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgument);
  });

  it('prints nothing (TensorFlow.js notices are silenced)', async () => {
    const spies = (['log', 'warn', 'info', 'error'] as const).map((m) => vi.spyOn(console, m));
    const { tf } = await selectEngine('cpu');
    tf.tensor1d([1, 2, 3]).dispose();
    await selectEngine('wasm');
    for (const s of spies) expect(s).not.toHaveBeenCalled();
  });
});

describe('listEngines', () => {
  it('lists all four, wasm and cpu available, and restores the active backend', async () => {
    const { tf } = await selectEngine('cpu');
    const list = await listEngines();
    expect(list.map((e) => e.name)).toEqual(['gpu', 'node', 'wasm', 'cpu']);
    expect(list.find((e) => e.name === 'wasm')?.available).toBe(true);
    expect(list.find((e) => e.name === 'cpu')?.available).toBe(true);
    if (!haveNode) expect(list.find((e) => e.name === 'node')).toMatchObject({ available: false, hint: 'npm install @tensorflow/tfjs-node' });
    expect(tf.getBackend()).toBe('cpu');
  });
});
