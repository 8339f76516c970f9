import { describe, expect, it } from 'vitest';
import type { DatasetItem, ResolvedDataset } from '../core/dataset.js';
import { assignFolds } from '../core/folds.js';
import { sha256Hex } from '../util/hash.js';
import { crossValidatedItems, foldDataset, foldModelSpec, FOLD_PRESET } from './cross-validation.js';

function dataset(n: number): ResolvedDataset {
  const sets = ['train', 'train', 'validation', 'test', 'train'] as const;
  const items: DatasetItem[] = Array.from({ length: n }, (_, i) => ({
    source: 's', path: `p${String(i).padStart(3, '0')}.png`, oid: sha256Hex(`item ${i}`), size: 1, label: i % 3 ? 'cat' : 'dog', set: sets[i % 5]!,
  }));
  items.push({ source: 's', path: 'zz-model-test.png', oid: sha256Hex('mt'), size: 1, label: 'dog', set: 'modelTest' });
  return { items, classes: ['cat', 'dog'], counts: {} as ResolvedDataset['counts'], left: { filtered: 0, dropped: 0, unlabelled: 0, duplicatesOfModelTests: 0 }, unlabelled: [], problems: [] };
}

describe('fold datasets', () => {
  it('leave out the model tests, and put each item in test for exactly one fold', () => {
    const d = dataset(100);
    const items = crossValidatedItems(d);
    expect(items).toHaveLength(100);
    const folds = assignFolds(items.map((i) => i.oid), 5, 0);
    const inTest = new Map<string, number>();
    for (let f = 0; f < 5; f++) {
      const fd = foldDataset(d, items, folds, f);
      expect(fd.classes).toEqual(['cat', 'dog']);
      expect(fd.items.some((i) => i.set === 'modelTest')).toBe(false);
      fd.items.forEach((it, i) => {
        if (folds[i] === f) {
          expect(it.set).toBe('test');
          inTest.set(it.path, (inTest.get(it.path) ?? 0) + 1);
        } else {
          // the other folds' validation items early-stop the fold model; every other item trains it
          expect(it.set).toBe(items[i]!.set === 'validation' ? 'validation' : 'train');
        }
      });
      expect(fd.counts.test.total).toBe(folds.filter((x) => x === f).length);
      expect(fd.counts.train.total + fd.counts.validation.total + fd.counts.test.total).toBe(100);
    }
    expect([...inTest.values()].every((c) => c === 1)).toBe(true);
    expect(inTest.size).toBe(100);
  });

  it('keep every earlier item in its fold when items are added', () => {
    const small = crossValidatedItems(dataset(60));
    const large = crossValidatedItems(dataset(120));
    const a = assignFolds(small.map((i) => i.oid), 5, 7);
    const b = assignFolds(large.map((i) => i.oid), 5, 7);
    small.forEach((it, i) => expect(b[large.findIndex((x) => x.oid === it.oid)]).toBe(a[i]));
  });
});

describe('fold model settings', () => {
  it('use the fast network, the seed, no time budget, and the fold identity', () => {
    expect(foldModelSpec(3, 300, { k: 5, index: 2, seed: 0 })).toEqual({ preset: FOLD_PRESET, seed: 3, timeBudgetSeconds: null, maxEpochs: 10, fold: { k: 5, index: 2, seed: 0 } });
  });

  it('cap the epochs by the steps budget: all 10 for small sets, 4 for 43,000 items, never below 2', () => {
    const epochs = (n: number) => foldModelSpec(0, n, { k: 5, index: 0, seed: 0 }).maxEpochs;
    expect(epochs(300)).toBe(10);
    expect(epochs(43_000)).toBe(4);
    expect(epochs(1_000_000)).toBe(2);
  });
});
