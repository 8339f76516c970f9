/**
 * The build key and the cross-validated choice of model: only builds that choose by
 * cross-validation (small text and table data, not a `d2 review` fold) have a new key; image
 * builds and larger text and table builds keep the key they had before.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import { buildKeyOf, describeArchitecture, TRAINER_VERSION, type ModelSpec } from './builds.js';
import { planTraining } from '../engine/plan.js';
import type { PreparedData } from './prepared.js';

const PACKED = 'a'.repeat(64);

function prepared(modality: 'image' | 'table' | 'text', train: number, validation: number, augment?: { translate: boolean; flip: string[] }): PreparedData {
  const set = (count: number) => ({ pack: null, count, labels: [], paths: [], skipped: [] });
  return {
    packing: { oid: PACKED, record: { modality, steps: [], sets: { train: set(train), validation: set(validation), test: set(10), modelTest: set(0) } } },
    state: { manifest: { model: { preset: 'default', seed: 0 }, preprocess: augment ? { augment } : {} } },
  } as unknown as PreparedData;
}

/** The key as it was computed before cross-validated selection. */
function keyBefore(candidates: string | undefined, model: ModelSpec = { preset: 'default', seed: 0, timeBudgetSeconds: null }): string {
  return sha256Hex(canonicalJson({
    kind: 'd2-build-key', trainer: TRAINER_VERSION, packed: PACKED, steps: [],
    model: { preset: model.preset, seed: model.seed, timeBudgetSeconds: model.timeBudgetSeconds, maxEpochs: model.maxEpochs, fold: model.fold },
    candidates, engine: 'wasm@x',
  }));
}

describe('buildKeyOf and the choice of model', () => {
  it('keeps the key of image builds and of text and table builds with 2,000 train + validation items or more', () => {
    expect(buildKeyOf(prepared('image', 100, 20), 'wasm@x')).toBe(keyBefore(undefined));
    expect(buildKeyOf(prepared('table', 1800, 200), 'wasm@x')).toBe(keyBefore('linear+mlp'));
    expect(buildKeyOf(prepared('text', 5000, 600), 'wasm@x')).toBe(keyBefore('linear+mlp'));
  });

  it('changes the key of small text and table builds, which choose by cross-validation', () => {
    expect(buildKeyOf(prepared('table', 1800, 199), 'wasm@x')).not.toBe(keyBefore('linear+mlp'));
    expect(buildKeyOf(prepared('text', 100, 20), 'wasm@x')).not.toBe(keyBefore('linear+mlp'));
  });

  it('changes the key of an image build when d2.yaml declares augmentation other than the default, and of nothing else', () => {
    const plain = buildKeyOf(prepared('image', 100, 20), 'wasm@x');
    expect(buildKeyOf(prepared('image', 100, 20, { translate: true, flip: [] }), 'wasm@x')).toBe(plain);
    const flipped = buildKeyOf(prepared('image', 100, 20, { translate: true, flip: ['horizontal'] }), 'wasm@x');
    expect(flipped).not.toBe(plain);
    expect(buildKeyOf(prepared('image', 100, 20, { translate: false, flip: [] }), 'wasm@x')).not.toBe(plain);
    expect(buildKeyOf(prepared('image', 100, 20, { translate: false, flip: [] }), 'wasm@x')).not.toBe(flipped);
    // the order a flip list is written in does not matter
    expect(buildKeyOf(prepared('image', 100, 20, { translate: true, flip: ['vertical', 'horizontal'] }), 'wasm@x'))
      .toBe(buildKeyOf(prepared('image', 100, 20, { translate: true, flip: ['horizontal', 'vertical'] }), 'wasm@x'));
    // augmentation acts on images only: a table build's key is unchanged
    expect(buildKeyOf(prepared('table', 1800, 200, { translate: true, flip: ['horizontal'] }), 'wasm@x')).toBe(keyBefore('linear+mlp'));
  });

  it('keeps the key of the fold builds of d2 review, which choose by their validation split', () => {
    const fold: ModelSpec = { preset: 'fast', seed: 0, timeBudgetSeconds: null, maxEpochs: 10, fold: { k: 5, index: 0, seed: 0 } };
    expect(buildKeyOf(prepared('table', 100, 20), 'wasm@x', fold)).toBe(keyBefore('linear+mlp', fold));
  });
});

describe('describeArchitecture', () => {
  it('names a convolution\'s kernel when it is not 3×3, and its same padding', () => {
    const plan = (preset: 'fast' | 'default') => planTraining({ shape: [28, 28, 1], numClasses: 10, trainCount: 54000, classCounts: Array(10).fill(5400), preset });
    expect(describeArchitecture(plan('fast').architecture)).toBe('cnn conv16-pool-conv32-pool-dense64-dense10');
    expect(describeArchitecture(plan('default').architecture)).toBe('cnn conv32k5s-pool-conv48-pool-dense256-drop0.3-dense10');
  });
});
