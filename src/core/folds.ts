/**
 * K-fold assignment by content hash, for out-of-sample predictions (`d2 review` trains k models,
 * each on k − 1 folds, and predicts the fold it did not see). Pure.
 *
 * An item's fold is floor(u · k), where u ∈ [0, 1) is the first 52 bits of
 * sha256(`d2-fold:<seed>:<oid>`) read as a fraction — the same construction as `splitOf` in
 * dataset.ts, under its own prefix so folds and splits are independent.
 *
 * Invariants:
 * - An item's fold depends only on its oid, the seed and k: adding or removing other items never
 *   moves an item to another fold, and items with the same content always share a fold (so a
 *   duplicate cannot leak an item's label into the model that predicts it).
 * - Folds are roughly balanced (each hash is uniform), not exactly: a small set can leave a fold
 *   empty. Callers that need every fold to be non-empty check `foldSizes`.
 */
import { InvalidArgument } from '../errors/index.js';
import { sha256Hex } from '../util/hash.js';

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 2) {
    throw new InvalidArgument(`invalid 'k': ${String(k)} (expected an integer of at least 2)`, { data: { option: 'k', value: k } });
  }
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed)) {
    throw new InvalidArgument(`invalid 'seed': ${String(seed)} (expected an integer)`, { data: { option: 'seed', value: seed } });
  }
}

function foldOf(itemOid: string, k: number, seed: number): number {
  // 13 hex digits = 52 bits: exact in a double, so u < 1 and floor(u · k) < k.
  const u = parseInt(sha256Hex(`d2-fold:${seed}:${itemOid}`).slice(0, 13), 16) / 2 ** 52;
  return Math.floor(u * k);
}

/**
 * The fold (0 … k − 1) of one item, decided by its content hash and the seed only.
 *
 * @param itemOid the item's content hash (sha256, 64 hex digits; any string is accepted and hashed)
 * @param k number of folds, an integer ≥ 2
 * @param seed the fold seed, an integer
 * @throws InvalidArgument when `k` or `seed` is not acceptable
 * @example
 * assignFold('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 5, 0) // → 0…4
 */
export function assignFold(itemOid: string, k: number, seed: number): number {
  checkK(k);
  checkSeed(seed);
  return foldOf(itemOid, k, seed);
}

/**
 * The fold of each item, in the order given; `assignFolds(oids, k, seed)[i] === assignFold(oids[i], k, seed)`.
 *
 * @throws InvalidArgument when `k` or `seed` is not acceptable
 */
export function assignFolds(oids: readonly string[], k: number, seed: number): number[] {
  checkK(k);
  checkSeed(seed);
  return oids.map((oid) => foldOf(oid, k, seed));
}

/**
 * How many items each fold holds: `sizes[f]` counts the entries of `folds` equal to f. A zero
 * means fold f is empty (too few items for k): its model would have nothing to predict.
 *
 * @throws InvalidArgument when `k` is not acceptable or a fold is outside 0 … k − 1
 */
export function foldSizes(folds: ArrayLike<number>, k: number): number[] {
  checkK(k);
  const sizes = new Array<number>(k).fill(0);
  for (let i = 0; i < folds.length; i++) {
    const f = folds[i]!;
    if (!Number.isInteger(f) || f < 0 || f >= k) {
      throw new InvalidArgument(`fold ${String(f)} of item ${i} is outside 0…${k - 1}`, { data: { index: i, fold: f, k } });
    }
    sizes[f]!++;
  }
  return sizes;
}
