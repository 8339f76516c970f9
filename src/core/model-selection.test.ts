import { describe, expect, it } from 'vitest';
import { chooseCandidate, CROSS_VALIDATE_BELOW, meanLoss, SELECTION_FOLDS, selectionMethodOf } from './model-selection.js';

describe('selectionMethodOf', () => {
  it('cross-validates below the threshold and uses the validation split from it on', () => {
    expect(selectionMethodOf(300)).toEqual({ method: 'cross-validation', k: SELECTION_FOLDS });
    expect(selectionMethodOf(CROSS_VALIDATE_BELOW - 1)).toEqual({ method: 'cross-validation', k: 5 });
    expect(selectionMethodOf(CROSS_VALIDATE_BELOW)).toEqual({ method: 'validation' });
    expect(selectionMethodOf(60_000)).toEqual({ method: 'validation' });
  });

  it('does not cross-validate fewer than two items per fold', () => {
    expect(selectionMethodOf(9)).toEqual({ method: 'validation' });
    expect(selectionMethodOf(10)).toEqual({ method: 'cross-validation', k: 5 });
    expect(selectionMethodOf(5, 2)).toEqual({ method: 'cross-validation', k: 2 });
  });
});

describe('chooseCandidate', () => {
  it('keeps the lower loss', () => {
    expect(chooseCandidate({ linear: 0.41, mlp: 0.38 })).toBe('mlp');
    expect(chooseCandidate({ linear: 0.38, mlp: 0.41 })).toBe('linear');
  });

  it('keeps the linear model on a tie or a missing score', () => {
    expect(chooseCandidate({ linear: 0.4, mlp: 0.4 })).toBe('linear');
    expect(chooseCandidate({ linear: null, mlp: 0.1 })).toBe('linear');
    expect(chooseCandidate({ linear: 0.9, mlp: null })).toBe('linear');
  });
});

describe('meanLoss', () => {
  it('averages the finite fold losses and skips empty folds', () => {
    expect(meanLoss([0.2, 0.4, null, 0.6])).toBeCloseTo(0.4, 12);
    expect(meanLoss([null, null])).toBeNull();
    expect(meanLoss([])).toBeNull();
    expect(meanLoss([Number.NaN, 1])).toBe(1);
  });

  it('a cross-validated choice can differ from a single split', () => {
    // Given fold losses where the MLP wins one fold but loses the others
    const linear = [0.30, 0.31, 0.29, 0.30, 0.36];
    const mlp = [0.36, 0.37, 0.35, 0.38, 0.34];
    // Then the last fold alone (a single split) keeps the MLP, the mean keeps the linear model
    expect(chooseCandidate({ linear: linear[4]!, mlp: mlp[4]! })).toBe('mlp');
    expect(chooseCandidate({ linear: meanLoss(linear), mlp: meanLoss(mlp) })).toBe('linear');
  });
});
