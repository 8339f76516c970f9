/**
 * Classification metrics from true and predicted class indices: accuracy, per-class precision,
 * recall and F1, macro-F1, and the confusion matrix. Pure.
 *
 * Conventions (as scikit-learn's with `zero_division=0`): a class never predicted has precision
 * 0; a class absent from the true labels has recall 0; macro-F1 averages F1 over the classes
 * that occur in the true labels or the predictions. `confusion[t][p]` counts items of true
 * class t predicted as p.
 */
export interface ClassMetrics {
  label: string;
  /** Items of this class. */
  support: number;
  /** Items predicted as this class. */
  predicted: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface Metrics {
  count: number;
  correct: number;
  accuracy: number;
  macroF1: number;
  perClass: ClassMetrics[];
  confusion: number[][];
}

export function computeMetrics(truth: ArrayLike<number>, predicted: ArrayLike<number>, classes: readonly string[]): Metrics {
  if (truth.length !== predicted.length) throw new Error(`metrics: ${truth.length} labels but ${predicted.length} predictions`);
  const k = classes.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const p = predicted[i]!;
    confusion[t]![p]!++;
    if (t === p) correct++;
  }
  const perClass: ClassMetrics[] = classes.map((label, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predictedCount = confusion.reduce((a, row) => a + row[c]!, 0);
    const precision = predictedCount ? tp / predictedCount : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, support, predicted: predictedCount, precision, recall, f1 };
  });
  const present = perClass.filter((m) => m.support > 0 || m.predicted > 0);
  const macroF1 = present.length ? present.reduce((a, m) => a + m.f1, 0) / present.length : 0;
  return { count: truth.length, correct, accuracy: truth.length ? correct / truth.length : 0, macroF1, perClass, confusion };
}

/** Index of the largest value of each row of `probs` (N × k, row-major); ties go to the lower index. */
export function argmaxRows(probs: ArrayLike<number>, k: number): Int32Array {
  const n = Math.floor(probs.length / k);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestValue = probs[i * k]!;
    for (let c = 1; c < k; c++) {
      const v = probs[i * k + c]!;
      if (v > bestValue) {
        bestValue = v;
        best = c;
      }
    }
    out[i] = best;
  }
  return out;
}

/**
 * McNemar's test on paired outcomes: `fixed` items wrong before and right after, `broken`
 * right before and wrong after. Two-sided p-value: exact binomial below 25 discordant pairs,
 * else chi-square with continuity correction (1 degree of freedom). Small p (< 0.05) means the
 * change in accuracy is unlikely to be noise.
 */
export function mcnemar(fixed: number, broken: number): { statistic: number; pValue: number; method: 'exact' | 'chi2' } {
  const n = fixed + broken;
  if (n === 0) return { statistic: 0, pValue: 1, method: 'exact' };
  if (n < 25) {
    const k = Math.min(fixed, broken);
    let tail = 0;
    let term = 0.5 ** n; // C(n,0) / 2^n
    for (let i = 0; i <= k; i++) {
      tail += term;
      term = (term * (n - i)) / (i + 1);
    }
    return { statistic: k, pValue: Math.min(1, 2 * tail), method: 'exact' };
  }
  const statistic = (Math.abs(fixed - broken) - 1) ** 2 / n;
  return { statistic, pValue: erfc(Math.sqrt(statistic / 2)), method: 'chi2' };
}

/** Complementary error function (Numerical Recipes' erfcc, relative error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}
