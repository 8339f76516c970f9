import { describe, expect, it } from 'vitest';
import { diffBehaviour, type PairedItem } from './behaviour-diff.js';
import { computeMetrics } from './metrics.js';

const item = (path: string, truth: string, before: string, after: string, cb = 0.5, ca = 0.5, modelTest = false): PairedItem => ({
  path, oid: path, truth, modelTest, before: { label: before, confidence: cb }, after: { label: after, confidence: ca },
});

describe('diffBehaviour', () => {
  const items = [
    item('a', 'cat', 'cat', 'cat'),
    item('b', 'cat', 'dog', 'cat', 0.6, 0.9), // fixed, confident
    item('c', 'cat', 'dog', 'cat', 0.6, 0.7), // fixed
    item('d', 'dog', 'dog', 'cat', 0.8, 0.55), // broken
    item('e', 'dog', 'dog', 'dog'),
    item('f', 'dog', 'cat', 'bird'), // wrong both times, differently
    item('t1', 'cat', 'cat', 'dog', 0.9, 0.6, true), // a broken model test
  ];
  const d = diffBehaviour(items);

  it('computes metrics on both sides over the same items, model tests apart', () => {
    expect(d.count).toBe(6);
    expect(d.accuracy).toEqual({ before: 3 / 6, after: 4 / 6, delta: 4 / 6 - 3 / 6 });
    expect(d.modelTests).toMatchObject({ count: 1, failingBefore: 0, failingAfter: 1, broken: [expect.objectContaining({ path: 't1' })] });
  });

  it('lists flips, most confident first, and the wrong answers that changed', () => {
    expect(d.fixed.map((f) => f.path)).toEqual(['b', 'c']);
    expect(d.broken.map((f) => f.path)).toEqual(['d']);
    expect(d.changedWrong).toBe(1);
    expect(d.significance).toMatchObject({ fixed: 2, broken: 1, method: 'exact', pValue: 1 });
  });

  it('gives per-class deltas and the changed confusion cells', () => {
    const cat = d.perClass.find((c) => c.label === 'cat')!;
    expect(cat.recall).toEqual({ before: 1 / 3, after: 1, delta: 1 - 1 / 3 });
    expect(cat.precision.before).toBeCloseTo(1 / 2, 12); // before: cat predicted for a, f
    expect(cat.precision.after).toBeCloseTo(3 / 4, 12); // after: a, b, c, d
    expect(d.confusion).toContainEqual({ truth: 'cat', predicted: 'dog', before: 2, after: 0, delta: -2 });
    expect(d.confusion).toContainEqual({ truth: 'dog', predicted: 'bird', before: 0, after: 1, delta: 1 });
    expect(d.confusion.every((c) => c.delta !== 0)).toBe(true);
  });

  it('agrees with core/metrics on each side (the figures of a build\'s evaluation)', () => {
    const main = items.filter((i) => !i.modelTest);
    const classes = ['bird', 'cat', 'dog'];
    const idx = (l: string) => classes.indexOf(l);
    const before = computeMetrics(main.map((i) => idx(i.truth)), main.map((i) => idx(i.before.label)), classes);
    const after = computeMetrics(main.map((i) => idx(i.truth)), main.map((i) => idx(i.after.label)), classes);
    expect(d.accuracy.before).toBe(before.accuracy);
    expect(d.macroF1).toEqual({ before: before.macroF1, after: after.macroF1, delta: after.macroF1 - before.macroF1 });
    const dog = d.perClass.find((c) => c.label === 'dog')!;
    expect(dog.f1).toEqual({ before: before.perClass[2]!.f1, after: after.perClass[2]!.f1, delta: after.perClass[2]!.f1 - before.perClass[2]!.f1 });
    // a label only ever predicted (no item of it) has no row
    expect(d.perClass.map((c) => c.label)).toEqual(['cat', 'dog']);
  });

  it('handles no items', () => {
    const e = diffBehaviour([]);
    expect(e).toMatchObject({ count: 0, accuracy: { before: 0, after: 0, delta: 0 }, perClass: [], confusion: [], fixed: [], broken: [] });
    expect(e.significance).toMatchObject({ fixed: 0, broken: 0, pValue: 1 });
  });
});
