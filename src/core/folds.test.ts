import { describe, expect, it } from 'vitest';
import { InvalidArgument } from '../errors/index.js';
import { sha256Hex } from '../util/hash.js';
import { assignFold, assignFolds, foldSizes } from './folds.js';

/** n synthetic item oids (sha256 of their index, as real content hashes would be). */
function oids(n: number, prefix = 'item'): string[] {
  return Array.from({ length: n }, (_, i) => sha256Hex(`${prefix}:${i}`));
}

describe('assignFold', () => {
  it('is deterministic and within 0 … k − 1', () => {
    for (const oid of oids(200)) {
      const f = assignFold(oid, 7, 42);
      expect(f).toBe(assignFold(oid, 7, 42));
      expect(Number.isInteger(f) && f >= 0 && f < 7).toBe(true);
    }
  });

  it('never moves an item when others are added', () => {
    // Given folds for 1,000 items
    const before = oids(1000);
    const foldsBefore = assignFolds(before, 5, 3);
    // When 500 new items are added (and the list is shuffled by putting them first)
    const after = [...oids(500, 'new'), ...before];
    const foldsAfter = assignFolds(after, 5, 3);
    // Then every old item keeps its fold
    expect(foldsAfter.slice(500)).toEqual(foldsBefore);
  });

  it('balances folds: each within ±10% of N/k over 10,000 oids', () => {
    const n = 10_000;
    for (const k of [2, 5, 10]) {
      const sizes = foldSizes(assignFolds(oids(n), k, 0), k);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
      for (const s of sizes) {
        expect(s).toBeGreaterThanOrEqual(0.9 * (n / k));
        expect(s).toBeLessThanOrEqual(1.1 * (n / k));
      }
    }
  });

  it('gives different assignments for different seeds', () => {
    const items = oids(1000);
    const a = assignFolds(items, 5, 1);
    const b = assignFolds(items, 5, 2);
    const same = a.filter((f, i) => f === b[i]).length;
    // Independent assignments agree on about 1/k of the items (200 here).
    expect(same).toBeGreaterThan(120);
    expect(same).toBeLessThan(280);
  });

  it('matches assignFolds item by item', () => {
    const items = oids(50);
    expect(assignFolds(items, 3, 9)).toEqual(items.map((o) => assignFold(o, 3, 9)));
  });

  it.each([1, 0, -2, 2.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects k = %s with InvalidArgument naming k', (k) => {
    const oid = oids(1)[0]!;
    for (const call of [() => assignFold(oid, k, 0), () => assignFolds([oid], k, 0), () => foldSizes([0], k)]) {
      expect(call).toThrow(InvalidArgument);
      expect(call).toThrow(/'k'/);
      try {
        call();
      } catch (e) {
        expect((e as InvalidArgument).code).toBe('InvalidArgument');
        expect((e as InvalidArgument).data).toMatchObject({ option: 'k' });
      }
    }
  });

  it('rejects a seed that is not an integer', () => {
    expect(() => assignFold(oids(1)[0]!, 5, 0.5)).toThrow(/'seed'/);
  });
});

describe('foldSizes', () => {
  it('counts items per fold and shows empty folds as 0', () => {
    expect(foldSizes([0, 2, 2, 0, 2], 4)).toEqual([2, 0, 3, 0]);
    expect(foldSizes([], 3)).toEqual([0, 0, 0]);
  });

  it('rejects a fold outside 0 … k − 1', () => {
    expect(() => foldSizes([0, 3], 3)).toThrow(InvalidArgument);
  });
});
