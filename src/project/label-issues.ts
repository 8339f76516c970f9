/**
 * Label issues: confident learning (core/confident-learning.ts) over a cross-validation's
 * out-of-sample evaluation, stored as a `d2-review` object cached by content: the key hashes
 * the out-of-sample evaluation (which covers the items, their labels and the fold models) and
 * the filter, so the same data reviewed again reads the stored result.
 *
 * Invariants: the stored review names classes (never indices) and items by
 * '<source>/<path>' and content hash; numbers are the raw probabilities (an infinite threshold,
 * a class with no item, is null); a review is computed only from what its key hashes. The last
 * review of a dataset is also named by that dataset's oid (`review-dataset-<oid>`), so a
 * reader that must not train (`d2 report`) finds a revision's review from its data alone; a
 * review found there whose own `dataset` is another is ignored.
 */
import { findLabelIssues, type LabelIssueFilter } from '../core/confident-learning.js';
import type { Split } from '../core/dataset.js';
import { SPLITS } from '../core/dataset.js';
import { isOid } from '../core/safe-path.js';
import { LabelsInvalid, ObjectCorrupt } from '../errors/index.js';
import { KEPT_FILE, parseKeptCsv, type KeptItem } from '../manifest/index.js';
import type { ObjectStore } from '../store/index.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import type { CrossValidation } from './cross-validation.js';
import type { ProjectState } from './revision.js';

/** Bump when the analysis gives other results for the same probabilities. */
export const REVIEW_VERSION = 1;

/** One item flagged as likely mislabelled; probabilities are out of sample. */
export interface Suspect {
  /** '<source>/<path in source>'. */
  path: string;
  /** The item's content hash. */
  oid: string;
  /** The item's split in the reviewed state. */
  set: Split;
  /** The given label. */
  label: string;
  /** The label it more likely has (never the given one). */
  suggested: string;
  /** p̂(suggested): the out-of-sample probability of the suggested label. */
  confidence: number;
  /** p̂(label): the out-of-sample probability of the given label (the ranking key: lowest first). */
  selfConfidence: number;
  /** p̂(label) − the largest other probability: negative when another class is more probable. */
  margin: number;
  /** The out-of-sample prediction and its probability. */
  predicted: string;
  predictedProbability: number;
}

/** An estimated noise rate: of the items labelled `given`, this share (and count) is really `true`. */
export interface ClassNoise {
  given: string;
  true: string;
  rate: number;
  count: number;
}

/** A stored review (`d2-review` JSON). */
export interface StoredReview {
  format: 1;
  kind: 'd2-review';
  key: string;
  /** The cross-validation record it analysed, and its out-of-sample evaluation. */
  crossValidation: string;
  evaluation: string;
  dataset: string;
  filter: LabelIssueFilter;
  classes: string[];
  /** Items analysed (every item with an out-of-sample prediction). */
  items: number;
  /** Share of them whose out-of-sample prediction is their label. */
  accuracy: number;
  labelCounts: number[];
  /** Per-class thresholds t_j (null: a class with no item). */
  thresholds: (number | null)[];
  /** The confident joint C, counts (rows: given label, columns: confidently true label). */
  joint: number[][];
  /** Off-diagonal noise estimates from the calibrated joint, largest rate first. */
  noise: ClassNoise[];
  /** Every flagged item, most likely wrong first. */
  suspects: Suspect[];
}

function reviewKey(cv: CrossValidation, filter: LabelIssueFilter): string {
  return sha256Hex(canonicalJson({ kind: 'd2-review-key', version: REVIEW_VERSION, evaluation: cv.record.evaluation, filter }));
}

/** A stored review's text, checked (its oids are oids before any names a file). */
export function parseStoredReview(text: string, oid: string): StoredReview {
  let raw: Partial<StoredReview>;
  try {
    raw = JSON.parse(text) as Partial<StoredReview>;
  } catch (e) {
    throw new ObjectCorrupt(`review ${oid.slice(0, 12)} is not JSON: ${(e as Error).message}`, { data: { oid }, hint: "run 'd2 fsck'" });
  }
  const ok = raw !== null && typeof raw === 'object' && raw.kind === 'd2-review' && raw.format === 1 && isOid(raw.key) && isOid(raw.crossValidation) &&
    isOid(raw.evaluation) && Array.isArray(raw.suspects) && Array.isArray(raw.classes) && Array.isArray(raw.noise);
  if (!ok) throw new ObjectCorrupt(`review ${oid.slice(0, 12)} is damaged or crafted`, { data: { oid }, hint: "run 'd2 fsck'" });
  return raw as StoredReview;
}

/** A stored review by oid, when it is in the store and readable. */
export function readStoredReview(store: ObjectStore, oid: string | undefined): StoredReview | undefined {
  if (oid === undefined || !store.has(oid)) return undefined;
  try {
    return parseStoredReview(store.readText(oid), oid);
  } catch {
    return undefined;
  }
}

/**
 * The label issues of a cross-validation's items: found in the store by key, or computed
 * (confident learning, a fraction of a second for 60,000 items) and stored. Expects the lock held.
 */
export function findLabelIssuesOf(store: ObjectStore, cv: CrossValidation, filter: LabelIssueFilter = 'prune_by_noise_rate'): { oid: string; review: StoredReview; reused: boolean } {
  const key = reviewKey(cv, filter);
  const known = store.state.readPointer('review', key);
  const stored = readStoredReview(store, known);
  if (known !== undefined && stored) return { oid: known, review: stored, reused: true };

  const { evaluation } = cv;
  const classes = evaluation.classes;
  const m = classes.length;
  const paths: string[] = [];
  const oids: string[] = [];
  const sets: Split[] = [];
  const labels: number[] = [];
  const parts: Float32Array[] = [];
  for (const split of SPLITS) {
    const s = evaluation.sets[split]?.predictions;
    if (!s) continue;
    paths.push(...s.paths);
    oids.push(...s.oids);
    labels.push(...s.labels);
    for (let i = 0; i < s.paths.length; i++) sets.push(split);
    parts.push(s.probs);
  }
  const probs = new Float32Array(labels.length * m);
  let at = 0;
  for (const p of parts) {
    probs.set(p, at);
    at += p.length;
  }
  // Float32 rows may sum to 1 ± a rounding error; values stay within [0, 1].
  const r = findLabelIssues(labels, probs, m, { filter });
  const suspects: Suspect[] = r.issues.map((it) => ({
    path: paths[it.index]!,
    oid: oids[it.index]!,
    set: sets[it.index]!,
    label: classes[it.given]!,
    suggested: classes[it.suggested]!,
    confidence: it.suggestedProbability,
    selfConfidence: it.selfConfidence,
    margin: it.margin,
    predicted: classes[r.items.predicted[it.index]!]!,
    predictedProbability: r.items.predictedProbability[it.index]!,
  }));
  const review: StoredReview = {
    format: 1,
    kind: 'd2-review',
    key,
    crossValidation: cv.oid,
    evaluation: cv.record.evaluation,
    dataset: cv.record.dataset,
    filter,
    classes,
    items: labels.length,
    accuracy: r.accuracy,
    labelCounts: r.labelCounts,
    thresholds: r.thresholds.map((t) => (Number.isFinite(t) ? t : null)),
    joint: r.joint,
    noise: r.noiseRates.map((n) => ({ given: classes[n.given]!, true: classes[n.true]!, rate: n.rate, count: n.count })),
    suspects,
  };
  const oid = store.putBytes(JSON.stringify(review));
  store.state.writePointer('review', key, oid);
  return { oid, review, reused: false };
}

function datasetKey(dataset: string): string {
  return `dataset-${dataset}`;
}

/** Name `oid` the last review of its dataset (a review found by its key is the last one too). */
export function noteReviewOfDataset(store: ObjectStore, oid: string, review: StoredReview): void {
  if (store.state.readPointer('review', datasetKey(review.dataset)) !== oid) store.state.writePointer('review', datasetKey(review.dataset), oid);
}

/**
 * The last review computed for a dataset (by its oid), when one is stored; never computes one.
 *
 * @example
 * const found = findReviewOfDataset(project.store, prepared.datasetOid);
 */
export function findReviewOfDataset(store: ObjectStore, dataset: string): { oid: string; review: StoredReview } | undefined {
  if (!isOid(dataset)) return undefined;
  const oid = store.state.readPointer('review', datasetKey(dataset));
  const review = readStoredReview(store, oid);
  return review && review.dataset === dataset ? { oid: oid!, review } : undefined;
}

/** The suspects a reviewer kept (d2.review/kept.csv of a state), by item path. */
export async function readKept(state: ProjectState): Promise<Map<string, KeptItem>> {
  const text = await state.readText(KEPT_FILE);
  if (text === undefined) return new Map();
  const { kept, issues } = parseKeptCsv(text, state.commit ? `${KEPT_FILE} (at ${state.commit.slice(0, 7)})` : KEPT_FILE);
  if (issues.length) throw new LabelsInvalid(issues.length > 1 ? `${issues[0]} (and ${issues.length - 1} more)` : issues[0]!, { data: { file: KEPT_FILE, issues } });
  return new Map(kept.map((k) => [k.path, k]));
}

/** Whether a reviewer kept this suspect with the same evidence (its content, label and suggestion). */
export function isKept(s: Suspect, kept: ReadonlyMap<string, KeptItem>): boolean {
  const k = kept.get(s.path);
  return k !== undefined && k.item === s.oid && k.label === s.label && (k.suggested === null || k.suggested === s.suggested);
}
