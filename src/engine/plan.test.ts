/**
 * The plan: modality picks the family (CNN for images, MLP for feature vectors), presets pick
 * fixed layers and epochs, imbalanced classes get balanced weights, and the plan is a pure
 * function of its inputs.
 */
import { describe, expect, it } from 'vitest';
import { classWeightsFor, IMBALANCE_RATIO, learningRateAt, planTraining, PRESET_NAMES, type PlanInput } from './plan.js';

const balanced = (k: number, each: number) => new Array<number>(k).fill(each);
const input = (over: Partial<PlanInput>): PlanInput => ({ shape: [28, 28, 1], numClasses: 10, trainCount: 60000, classCounts: balanced(10, 6000), preset: 'fast', ...over });

describe('planTraining', () => {
  it("gives images a CNN: 'fast' on 28×28×1 is the reference network", () => {
    const plan = planTraining(input({}));
    expect(plan.architecture).toEqual({
      family: 'cnn', inputShape: [28, 28, 1], numClasses: 10,
      layers: [
        { kind: 'conv2d', filters: 16, kernel: 3, padding: 'valid' },
        { kind: 'maxPool', size: 2 },
        { kind: 'conv2d', filters: 32, kernel: 3, padding: 'valid' },
        { kind: 'maxPool', size: 2 },
        { kind: 'flatten' },
        { kind: 'dense', units: 64, activation: 'relu' },
        { kind: 'dense', units: 10, activation: 'linear' },
      ],
    });
    expect(plan).toMatchObject({
      batchSize: 64, shards: 2, maxEpochs: 10, patience: 2, restoreBest: true, classWeights: null,
      optimizer: { name: 'adam', learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
      schedule: { kind: 'constant' },
    });
  });

  it("gives feature vectors an MLP: 'fast' on [784] is 784-256-128-10", () => {
    const plan = planTraining(input({ shape: [784] }));
    expect(plan.architecture.family).toBe('mlp');
    expect(plan.architecture.layers).toEqual([
      { kind: 'flatten' },
      { kind: 'dense', units: 256, activation: 'relu' },
      { kind: 'dense', units: 128, activation: 'relu' },
      { kind: 'dense', units: 10, activation: 'linear' },
    ]);
  });

  it('treats degenerate images (one row or column) as feature vectors', () => {
    expect(planTraining(input({ shape: [1, 20, 1] })).architecture.family).toBe('mlp');
    expect(planTraining(input({ shape: [20, 1, 3] })).architecture.family).toBe('mlp');
    expect(planTraining(input({ shape: [8, 8, 3] })).architecture.family).toBe('cnn');
  });

  it('scales with the preset and the data: dropout, epochs, patience, cosine decay, narrower small tables', () => {
    const img = (preset: 'default' | 'thorough', shape = [28, 28, 1]) => planTraining(input({ preset, shape }));
    expect(img('default')).toMatchObject({
      maxEpochs: 15, patience: 4, batchNorm: true, optimizer: { learningRate: 3e-3 }, schedule: { kind: 'cosine', minFactor: 0.02, warmup: 0.15 },
    });
    // About 13,500 steps of 64 images, between 10 and 16 epochs (Fashion-MNIST's 54,000: 16).
    const epochsFor = (trainCount: number) => planTraining(input({ preset: 'default', trainCount })).maxEpochs;
    expect([5000, 40000, 54000, 60000, 1_000_000].map(epochsFor)).toEqual([16, 16, 16, 15, 10]);
    expect(img('default').architecture.layers.filter((l) => l.kind === 'conv2d').map((l) => (l as { filters: number }).filters)).toEqual([32, 48]);
    expect(img('default').architecture.layers).toContainEqual({ kind: 'dropout', rate: 0.3 });
    expect(img('thorough')).toMatchObject({ maxEpochs: 40, patience: 6 });
    expect(img('thorough').architecture.layers.filter((l) => l.kind === 'conv2d')).toHaveLength(4);
    expect(img('thorough', [64, 64, 3]).architecture.layers.filter((l) => l.kind === 'conv2d')).toHaveLength(6);
    const table = planTraining(input({ shape: [12], trainCount: 1000, classCounts: balanced(10, 100), preset: 'default' }));
    expect(table).toMatchObject({ maxEpochs: 50, patience: 5, batchSize: 32 });
    expect(table.architecture.layers.filter((l) => l.kind === 'dense').map((l) => (l as { units: number }).units)).toEqual([64, 32, 10]);
  });

  it('uses batch 32 below 2,000 training items, 64 from there', () => {
    expect(planTraining(input({ trainCount: 1999 })).batchSize).toBe(32);
    expect(planTraining(input({ trainCount: 2000 })).batchSize).toBe(64);
  });

  it('weights classes (N / (K × count)) when the largest is ≥ 1.5× the smallest present', () => {
    expect(planTraining(input({ numClasses: 2, classCounts: [900, 100] })).classWeights).toEqual([1000 / (2 * 900), 1000 / (2 * 100)]);
    expect(classWeightsFor([150, 100])).not.toBeNull();
    expect(classWeightsFor([149, 100])).toBeNull();
    expect(IMBALANCE_RATIO).toBe(1.5);
    // An absent class is not "the smallest"; it gets weight 1.
    expect(classWeightsFor([100, 0, 100])).toBeNull();
    expect(classWeightsFor([300, 0, 100])).toEqual([400 / (2 * 300), 1, 400 / (2 * 100)]);
    expect(classWeightsFor([5])).toBeNull();
  });

  it('is pure and JSON-able: the same inputs give the same plan', () => {
    const a = planTraining(input({ preset: 'thorough', numClasses: 3, classCounts: [10, 50, 20] }));
    const b = planTraining(input({ preset: 'thorough', numClasses: 3, classCounts: [10, 50, 20] }));
    expect(a).toEqual(b);
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });

  it('refuses unknown presets, fewer than 2 classes and bad shapes with InvalidArgument', () => {
    expect(() => planTraining(input({ preset: 'huge' as never }))).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => planTraining(input({ numClasses: 1, classCounts: [5] }))).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => planTraining(input({ shape: [] }))).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => planTraining(input({ shape: [28, 0, 1] }))).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(PRESET_NAMES).toEqual(['fast', 'default', 'thorough']);
  });
});

describe('learningRateAt', () => {
  it('with a warm-up, rises linearly from base × minFactor to base, then decays by a cosine', () => {
    const plan = planTraining(input({ preset: 'default' }));
    const total = plan.maxEpochs * 100;
    const at = (s: number) => learningRateAt(plan, Math.floor(s / 100), s % 100, 100);
    expect(at(0)).toBeCloseTo(3e-3 * 0.02, 15);
    expect(at(total * 0.075)).toBeCloseTo(3e-3 * (0.02 + 0.98 * 0.5), 12);
    expect(at(total * 0.15)).toBeCloseTo(3e-3, 12);
    expect(at(total * 0.575)).toBeCloseTo(3e-3 * (0.02 + 0.98 * 0.5), 12);
    expect(at(total)).toBeCloseTo(3e-3 * 0.02, 15);
  });

  it('is constant for fast, and decays by a cosine from the base to 5 % over all steps otherwise', () => {
    const fast = planTraining(input({}));
    expect(learningRateAt(fast, 3, 10, 100)).toBe(1e-3);
    const plan = planTraining(input({ preset: 'default', shape: [784] }));
    expect(learningRateAt(plan, 0, 0, 100)).toBeCloseTo(1e-3, 15);
    expect(learningRateAt(plan, plan.maxEpochs / 2, 0, 100)).toBeCloseTo(1e-3 * (0.05 + 0.95 * 0.5), 12);
    expect(learningRateAt(plan, plan.maxEpochs, 0, 100)).toBeCloseTo(5e-5, 15);
    expect(learningRateAt(plan, 0, 0, 100, 0.1)).toBeCloseTo(0.1, 15);
  });
});

describe('small images', () => {
  it('keep a CNN that fits: pools that do not fit are dropped, cramped valid convolutions become same', async () => {
    const { describeNetwork } = await import('./network.js');
    for (const preset of PRESET_NAMES) {
      for (const side of [2, 3, 5, 8, 9, 10, 13]) {
        const plan = planTraining(input({ shape: [side, side, 1], preset }));
        expect(plan.architecture.family).toBe('cnn');
        expect(() => describeNetwork(plan.architecture), `${preset} ${side}px`).not.toThrow();
      }
    }
    expect(planTraining(input({ shape: [8, 8, 1] })).architecture.layers.slice(0, 4)).toEqual([
      { kind: 'conv2d', filters: 16, kernel: 3, padding: 'valid' },
      { kind: 'maxPool', size: 2 },
      { kind: 'conv2d', filters: 32, kernel: 3, padding: 'same' },
      { kind: 'flatten' },
    ]);
  });

  it('normalises the image presets\' convolutions by batch, not the reference network and not feature vectors', () => {
    for (const preset of PRESET_NAMES) {
      expect(planTraining(input({ shape: [784], preset })).batchNorm, `${preset} [784]`).toBe(false);
      expect(planTraining(input({ shape: [28, 28, 1], preset })).batchNorm, `${preset} [28, 28, 1]`).toBe(preset !== 'fast');
    }
  });
});
