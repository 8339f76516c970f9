/**
 * Confident learning: which given labels are likely wrong, from out-of-sample predicted
 * probabilities. Pure. Written from the paper's definitions — Northcutt, Jiang & Chuang,
 * "Confident Learning: Estimating Uncertainty in Dataset Labels", JAIR 70 (2021) — in its
 * notation: ỹ is the given (noisy) label, y* the unknown true label, m the number of classes
 * (`numClasses` here), n the number of items, p̂(ỹ=j; x) the predicted probability of class j for
 * item x from a model that never trained on x (k-fold, see folds.ts), X_{ỹ=i} the items
 * given label i.
 *
 * 1. Per-class thresholds (the expected self-confidence of each class):
 *      t_j = (1 / |X_{ỹ=j}|) Σ_{x ∈ X_{ỹ=j}} p̂(ỹ=j; x)
 *    A class with no items has t_j = +∞: no item is ever confidently counted as that class.
 *    (JSON renders +∞ as null.)
 * 2. Confident joint C (m × m):
 *      C[i][j] = |{ x ∈ X_{ỹ=i} : j = argmax_{l : p̂(ỹ=l; x) ≥ t_l} p̂(ỹ=l; x) }|
 *    An item is counted once, under its "confidently true" label j; an item with no class at or
 *    above its threshold is not counted. Ties in the argmax go to the lowest class index.
 * 3. Calibration (the paper's Eq. 3) gives Q̂, the estimated joint of ỹ and y*:
 *      Q̃[i][j] = C[i][j] / Σ_j' C[i][j'] · |X_{ỹ=i}|,   Q̂ = Q̃ / Σ_{i,j} Q̃[i][j]
 *    so row i of Q̂ sums to |X_{ỹ=i}| / n. A row of C with no counts (no item of class i was
 *    confident about anything) gives no evidence of noise: its mass goes on the diagonal.
 * 4. Rank and prune — one of the paper's filters picks the items flagged as label issues:
 *    - 'prune_by_noise_rate' (PBNR, the default): for each i ≠ j, the round(n·Q̂[i][j]) items of
 *      X_{ỹ=i} with the largest margin p̂(ỹ=j; x) − p̂(ỹ=i; x). An item picked for several j is
 *      flagged once.
 *    - 'prune_by_class' (PBC): for each i, the round(n·Σ_{j≠i} Q̂[i][j]) items of X_{ỹ=i} with the
 *      lowest self-confidence p̂(ỹ=i; x).
 *    - 'both' (C+NR): items picked by both PBC and PBNR.
 *    - 'confident_joint' (C_{ỹ,y*}): items counted off the diagonal of C.
 *    Ties in a ranking go to the lower item index. Rounding is half-up (Math.round).
 *
 * Invariants:
 * - Deterministic: the result depends only on the inputs, never on iteration or sort stability.
 * - At least one item of every given class stays unflagged: when a filter would flag all
 *   |X_{ỹ=i}| items of class i, the one ranking last (highest self-confidence, ties the highest
 *   index) is kept. A class with a single item is never flagged. (Flagging a whole class would
 *   say the class does not exist, which out-of-sample predictions cannot tell.)
 * - Issues are ranked most-likely-wrong first: self-confidence ascending, ties by index.
 * - Hot loops run over flat typed arrays and selections sort plain Float64Arrays (60,000 items ×
 *   10 classes: about 0.1 s); objects are built only for flagged items and m × m summaries.
 */
import { InvalidArgument } from '../errors/index.js';
import { argmaxRows } from './metrics.js';

/** Out-of-sample probabilities: n × m row-major, or one row of m per item. */
export type ProbabilityInput = Float32Array | Float64Array | readonly (readonly number[])[];

/** The paper's pruning methods (Section 3.2): which items count as label issues. */
export type LabelIssueFilter = 'prune_by_noise_rate' | 'prune_by_class' | 'both' | 'confident_joint';

export const LABEL_ISSUE_FILTERS: readonly LabelIssueFilter[] = ['prune_by_noise_rate', 'prune_by_class', 'both', 'confident_joint'];

export interface FindLabelIssuesOptions {
  /** Default 'prune_by_noise_rate'. */
  filter?: LabelIssueFilter;
}

/** One item flagged as a likely label error. Probabilities are out-of-sample. */
export interface LabelIssue {
  /** Index of the item in the inputs. */
  index: number;
  /** The given label ỹ. */
  given: number;
  /**
   * The label the item more likely has: its confidently true label when that differs from the
   * given one (it was counted off the diagonal of C), else its most probable class other than
   * the given one. Never equal to `given`.
   */
  suggested: number;
  /** p̂(ỹ=given; x). */
  selfConfidence: number;
  /** p̂(ỹ=suggested; x). */
  suggestedProbability: number;
  /** p̂(ỹ=given; x) − max_{j≠given} p̂(ỹ=j; x): negative when another class is more probable. */
  margin: number;
}

/** One off-diagonal cell of Q̂: the estimated share of class `given` whose true label is `true`. */
export interface NoiseRate {
  given: number;
  true: number;
  /** p̂(y*=true | ỹ=given) = Q̂[given][true] / Σ_j Q̂[given][j]. */
  rate: number;
  /** round(n·Q̂[given][true]): how many items of class `given` are estimated to be `true`. */
  count: number;
}

/** Per-item scores for every item, flagged or not, as columns indexed by item. */
export interface ItemScores {
  /** argmax_j p̂(ỹ=j; x), ties to the lowest index. */
  predicted: Int32Array;
  /** p̂(ỹ=predicted; x). */
  predictedProbability: Float64Array;
  /** p̂(ỹ=given; x). */
  selfConfidence: Float64Array;
  /** p̂(ỹ=given; x) − max_{j≠given} p̂(ỹ=j; x). */
  margin: Float64Array;
  /** The confidently true label (step 2), or −1 when no class reached its threshold. */
  confidentLabel: Int32Array;
}

export interface LabelIssueReport {
  filter: LabelIssueFilter;
  /** Flagged items, most likely wrong first. */
  issues: LabelIssue[];
  /** Given-label counts |X_{ỹ=i}|. */
  labelCounts: number[];
  /** t_j (+∞ for a class with no items). */
  thresholds: number[];
  /** The confident joint C, counts. */
  joint: number[][];
  /** Q̂, the calibrated joint; sums to 1 (all zeros when there are no items). */
  calibrated: number[][];
  /** Off-diagonal cells of Q̂ greater than zero, largest rate first (ties: count, then given, then true). */
  noiseRates: NoiseRate[];
  /** Share of items whose out-of-sample prediction equals the given label (0 with no items). */
  accuracy: number;
  items: ItemScores;
}

// ---------------------------------------------------------------------------------------------
// Input checks

interface Prepared {
  n: number;
  m: number;
  labels: Int32Array;
  /** n × m row-major. */
  probs: ArrayLike<number>;
}

function invalid(message: string, data: Record<string, unknown>): InvalidArgument {
  return new InvalidArgument(message, { data });
}

function checkNumClasses(m: number): void {
  if (!Number.isInteger(m) || m < 2) throw invalid(`invalid 'numClasses': ${String(m)} (expected an integer of at least 2)`, { option: 'numClasses', value: m });
}

function prepare(labels: ArrayLike<number>, probs: ProbabilityInput, m: number): Prepared {
  checkNumClasses(m);
  const n = labels.length;
  const lab = new Int32Array(n);
  for (let x = 0; x < n; x++) {
    const l = labels[x]!;
    if (!Number.isInteger(l) || l < 0 || l >= m) throw invalid(`label ${String(l)} of item ${x} is outside 0…${m - 1}`, { index: x, label: l });
    lab[x] = l;
  }
  let flat: ArrayLike<number>;
  if (probs instanceof Float32Array || probs instanceof Float64Array) {
    if (probs.length !== n * m) throw invalid(`'probs' holds ${probs.length} values, expected ${n} items × ${m} classes = ${n * m}`, { option: 'probs', length: probs.length });
    flat = probs;
  } else {
    if (probs.length !== n) throw invalid(`'probs' has ${probs.length} rows but there are ${n} labels`, { option: 'probs', rows: probs.length });
    const out = new Float64Array(n * m);
    for (let x = 0; x < n; x++) {
      const row = probs[x]!;
      if (row.length !== m) throw invalid(`row ${x} of 'probs' has ${row.length} values, expected ${m}`, { option: 'probs', index: x });
      for (let j = 0; j < m; j++) out[x * m + j] = row[j]!;
    }
    flat = out;
  }
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i]!;
    if (!(v >= 0 && v <= 1)) throw invalid(`probability ${String(v)} of item ${Math.floor(i / m)}, class ${i % m} is outside [0, 1]`, { index: Math.floor(i / m), class: i % m });
  }
  return { n, m, labels: lab, probs: flat };
}

// ---------------------------------------------------------------------------------------------
// Steps 1–3

function countLabels(p: Prepared): number[] {
  const counts = new Array<number>(p.m).fill(0);
  for (let x = 0; x < p.n; x++) counts[p.labels[x]!]!++;
  return counts;
}

function thresholdsOf(p: Prepared, counts: readonly number[]): number[] {
  const { n, m, labels, probs } = p;
  const sums = new Float64Array(m);
  for (let x = 0; x < n; x++) {
    const l = labels[x]!;
    sums[l]! += probs[x * m + l]!;
  }
  return counts.map((c, j) => (c > 0 ? sums[j]! / c : Number.POSITIVE_INFINITY));
}

/** Step 2 per item: the argmax over classes at or above their threshold, or −1. */
function confidentLabelsOf(p: Prepared, thresholds: readonly number[]): Int32Array {
  const { n, m, probs } = p;
  const t = Float64Array.from(thresholds);
  const out = new Int32Array(n);
  for (let x = 0; x < n; x++) {
    const row = x * m;
    let best = -1;
    let bestValue = -1;
    for (let j = 0; j < m; j++) {
      const v = probs[row + j]!;
      if (v >= t[j]! && v > bestValue) {
        best = j;
        bestValue = v;
      }
    }
    out[x] = best;
  }
  return out;
}

function jointOf(p: Prepared, confident: Int32Array): number[][] {
  const { n, m, labels } = p;
  const c = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  for (let x = 0; x < n; x++) {
    const j = confident[x]!;
    if (j >= 0) c[labels[x]!]![j]!++;
  }
  return c;
}

/** Q̃ = n·Q̂ (rows rescaled to the label counts, not yet divided by n). */
function rescaledRows(joint: readonly (readonly number[])[], labelCounts: readonly number[]): number[][] {
  return joint.map((row, i) => {
    const rowSum = row.reduce((a, b) => a + b, 0);
    const count = labelCounts[i]!;
    if (rowSum > 0) return row.map((v) => (v / rowSum) * count);
    // No confident item in class i: no evidence of noise, so the class keeps its own mass.
    return row.map((_, j) => (j === i ? count : 0));
  });
}

function normalised(q: number[][]): number[][] {
  let total = 0;
  for (const row of q) for (const v of row) total += v;
  return q.map((row) => row.map((v) => (total > 0 ? v / total : 0)));
}

/**
 * Per-class thresholds t_j: the mean predicted probability of class j over the items given
 * label j. A class with no items gets +∞ (never confident).
 *
 * @param labels given label of each item, integers in 0 … numClasses − 1
 * @param probs out-of-sample probabilities, n × numClasses
 * @param numClasses m, an integer ≥ 2
 * @throws InvalidArgument on mismatched sizes, labels out of range or probabilities outside [0, 1]
 * @example
 * perClassThresholds([0, 0, 1], [[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]], 2) // → [0.7, 0.8]
 */
export function perClassThresholds(labels: ArrayLike<number>, probs: ProbabilityInput, numClasses: number): number[] {
  const p = prepare(labels, probs, numClasses);
  return thresholdsOf(p, countLabels(p));
}

/**
 * The confident joint C: `C[i][j]` counts items given label i whose confidently true label is j
 * (the most probable class among those at or above their threshold; ties to the lower index).
 * Items with no class at or above its threshold are not counted.
 *
 * @param thresholds t_j for each class, usually from `perClassThresholds`
 * @throws InvalidArgument on mismatched sizes or out-of-range inputs
 * @example
 * confidentJoint([0, 0, 1], [[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]], 2, [0.7, 0.8]) // → [[1, 0], [0, 1]]
 */
export function confidentJoint(labels: ArrayLike<number>, probs: ProbabilityInput, numClasses: number, thresholds: readonly number[]): number[][] {
  const p = prepare(labels, probs, numClasses);
  if (thresholds.length !== numClasses) throw invalid(`'thresholds' has ${thresholds.length} values, expected ${numClasses}`, { option: 'thresholds' });
  return jointOf(p, confidentLabelsOf(p, thresholds));
}

/**
 * Calibrates a confident joint into Q̂, the estimated joint distribution of given and true
 * labels: each row i is rescaled to sum to `labelCounts[i]`, then the matrix is divided by its
 * total so it sums to 1. A row of C with no counts puts its class's mass on the diagonal. With
 * no items at all, Q̂ is all zeros.
 *
 * @param joint C, m × m counts
 * @param labelCounts |X_{ỹ=i}| for each class
 * @throws InvalidArgument when the shapes disagree
 * @example
 * calibrateJoint([[2, 1], [0, 1]], [4, 2]) // → [[4/9, 2/9], [0, 1/3]]
 */
export function calibrateJoint(joint: readonly (readonly number[])[], labelCounts: readonly number[]): number[][] {
  const m = labelCounts.length;
  if (joint.length !== m || joint.some((row) => row.length !== m)) throw invalid(`'joint' must be ${m} × ${m} to match 'labelCounts'`, { option: 'joint' });
  return normalised(rescaledRows(joint, labelCounts));
}

// ---------------------------------------------------------------------------------------------
// Step 4

/** Item indices grouped by given label: members of class i are `order[start[i] … start[i+1])`, ascending. */
function groupByLabel(p: Prepared, counts: readonly number[]): { order: Int32Array; start: Int32Array } {
  const start = new Int32Array(p.m + 1);
  for (let i = 0; i < p.m; i++) start[i + 1] = start[i]! + counts[i]!;
  const next = start.slice(0, p.m);
  const order = new Int32Array(p.n);
  for (let x = 0; x < p.n; x++) order[next[p.labels[x]!]!++] = x;
  return { order, start };
}

/**
 * Flags the `take` members with the lowest `key`, ties to the lower index. `members` must be in
 * ascending index order. Sorts the keys alone (a native numeric sort, no comparator: this is the
 * hot spot with many classes) to find the cut-off value, then takes members below it and, of
 * those equal to it, the lowest indices.
 */
function flagLowest(members: Int32Array, key: Float64Array, take: number, flags: Uint8Array): void {
  if (take <= 0) return;
  const s = members.length;
  if (take >= s) {
    for (const x of members) flags[x] = 1;
    return;
  }
  const keys = new Float64Array(s);
  for (let r = 0; r < s; r++) keys[r] = key[members[r]!]!;
  keys.sort();
  const cut = keys[take - 1]!;
  let below = take - 1;
  while (below > 0 && keys[below - 1] === cut) below--;
  let ties = take - below;
  for (const x of members) {
    const v = key[x]!;
    if (v < cut) flags[x] = 1;
    else if (v === cut && ties > 0) {
      flags[x] = 1;
      ties--;
    }
  }
}

function pruneByNoiseRate(p: Prepared, groups: { order: Int32Array; start: Int32Array }, estimate: number[][]): Uint8Array {
  const { n, m, probs } = p;
  const flags = new Uint8Array(n);
  // Sorting by −margin ascending = margin descending.
  const negMargin = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    const members = groups.order.subarray(groups.start[i]!, groups.start[i + 1]!);
    for (let j = 0; j < m; j++) {
      if (j === i) continue;
      const take = Math.round(estimate[i]![j]!);
      if (take <= 0) continue;
      for (const x of members) negMargin[x] = probs[x * m + i]! - probs[x * m + j]!;
      flagLowest(members, negMargin, take, flags);
    }
  }
  return flags;
}

function pruneByClass(p: Prepared, groups: { order: Int32Array; start: Int32Array }, estimate: number[][], selfConfidence: Float64Array): Uint8Array {
  const flags = new Uint8Array(p.n);
  for (let i = 0; i < p.m; i++) {
    let off = 0;
    for (let j = 0; j < p.m; j++) if (j !== i) off += estimate[i]![j]!;
    flagLowest(groups.order.subarray(groups.start[i]!, groups.start[i + 1]!), selfConfidence, Math.round(off), flags);
  }
  return flags;
}

/** Issues ranked most likely wrong first: self-confidence ascending, ties by index. */
function rankFlagged(flags: Uint8Array, selfConfidence: Float64Array): Int32Array {
  let count = 0;
  for (let x = 0; x < flags.length; x++) count += flags[x]!;
  const out = new Int32Array(count);
  let k = 0;
  for (let x = 0; x < flags.length; x++) if (flags[x]) out[k++] = x;
  return out.sort((a, b) => selfConfidence[a]! - selfConfidence[b]! || a - b);
}

/**
 * Finds likely label errors by confident learning (see the module header for the method).
 *
 * @param labels given label of each item, integers in 0 … numClasses − 1
 * @param probs out-of-sample predicted probabilities (n × numClasses), e.g. from k-fold models
 * @param numClasses m, an integer ≥ 2
 * @param options `filter`: which of the paper's pruning methods flags items (default 'prune_by_noise_rate')
 * @returns the flagged items ranked most-likely-wrong first, the estimates behind them (t, C,
 *   Q̂, noise rates), out-of-sample accuracy and per-item scores for every item
 * @throws InvalidArgument on mismatched sizes, labels out of range, probabilities outside
 *   [0, 1] or an unknown filter
 * @example
 * const { issues } = findLabelIssues(labels, probs, classes.length);
 * for (const it of issues) console.log(it.index, classes[it.given], '→', classes[it.suggested]);
 */
export function findLabelIssues(labels: ArrayLike<number>, probs: ProbabilityInput, numClasses: number, options: FindLabelIssuesOptions = {}): LabelIssueReport {
  const filter = options.filter ?? 'prune_by_noise_rate';
  if (!LABEL_ISSUE_FILTERS.includes(filter)) {
    throw invalid(`unknown 'filter': '${String(filter)}' (expected one of ${LABEL_ISSUE_FILTERS.join(', ')})`, { option: 'filter', value: filter });
  }
  const p = prepare(labels, probs, numClasses);
  const { n, m } = p;
  const labelCounts = countLabels(p);
  const thresholds = thresholdsOf(p, labelCounts);
  const confident = confidentLabelsOf(p, thresholds);
  const joint = jointOf(p, confident);
  const estimate = rescaledRows(joint, labelCounts); // n·Q̂
  const calibrated = normalised(estimate);

  // Per-item scores.
  const predicted = argmaxRows(p.probs, m);
  const predictedProbability = new Float64Array(n);
  const selfConfidence = new Float64Array(n);
  const margin = new Float64Array(n);
  /** Most probable class other than the given one (ties to the lower index). */
  const runnerUp = new Int32Array(n);
  let correct = 0;
  for (let x = 0; x < n; x++) {
    const row = x * m;
    const given = p.labels[x]!;
    let other = -1;
    let otherValue = -1;
    for (let j = 0; j < m; j++) {
      const v = p.probs[row + j]!;
      if (j !== given && v > otherValue) {
        other = j;
        otherValue = v;
      }
    }
    const self = p.probs[row + given]!;
    selfConfidence[x] = self;
    margin[x] = self - otherValue;
    runnerUp[x] = other;
    predictedProbability[x] = p.probs[row + predicted[x]!]!;
    if (predicted[x] === given) correct++;
  }

  // Flags.
  const groups = groupByLabel(p, labelCounts);
  let flags: Uint8Array;
  if (filter === 'confident_joint') {
    flags = new Uint8Array(n);
    for (let x = 0; x < n; x++) if (confident[x]! >= 0 && confident[x] !== p.labels[x]) flags[x] = 1;
  } else if (filter === 'prune_by_class') {
    flags = pruneByClass(p, groups, estimate, selfConfidence);
  } else {
    flags = pruneByNoiseRate(p, groups, estimate);
    if (filter === 'both') {
      const byClass = pruneByClass(p, groups, estimate, selfConfidence);
      for (let x = 0; x < n; x++) flags[x] = flags[x]! & byClass[x]!;
    }
  }

  // Keep at least one item per class: unflag the last-ranked flagged item of a fully flagged class.
  const flaggedPerClass = new Int32Array(m);
  for (let x = 0; x < n; x++) flaggedPerClass[p.labels[x]!]! += flags[x]!;
  for (let i = 0; i < m; i++) {
    if (labelCounts[i]! === 0 || flaggedPerClass[i]! < labelCounts[i]!) continue;
    const members = groups.order.subarray(groups.start[i]!, groups.start[i + 1]!);
    const ranked = members.slice().sort((a, b) => selfConfidence[a]! - selfConfidence[b]! || a - b);
    flags[ranked[ranked.length - 1]!] = 0;
  }

  const issues: LabelIssue[] = [];
  for (const x of rankFlagged(flags, selfConfidence)) {
    const given = p.labels[x]!;
    const c = confident[x]!;
    const suggested = c >= 0 && c !== given ? c : runnerUp[x]!;
    issues.push({ index: x, given, suggested, selfConfidence: selfConfidence[x]!, suggestedProbability: p.probs[x * m + suggested]!, margin: margin[x]! });
  }

  const noiseRates: NoiseRate[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      if (i === j || !(calibrated[i]![j]! > 0)) continue;
      noiseRates.push({ given: i, true: j, rate: estimate[i]![j]! / labelCounts[i]!, count: Math.round(estimate[i]![j]!) });
    }
  }
  noiseRates.sort((a, b) => b.rate - a.rate || b.count - a.count || a.given - b.given || a.true - b.true);

  return {
    filter,
    issues,
    labelCounts,
    thresholds,
    joint,
    calibrated,
    noiseRates,
    accuracy: n > 0 ? correct / n : 0,
    items: { predicted, predictedProbability, selfConfidence, margin, confidentLabel: confident },
  };
}
