/**
 * Model selection for text and table builds: which of the two candidates (softmax regression,
 * 'linear'; an MLP, 'mlp') a build keeps, and how it decides. Pure.
 *
 * - With many labelled items, the choice rests on the validation split: the candidate with the
 *   lower validation loss at its best epoch.
 * - With few (fewer than CROSS_VALIDATE_BELOW train + validation items), a validation split is
 *   too small for its loss to tell two models apart reliably (10 % of 1,000 items is 100; the
 *   standard error of a mean log loss over 100 items is of the order of the gap between the two
 *   candidates on small tables), so the choice rests on k-fold cross-validation (k =
 *   SELECTION_FOLDS) over the train + validation items: each candidate trains on k − 1 folds and
 *   is scored on the fold it did not see; its score is the mean of its k fold losses.
 *
 * Invariants:
 * - The rule is a function of the scores only; a tie, or a missing score, keeps 'linear' (the
 *   simpler model).
 * - Which method applies depends only on the number of items and on k (so it can be part of a
 *   build key before anything is trained).
 */

/** The two models a text or table build trains. */
export type Candidate = 'linear' | 'mlp';

/** How a build chose its model. */
export type SelectionMethod = 'validation' | 'cross-validation';

/** Cross-validate the choice below this many train + validation items. */
export const CROSS_VALIDATE_BELOW = 2000;
/** Folds of the cross-validated choice. */
export const SELECTION_FOLDS = 5;

/**
 * How a build of `items` train + validation items chooses its model: cross-validation with k
 * folds below CROSS_VALIDATE_BELOW items (and with at least 2 items per fold on average, so
 * folds are not mostly empty), else the validation split.
 *
 * @example
 * selectionMethodOf(300)   // → { method: 'cross-validation', k: 5 }
 * selectionMethodOf(5000)  // → { method: 'validation' }
 */
export function selectionMethodOf(items: number, k: number = SELECTION_FOLDS): { method: 'validation' } | { method: 'cross-validation'; k: number } {
  if (items < CROSS_VALIDATE_BELOW && items >= 2 * k) return { method: 'cross-validation', k };
  return { method: 'validation' };
}

/** The mean of the finite losses, or null when there are none. */
export function meanLoss(losses: readonly (number | null)[]): number | null {
  const ok = losses.filter((l): l is number => l !== null && Number.isFinite(l));
  if (!ok.length) return null;
  let s = 0;
  for (const l of ok) s += l;
  return s / ok.length;
}

/**
 * The candidate with the lower score (a loss: validation loss, or mean cross-validated loss);
 * 'linear' on a tie or when either score is missing.
 *
 * @example
 * chooseCandidate({ linear: 0.41, mlp: 0.38 }) // → 'mlp'
 */
export function chooseCandidate(scores: Record<Candidate, number | null>): Candidate {
  const l = scores.linear;
  const m = scores.mlp;
  return l !== null && m !== null && m < l ? 'mlp' : 'linear';
}
