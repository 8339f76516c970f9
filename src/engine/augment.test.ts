/**
 * Augmentation: translations repeat the edge, mirrors mirror, draws are seeded and stay in
 * range; the plan translates training images of the image presets (not 'fast', not tables)
 * and mirrors only what d2.yaml declares; training with it is reproducible and differs from
 * training without it, and evaluation never sees it.
 */
import { describe, expect, it } from 'vitest';
import { augmentedPart, drawTransform, transformInto } from './augment.js';
import { parseModel } from './model.js';
import { defaultShift, planTraining } from './plan.js';
import { Rng } from './prng.js';
import { train } from './train.js';
import { barImages } from '../testing/bar-images.js';

/** A 3×4 image with 2 channels: value = 100·y + 10·x + channel. */
function image(): Float32Array {
  const out = new Float32Array(3 * 4 * 2);
  for (let y = 0; y < 3; y++) for (let x = 0; x < 4; x++) for (let c = 0; c < 2; c++) out[(y * 4 + x) * 2 + c] = 100 * y + 10 * x + c;
  return out;
}
const at = (img: Float32Array, y: number, x: number, c: number) => img[(y * 4 + x) * 2 + c];

describe('transformInto', () => {
  it('copies unchanged without a transform', () => {
    const out = new Float32Array(24);
    transformInto(out, 0, image(), 3, 4, 2, { dy: 0, dx: 0, flipH: false, flipV: false });
    expect(Array.from(out)).toEqual(Array.from(image()));
  });

  it('translates, repeating the edge pixels moved in', () => {
    const out = new Float32Array(24);
    transformInto(out, 0, image(), 3, 4, 2, { dy: 1, dx: -1, flipH: false, flipV: false });
    // Output (y, x) reads source (clamp(y - 1), clamp(x + 1)).
    expect(at(out, 0, 0, 0)).toBe(10); // source (0, 1)
    expect(at(out, 1, 0, 1)).toBe(11); // source (0, 1), channel 1
    expect(at(out, 2, 2, 0)).toBe(130); // source (1, 3)
    expect(at(out, 2, 3, 0)).toBe(130); // source (1, clamp(4) = 3): the edge repeated
  });

  it('mirrors left-right and top-bottom', () => {
    const h = new Float32Array(24);
    transformInto(h, 0, image(), 3, 4, 2, { dy: 0, dx: 0, flipH: true, flipV: false });
    expect(at(h, 0, 0, 0)).toBe(30);
    expect(at(h, 2, 3, 1)).toBe(201);
    const v = new Float32Array(24);
    transformInto(v, 0, image(), 3, 4, 2, { dy: 0, dx: 0, flipH: false, flipV: true });
    expect(at(v, 0, 1, 0)).toBe(210);
    expect(at(v, 2, 1, 0)).toBe(10);
  });
});

describe('drawTransform', () => {
  it('stays within the shift, uses both signs, mirrors only declared flips, and is seeded', () => {
    const rng = new Rng(7);
    const seen = new Set<number>();
    let flips = 0;
    for (let i = 0; i < 400; i++) {
      const t = drawTransform({ shift: 2, flip: ['horizontal'] }, rng);
      expect(Math.abs(t.dx)).toBeLessThanOrEqual(2);
      expect(Math.abs(t.dy)).toBeLessThanOrEqual(2);
      seen.add(t.dx);
      expect(t.flipV).toBe(false);
      if (t.flipH) flips++;
    }
    expect([...seen].sort()).toEqual([-1, -2, 0, 1, 2].sort());
    expect(flips).toBeGreaterThan(140);
    expect(flips).toBeLessThan(260);
    const a = drawTransform({ shift: 3, flip: ['vertical'] }, new Rng(1));
    expect(drawTransform({ shift: 3, flip: ['vertical'] }, new Rng(1))).toEqual(a);
  });

  it('augmentedPart copies the listed rows, each transformed by its own draw', () => {
    const x = new Float32Array([...image(), ...image().map((v) => v + 1000)]);
    const out = augmentedPart(x, [1, 0], 0, 2, [3, 4, 2], { shift: 0, flip: [] }, new Rng(1));
    expect(Array.from(out.subarray(0, 24))).toEqual(Array.from(image().map((v) => v + 1000)));
    expect(Array.from(out.subarray(24))).toEqual(Array.from(image()));
  });
});

describe('the plan', () => {
  const input = { shape: [28, 28, 1], numClasses: 10, trainCount: 60000, classCounts: new Array<number>(10).fill(6000) };
  it('translates training images by default (1 px at 28 px, 2 px for thorough), not in the reference preset or for tables', () => {
    expect(defaultShift([28, 28, 1])).toBe(1);
    expect(defaultShift([64, 64, 3])).toBe(2);
    expect(defaultShift([200, 300, 3])).toBe(4);
    expect(defaultShift([28, 28, 1], 'thorough')).toBe(2);
    expect(defaultShift([64, 64, 3], 'thorough')).toBe(4);
    expect(defaultShift([6, 6, 1])).toBe(0);
    expect(planTraining({ ...input, preset: 'default' }).augment).toEqual({ shift: 1, flip: [] });
    expect(planTraining({ ...input, preset: 'thorough' }).augment).toEqual({ shift: 2, flip: [] });
    expect(planTraining({ ...input, preset: 'fast' }).augment).toBeNull();
    expect(planTraining({ ...input, shape: [784], preset: 'default' }).augment).toBeNull();
  });

  it('mirrors only the flips declared', () => {
    expect(planTraining({ ...input, preset: 'default', flip: ['vertical', 'horizontal'] }).augment).toEqual({ shift: 1, flip: ['horizontal', 'vertical'] });
    expect(planTraining({ ...input, preset: 'fast', flip: ['horizontal'] }).augment).toEqual({ shift: 0, flip: ['horizontal'] });
    expect(planTraining({ ...input, shape: [784], preset: 'default', flip: ['horizontal'] }).augment).toBeNull();
  });
});

describe('training with augmentation', () => {
  const trainSet = barImages(96, 1);
  const validation = barImages(48, 2);
  const run = (patch: Record<string, unknown>) => train({ train: trainSet, validation, numClasses: 3, seed: 3, preset: 'default', engine: 'cpu', workers: 0, epochsOverride: 2, planPatch: patch });

  it('is reproducible, changes the weights, and leaves evaluation alone', async () => {
    const a = await run({ augment: { shift: 1, flip: ['horizontal'] } });
    const b = await run({ augment: { shift: 1, flip: ['horizontal'] } });
    const none = await run({ augment: null });
    expect(Buffer.from(a.model).equals(Buffer.from(b.model))).toBe(true);
    expect(Buffer.from(parseModel(a.model).weights.buffer).equals(Buffer.from(parseModel(none.model).weights.buffer))).toBe(false);
    // The recorded validation loss is that of the unaugmented images: evaluating the kept
    // weights on them again gives the same figure.
    const { loadModel, predict } = await import('./model.js');
    const model = await loadModel(a.model, { engine: 'cpu' });
    const probs = await predict(model, validation.x);
    model.dispose();
    let loss = 0;
    for (let i = 0; i < validation.y.length; i++) loss -= Math.log(probs[i * 3 + (validation.y[i] as number)] as number);
    expect(loss / validation.y.length).toBeCloseTo(a.history.at(-1)!.valLoss!, 4);
  });

  it('label smoothing changes the training loss and the weights, not the validation measure', async () => {
    const plain = await run({ augment: null });
    const smooth = await run({ augment: null, labelSmoothing: 0.1 });
    expect(smooth.history[0]!.loss).not.toBe(plain.history[0]!.loss);
    expect(Buffer.from(smooth.model).equals(Buffer.from(plain.model))).toBe(false);
    expect(Number.isFinite(smooth.history.at(-1)!.valLoss)).toBe(true);
  });
});
