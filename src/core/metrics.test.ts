import { describe, expect, it } from 'vitest';
import { argmaxRows, computeMetrics, erfc, mcnemar } from './metrics.js';

describe('computeMetrics', () => {
  it('matches a hand-checked case', () => {
    // truth:     a a a b b c
    // predicted: a a b b c c
    const m = computeMetrics([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], ['a', 'b', 'c']);
    expect(m.accuracy).toBeCloseTo(4 / 6, 12);
    expect(m.confusion).toEqual([[2, 1, 0], [0, 1, 1], [0, 0, 1]]);
    const [a, b, c] = m.perClass;
    expect(a).toMatchObject({ support: 3, predicted: 2, precision: 1, recall: 2 / 3 });
    expect(a!.f1).toBeCloseTo(0.8, 12);
    expect(b).toMatchObject({ support: 2, predicted: 2, precision: 0.5, recall: 0.5, f1: 0.5 });
    expect(c).toMatchObject({ support: 1, predicted: 2, precision: 0.5, recall: 1 });
    expect(c!.f1).toBeCloseTo(2 / 3, 12);
    expect(m.macroF1).toBeCloseTo((0.8 + 0.5 + 2 / 3) / 3, 12);
  });

  it('gives 0 precision to a class never predicted and leaves absent classes out of macro-F1', () => {
    const m = computeMetrics([0, 1], [0, 0], ['a', 'b', 'unused']);
    expect(m.perClass[1]).toMatchObject({ precision: 0, recall: 0, f1: 0 });
    expect(m.macroF1).toBeCloseTo((2 / 3 + 0) / 2, 12);
  });
});

describe('argmaxRows', () => {
  it('takes the first of equal maxima', () => {
    expect([...argmaxRows([0.1, 0.7, 0.2, 0.5, 0.5, 0], 3)]).toEqual([1, 0]);
  });
});

describe('mcnemar', () => {
  it('is exact for few discordant pairs (binomial, two-sided)', () => {
    // 0 fixed, 6 broken: p = 2 * 0.5^6 = 0.03125
    expect(mcnemar(0, 6).pValue).toBeCloseTo(0.03125, 12);
    // 3 vs 3: no evidence
    expect(mcnemar(3, 3).pValue).toBe(1);
    expect(mcnemar(0, 0).pValue).toBe(1);
  });

  it('uses the corrected chi-square for many pairs', () => {
    // 40 fixed, 20 broken: (|40-20|-1)^2/60 = 6.0167, p ≈ 0.01417 (scipy.stats.chi2.sf(6.0167, 1))
    const r = mcnemar(40, 20);
    expect(r.method).toBe('chi2');
    expect(r.statistic).toBeCloseTo(361 / 60, 10);
    expect(r.pValue).toBeCloseTo(0.014171, 5);
  });

  it('erfc is accurate', () => {
    expect(erfc(0)).toBeCloseTo(1, 6);
    expect(erfc(1)).toBeCloseTo(0.157299207, 6);
    expect(erfc(-1)).toBeCloseTo(1.842700793, 6);
  });
});
