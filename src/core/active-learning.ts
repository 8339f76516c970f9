/**
 * What to label next (`d2 suggest`): uncertainty scores from a model's probabilities, a diverse
 * pick among the most uncertain items, and a few confident predictions per class as checks.
 * Pure: arrays in, an ordered plan out.
 *
 * Scores (higher = more worth a human look):
 * - `margin`: 1 − (p1 − p2), p1 and p2 the two largest probabilities of an item.
 * - `entropy`: −Σ p·ln p / ln K, so 1 means "uniform over the K classes" whatever K is.
 * - `random`: a uniform number in [0, 1) from sha256(seed, item id). It depends only on the seed
 *   and the item, so adding items to the pool never changes an existing item's score, and the
 *   items picked from a grown pool that were in the old one keep their relative order.
 *
 * Diversity (when `features` are given and the strategy is not `random`):
 * 1. Candidate pool: the M most uncertain items, M = min(n, max(5·N, N + 50)). Five times the
 *    request leaves the farthest-point step room to skip runs of near-duplicates, while every
 *    candidate stays in the uncertain head of the ranking; the +50 floor keeps that room for small
 *    requests (N = 5 still chooses among 55).
 * 2. Greedy farthest-point (k-center) over the pool's feature vectors. The first pick is the most
 *    uncertain item. Each next pick maximises
 *        u(j) · d(j) / max_k d(k)
 *    where u is the uncertainty score and d(j) = √(min squared distance from j to the picks so
 *    far), the max over the pool items not yet picked. The distance term is normalised to [0, 1]
 *    so the product is scale-free (features come from any layer, at any scale) and lies in the
 *    same range as u; multiplying (rather than adding) means an exact duplicate of a pick
 *    (d = 0) is never chosen while anything else is left, and among equally distant items the
 *    more uncertain wins. When every remaining candidate duplicates a pick (all d = 0), the
 *    score falls back to u alone.
 * Cost: O(M·N·D) arithmetic on typed arrays (one running min-distance array over the pool), not
 * O(n·N·D): 50,000 items → 500 picks with D = 128 is ≈ 1.6·10⁸ multiply-adds.
 *
 * Sanity checks: per class, the C most confident predictions among the items not already picked
 * (C = `sanityPerClass`, default 2). They come on top of the N picks and catch a model that is
 * confidently wrong, which uncertainty sampling never shows.
 *
 * Invariants: deterministic — the same inputs (and seed) give the same plan; every tie (equal
 * scores, equal confidences) is broken by item id in JavaScript string order, then by row index;
 * an item is picked at most once.
 */
import { InvalidArgument } from '../errors/index.js';
import { compareStrings } from '../util/compare.js';
import { sha256Hex } from '../util/hash.js';

export type SuggestStrategy = 'margin' | 'entropy' | 'random';
export type SuggestReason = 'uncertain' | 'uncertain+diverse' | 'random' | 'confident-check';

export interface SuggestOptions {
  /** Item ids (oids), one per row of `probs`. */
  ids: readonly string[];
  /** ids.length × numClasses probabilities, row-major. */
  probs: Float32Array;
  numClasses: number;
  /** ids.length × D feature vectors (the model's penultimate layer), row-major; enables diversity. */
  features?: Float32Array;
  /** How many items to suggest (before the confident checks). */
  n: number;
  strategy: SuggestStrategy;
  /** Seed of the `random` strategy (unused by the others). */
  seed: number | string;
  /** Confident predictions per class added as checks; default 2, 0 for none. */
  sanityPerClass?: number;
  /** Class names, for the `why` text only (class indices are used otherwise). */
  classes?: readonly string[];
}

export interface SuggestionPick {
  /** Row of the item in `ids` / `probs`. */
  index: number;
  id: string;
  /** The predicted class index (argmax; the lowest index on ties). */
  predicted: number;
  /** The predicted class's probability. */
  confidence: number;
  /** The strategy's score for the item (uncertainty, or the random draw). */
  score: number;
  /** For `uncertain+diverse` picks: Euclidean feature distance to the nearest earlier pick. */
  distance?: number;
  reason: SuggestReason;
  /** One line saying why the item was chosen, for the CLI. */
  why: string;
}

/** Size of the candidate pool the diverse pick chooses from: min(n, max(5·N, N + 50)). */
export function candidatePoolSize(items: number, n: number): number {
  return Math.min(items, Math.max(5 * n, n + 50));
}

/** 1 − (p1 − p2) per row: 0 for a certain prediction, 1 when the top two classes tie. */
export function marginScores(probs: Float32Array, numClasses: number): Float64Array {
  const rows = checkProbs(probs, numClasses);
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const o = i * numClasses;
    let p1 = -Infinity;
    let p2 = -Infinity;
    for (let k = 0; k < numClasses; k++) {
      const p = probs[o + k]!;
      if (p > p1) {
        p2 = p1;
        p1 = p;
      } else if (p > p2) {
        p2 = p;
      }
    }
    out[i] = 1 - (p1 - (numClasses > 1 ? p2 : 0));
  }
  return out;
}

/** Entropy per row divided by ln K: 0 for a one-hot row, 1 for a uniform one. */
export function entropyScores(probs: Float32Array, numClasses: number): Float64Array {
  const rows = checkProbs(probs, numClasses);
  const out = new Float64Array(rows);
  const norm = numClasses > 1 ? Math.log(numClasses) : 1;
  for (let i = 0; i < rows; i++) {
    const o = i * numClasses;
    let h = 0;
    for (let k = 0; k < numClasses; k++) {
      const p = probs[o + k]!;
      if (p > 0) h -= p * Math.log(p);
    }
    out[i] = h / norm;
  }
  return out;
}

/** A uniform number in [0, 1) per id from sha256(seed, id): stable whatever else is in the pool. */
export function randomScores(ids: readonly string[], seed: number | string): Float64Array {
  const out = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = parseInt(sha256Hex(`d2-suggest:${seed}:${ids[i]}`).slice(0, 13), 16) / 2 ** 52;
  return out;
}

/**
 * The ordered plan of what to label next: N picks by the strategy (diverse when features are
 * given), then the confident checks, class by class.
 */
export function planSuggestions(options: SuggestOptions): SuggestionPick[] {
  const { ids, probs, numClasses, features, strategy, seed, classes } = options;
  const items = ids.length;
  const sanity = options.sanityPerClass ?? 2;
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new InvalidArgument(`number of classes must be a positive integer, got ${numClasses}`);
  if (!Number.isInteger(options.n) || options.n < 0) throw new InvalidArgument(`number of suggestions must be a non-negative integer, got ${options.n}`);
  if (!Number.isInteger(sanity) || sanity < 0) throw new InvalidArgument(`checks per class must be a non-negative integer, got ${sanity}`);
  if (probs.length !== items * numClasses) {
    throw new InvalidArgument(`probabilities: expected ${items} × ${numClasses} = ${items * numClasses} values, got ${probs.length}`);
  }
  if (strategy !== 'margin' && strategy !== 'entropy' && strategy !== 'random') throw new InvalidArgument(`unknown strategy '${String(strategy)}' (expected margin, entropy or random)`);
  let dim = 0;
  if (features) {
    dim = items === 0 ? 0 : features.length / items;
    if (!Number.isInteger(dim) || (items > 0 && dim === 0)) throw new InvalidArgument(`features: ${features.length} values do not make one vector per item for ${items} items`);
  }

  for (let j = 0; j < probs.length; j++) {
    if (!Number.isFinite(probs[j]!)) throw new InvalidArgument(`probabilities of item '${ids[Math.floor(j / numClasses)]}' are not finite numbers`);
  }
  const score = strategy === 'margin' ? marginScores(probs, numClasses) : strategy === 'entropy' ? entropyScores(probs, numClasses) : randomScores(ids, seed);
  const { predicted, confidence } = argmaxRows(probs, items, numClasses);
  const name = (k: number): string => `'${classes?.[k] ?? `class ${k}`}'`;
  const want = Math.min(options.n, items);

  const ranked = rankDescending(score, ids);
  const picks: SuggestionPick[] = [];
  const base = (i: number): Omit<SuggestionPick, 'reason' | 'why'> => ({ index: i, id: ids[i]!, predicted: predicted[i]!, confidence: confidence[i]!, score: score[i]! });

  if (strategy === 'random') {
    for (let r = 0; r < want; r++) {
      const i = ranked[r]!;
      picks.push({ ...base(i), reason: 'random', why: `random sample (seed ${seed}); predicted ${name(predicted[i]!)} ${fmt(confidence[i]!)}` });
    }
  } else {
    const uncertainWhy = (i: number): string => {
      if (strategy === 'entropy') return `prediction spread over the classes (entropy ${fmt(score[i]!)} of the maximum); top ${name(predicted[i]!)} ${fmt(confidence[i]!)}`;
      const second = secondClass(probs, i, numClasses, predicted[i]!);
      return second < 0
        ? `margin ${fmt(score[i]!)}; predicted ${name(predicted[i]!)} ${fmt(confidence[i]!)}`
        : `top two classes close: ${name(predicted[i]!)} ${fmt(confidence[i]!)}, ${name(second)} ${fmt(probs[i * numClasses + second]!)}`;
    };
    if (features && want > 0) {
      const pool = ranked.subarray(0, candidatePoolSize(items, want));
      const chosen = farthestPoints(pool, score, features, dim, ids, want);
      chosen.order.forEach((i, r) => {
        if (r === 0) {
          picks.push({ ...base(i), reason: 'uncertain', why: `most uncertain of all: ${uncertainWhy(i)}` });
        } else {
          const d = chosen.distance[r]!;
          picks.push({ ...base(i), distance: d, reason: 'uncertain+diverse', why: `${uncertainWhy(i)}; unlike the items picked before it (nearest at distance ${fmt(d)})` });
        }
      });
    } else {
      for (let r = 0; r < want; r++) {
        const i = ranked[r]!;
        picks.push({ ...base(i), reason: 'uncertain', why: uncertainWhy(i) });
      }
    }
  }

  if (sanity > 0) {
    const taken = new Uint8Array(items);
    for (const p of picks) taken[p.index] = 1;
    for (const list of mostConfidentPerClass(predicted, confidence, ids, numClasses, sanity, taken)) {
      for (const i of list) {
        picks.push({ ...base(i), reason: 'confident-check', why: `the model is sure it is ${name(predicted[i]!)} (${fmt(confidence[i]!)}): check that it is right` });
      }
    }
  }
  return picks;
}

function checkProbs(probs: Float32Array, numClasses: number): number {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new InvalidArgument(`number of classes must be a positive integer, got ${numClasses}`);
  if (probs.length % numClasses !== 0) throw new InvalidArgument(`probabilities: ${probs.length} values are not whole rows of ${numClasses}`);
  return probs.length / numClasses;
}

function argmaxRows(probs: Float32Array, rows: number, k: number): { predicted: Int32Array; confidence: Float64Array } {
  const predicted = new Int32Array(rows);
  const confidence = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const o = i * k;
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[o + c]! > probs[o + best]!) best = c;
    predicted[i] = best;
    confidence[i] = probs[o + best]!;
  }
  return { predicted, confidence };
}

/** The runner-up class of a row (−1 with one class). */
function secondClass(probs: Float32Array, i: number, k: number, first: number): number {
  let second = -1;
  for (let c = 0; c < k; c++) {
    if (c === first) continue;
    if (second < 0 || probs[i * k + c]! > probs[i * k + second]!) second = c;
  }
  return second;
}

/** Row indices by score, highest first; ties by id (string order), then by row. */
function rankDescending(score: Float64Array, ids: readonly string[]): Uint32Array {
  const order = new Uint32Array(score.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => score[b]! - score[a]! || compareStrings(ids[a]!, ids[b]!) || a - b);
}

/**
 * Greedy farthest-point selection of `want` rows from `pool` (rows ranked by uncertainty,
 * most uncertain first), as described in the header. Returns the rows in pick order and, for
 * each, its distance to the nearest earlier pick (0 for the first).
 */
function farthestPoints(pool: Uint32Array, u: Float64Array, features: Float32Array, dim: number, ids: readonly string[], want: number): { order: number[]; distance: Float64Array } {
  const m = pool.length;
  // The pool's vectors, contiguous: the inner loop then walks memory in order.
  const f = new Float32Array(m * dim);
  for (let j = 0; j < m; j++) {
    const row = pool[j]!;
    for (let d = 0; d < dim; d++) {
      const v = features[row * dim + d]!;
      if (!Number.isFinite(v)) throw new InvalidArgument(`features of item '${ids[row]}' are not finite numbers`);
      f[j * dim + d] = v;
    }
  }
  const minD = new Float64Array(m).fill(Infinity);
  const taken = new Uint8Array(m);
  const order: number[] = [];
  const distance = new Float64Array(want);
  let pick = 0; // pool[0] is the most uncertain item
  for (let r = 0; ; r++) {
    taken[pick] = 1;
    order.push(pool[pick]!);
    distance[r] = r === 0 ? 0 : Math.sqrt(minD[pick]!);
    if (order.length === want) break;
    const po = pick * dim;
    let maxMin = 0;
    for (let j = 0; j < m; j++) {
      if (taken[j]) continue;
      const o = j * dim;
      let s = 0;
      for (let d = 0; d < dim; d++) {
        const t = f[o + d]! - f[po + d]!;
        s += t * t;
      }
      if (s < minD[j]!) minD[j] = s;
      if (minD[j]! > maxMin) maxMin = minD[j]!;
    }
    const scale = maxMin > 0 ? 1 / Math.sqrt(maxMin) : 0;
    let best = -1;
    let bestScore = -Infinity;
    for (let j = 0; j < m; j++) {
      if (taken[j]) continue;
      const s = scale > 0 ? u[pool[j]!]! * Math.sqrt(minD[j]!) * scale : u[pool[j]!]!;
      if (s > bestScore || (s === bestScore && compareStrings(ids[pool[j]!]!, ids[pool[best]!]!) < 0)) {
        best = j;
        bestScore = s;
      }
    }
    pick = best;
  }
  return { order, distance };
}

/** Per class, up to `per` untaken rows predicted as it, most confident first (ties by id). */
function mostConfidentPerClass(predicted: Int32Array, confidence: Float64Array, ids: readonly string[], k: number, per: number, taken: Uint8Array): number[][] {
  const lists: number[][] = Array.from({ length: k }, () => []);
  const before = (a: number, b: number): boolean => confidence[a]! > confidence[b]! || (confidence[a] === confidence[b] && compareStrings(ids[a]!, ids[b]!) < 0);
  for (let i = 0; i < predicted.length; i++) {
    if (taken[i]) continue;
    const list = lists[predicted[i]!]!;
    if (list.length === per && !before(i, list[per - 1]!)) continue;
    let at = list.length === per ? per - 1 : list.length;
    while (at > 0 && before(i, list[at - 1]!)) {
      list[at] = list[at - 1]!;
      at--;
    }
    list[at] = i;
  }
  return lists;
}

function fmt(x: number): string {
  return x.toFixed(2);
}
