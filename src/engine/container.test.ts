/**
 * The model ('D2MODEL1') and checkpoint ('D2CKPT01') formats: they round-trip exactly, and every
 * truncation, flipped byte, bad magic or inconsistent header is refused with InvalidArgument.
 */
import { describe, expect, it } from 'vitest';
import { adamState } from './adam.js';
import { CHECKPOINT_MAGIC, parseCheckpoint, serializeCheckpoint, type TrainingState } from './checkpoint.js';
import { crc32, decodeContainer, encodeContainer } from './container.js';
import { MODEL_MAGIC, parseModel, serializeModel } from './model.js';
import { describeNetwork, initialWeights } from './network.js';
import type { Architecture } from './plan.js';
import { Rng } from './prng.js';

const ARCH: Architecture = {
  family: 'cnn', inputShape: [6, 6, 1], numClasses: 3,
  layers: [
    { kind: 'conv2d', filters: 2, kernel: 3, padding: 'valid' },
    { kind: 'maxPool', size: 2 },
    { kind: 'flatten' },
    { kind: 'dense', units: 4, activation: 'relu' },
    { kind: 'dropout', rate: 0.25 },
    { kind: 'dense', units: 3, activation: 'linear' },
  ],
};
const TRAINING = { engine: 'wasm@4.22.0+simd', preset: 'fast', seed: 7, epochs: 3, bestEpoch: 2 };

function model(): { bytes: Uint8Array; weights: Float32Array } {
  const weights = initialWeights(describeNetwork(ARCH), 1);
  return { bytes: serializeModel(ARCH, weights, TRAINING), weights };
}

function checkpointState(): TrainingState {
  const n = describeNetwork(ARCH).paramCount;
  const adam = adamState(n);
  new Rng(2).fillUniform(adam.m, -1, 1);
  new Rng(3).fillUniform(adam.v, 0, 1);
  Object.assign(adam, { t: 12, p1: 0.9 ** 12, p2: 0.999 ** 12 });
  return {
    key: 'k'.repeat(64), seed: 7, engine: 'cpu@4.22.0', epochsDone: 2, stopped: null,
    weights: initialWeights(describeNetwork(ARCH), 4), adam,
    best: { loss: 0.25, epoch: 1, since: 1, weights: initialWeights(describeNetwork(ARCH), 5) },
    history: [{ epoch: 1, loss: 1, valLoss: 0.25, valAccuracy: 0.5, seconds: 0.1 }, { epoch: 2, loss: 0.5, valLoss: 0.3, valAccuracy: 0.5, seconds: 0.1 }],
    rng: { nextShuffle: [1, 2, 3, 4] },
  };
}

function expectInvalid(fn: () => unknown): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a throw').toBeDefined();
  expect((err as { code?: string }).code).toBe('InvalidArgument');
}

describe('container', () => {
  it('crc32 is zlib\'s CRC-32, continuable', () => {
    const bytes = new TextEncoder().encode('123456789');
    expect(crc32(bytes)).toBe(0xcbf43926);
    expect(crc32(bytes.subarray(4), crc32(bytes.subarray(0, 4)))).toBe(0xcbf43926);
  });

  it('starts with the magic and a checksummed header; arrays are 4-byte aligned', () => {
    const a = new Float32Array([1.5, -2, 3e-8]);
    const bytes = encodeContainer('D2TEST01', { format: 1, note: 'é' }, [['a', a]]);
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('D2TEST01');
    expect(new TextDecoder().decode(bytes.subarray(12, 22))).toBe('{"crc32":"');
    expect((bytes.length - a.byteLength) % 4).toBe(0);
    const { header, blobs } = decodeContainer(bytes, 'D2TEST01', 'test');
    expect(header).toEqual({ format: 1, note: 'é', blobs: [{ name: 'a', length: 3 }] });
    expect(Array.from(blobs.get('a')!)).toEqual(Array.from(a));
  });

  it('reads containers written without a checksum (structural checks only)', () => {
    const json = new TextEncoder().encode(JSON.stringify({ format: 1, blobs: [{ name: 'a', length: 1 }] }));
    const pad = ((12 + json.length + 3) & ~3) - (12 + json.length);
    const bytes = new Uint8Array(12 + json.length + pad + 4);
    bytes.set(new TextEncoder().encode('D2TEST01'));
    new DataView(bytes.buffer).setUint32(8, json.length, true);
    bytes.set(json, 12);
    new DataView(bytes.buffer).setFloat32(12 + json.length + pad, 2.5, true);
    expect(decodeContainer(bytes, 'D2TEST01', 'test').blobs.get('a')![0]).toBe(2.5);
  });
});

describe('model format (D2MODEL1)', () => {
  it('round-trips the architecture, the training record and every weight bit', () => {
    const { bytes, weights } = model();
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe(MODEL_MAGIC);
    const parsed = parseModel(bytes);
    expect(parsed.header.architecture).toEqual(ARCH);
    expect(parsed.header.training).toEqual(TRAINING);
    expect(parsed.header.params.map((p) => p.name)).toEqual(['conv2d_1/kernel', 'conv2d_1/bias', 'dense_1/kernel', 'dense_1/bias', 'dense_2/kernel', 'dense_2/bias']);
    expect(Buffer.from(parsed.weights.buffer).equals(Buffer.from(weights.buffer))).toBe(true);
    // Serialisation is deterministic.
    expect(Buffer.from(serializeModel(ARCH, parsed.weights, TRAINING)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('refuses every truncation', () => {
    const { bytes } = model();
    for (let len = 0; len < bytes.length; len += len < 64 ? 1 : 37) expectInvalid(() => parseModel(bytes.subarray(0, len)));
    expectInvalid(() => parseModel(bytes.subarray(0, bytes.length - 1)));
  });

  it('refuses a flipped bit anywhere (magic, header, weights) and trailing bytes', () => {
    const { bytes } = model();
    for (let i = 0; i < bytes.length; i += i < 300 ? 1 : 13) {
      const bad = bytes.slice();
      bad[i] = (bad[i] as number) ^ 0x10;
      expectInvalid(() => parseModel(bad));
    }
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    expectInvalid(() => parseModel(longer));
  });

  it('refuses a checkpoint as a model, and a model whose header does not fit its weights', () => {
    expectInvalid(() => parseModel(serializeCheckpoint(checkpointState())));
    const weights = initialWeights(describeNetwork(ARCH), 1);
    const header = { format: 1, architecture: ARCH, params: [], training: TRAINING };
    expectInvalid(() => parseModel(encodeContainer(MODEL_MAGIC, header, [['weights', weights.subarray(1)]])));
    expectInvalid(() => parseModel(encodeContainer(MODEL_MAGIC, { ...header, format: 2 }, [['weights', weights]])));
    const badLayer = { ...ARCH, layers: [...ARCH.layers.slice(0, -1), { kind: 'dense', units: 5, activation: 'linear' }] };
    expectInvalid(() => parseModel(encodeContainer(MODEL_MAGIC, { ...header, architecture: badLayer }, [['weights', weights]])));
    const unknownKind = { ...ARCH, layers: [{ kind: 'attention' }, ...ARCH.layers] };
    expectInvalid(() => parseModel(encodeContainer(MODEL_MAGIC, { ...header, architecture: unknownKind }, [['weights', weights]])));
    expectInvalid(() => parseModel(new Uint8Array(0)));
    expectInvalid(() => parseModel('D2MODEL1' as unknown as Uint8Array));
  });
});

describe('checkpoint format (D2CKPT01)', () => {
  it('round-trips the whole training state exactly', () => {
    const s = checkpointState();
    const bytes = serializeCheckpoint(s);
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe(CHECKPOINT_MAGIC);
    const back = parseCheckpoint(bytes);
    expect(back).toEqual(s);
    expect(Buffer.from(serializeCheckpoint(back)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('refuses truncations, flipped bits, a model, and inconsistent arrays', () => {
    const bytes = serializeCheckpoint(checkpointState());
    for (let len = 0; len < bytes.length; len += len < 64 ? 1 : 101) expectInvalid(() => parseCheckpoint(bytes.subarray(0, len)));
    for (let i = 0; i < bytes.length; i += i < 400 ? 3 : 97) {
      const bad = bytes.slice();
      bad[i] = (bad[i] as number) ^ 0x01;
      expectInvalid(() => parseCheckpoint(bad));
    }
    expectInvalid(() => parseCheckpoint(model().bytes));
    const s = checkpointState();
    expectInvalid(() => parseCheckpoint(serializeCheckpoint({ ...s, adam: { ...s.adam, m: s.adam.m.subarray(1) } })));
    expectInvalid(() => parseCheckpoint(encodeContainer(CHECKPOINT_MAGIC, { format: 1, key: 'k' }, [['weights', s.weights]])));
  });
});
