/**
 * The behaviour diff: two models' predictions on the same items, compared. Metrics side by side
 * with deltas, per-class precision and recall changes, the confusion-matrix cells that changed,
 * the items that flipped (fixed: wrong → right; broken: right → wrong, most confident first),
 * and McNemar's test on the flips. Pure: a data structure, rendered elsewhere.
 *
 * Items are paired by '<source>/<path>'; the truth is the label each item has in the evaluation
 * set. The two models may have different classes (a class renamed, merged or added between the
 * commits): predictions are compared by label name, and a name the truth does not know counts
 * as wrong (api/diff reads a renamed or merged class's old name as its new one beforehand). Per-class figures, accuracy and macro-F1 come from core/metrics (the conventions of a
 * build's evaluation), over the labels that occur on either side.
 */
import { compareStrings } from '../util/compare.js';
import { computeMetrics, mcnemar, type Metrics } from './metrics.js';

export interface Prediction {
  label: string;
  /** The predicted class's probability. */
  confidence: number;
}

export interface PairedItem {
  path: string;
  oid: string;
  truth: string;
  /** Part of the model tests (reported apart). */
  modelTest: boolean;
  before: Prediction;
  after: Prediction;
}

export interface Delta {
  before: number;
  after: number;
  delta: number;
}

export interface ClassDelta {
  label: string;
  support: number;
  precision: Delta;
  recall: Delta;
  f1: Delta;
}

export interface ConfusionChange {
  truth: string;
  predicted: string;
  before: number;
  after: number;
  delta: number;
}

export interface Flip {
  path: string;
  oid: string;
  truth: string;
  before: Prediction;
  after: Prediction;
  /** Text items: the start of the text, on one line (filled by the comparison, not here). */
  snippet?: string;
}

export interface BehaviourDiff {
  /** Paired items evaluated (model tests excluded). */
  count: number;
  accuracy: Delta;
  macroF1: Delta;
  perClass: ClassDelta[];
  confusion: ConfusionChange[];
  fixed: Flip[];
  broken: Flip[];
  /** Items wrong before and after, but with another wrong answer. */
  changedWrong: number;
  significance: { fixed: number; broken: number; statistic: number; pValue: number; method: 'exact' | 'chi2' };
  modelTests: { count: number; failingBefore: number; failingAfter: number; fixed: Flip[]; broken: Flip[] };
}

function delta(before: number, after: number): Delta {
  return { before, after, delta: after - before };
}

/** Metrics of one side over `classes` (core/metrics: the same figures as a build's evaluation). */
function metricsOf(items: readonly PairedItem[], which: 'before' | 'after', index: ReadonlyMap<string, number>, classes: readonly string[]): Metrics {
  return computeMetrics(items.map((i) => index.get(i.truth)!), items.map((i) => index.get(i[which].label)!), classes);
}

function flip(it: PairedItem): Flip {
  return { path: it.path, oid: it.oid, truth: it.truth, before: it.before, after: it.after };
}

const byConfidence = (a: Flip, b: Flip): number => b.after.confidence - a.after.confidence || compareStrings(a.path, b.path);

export function diffBehaviour(items: readonly PairedItem[]): BehaviourDiff {
  const main = items.filter((i) => !i.modelTest);
  const tests = items.filter((i) => i.modelTest);
  // Every label that occurs as a truth or a prediction on either side, as class indices.
  const classes = [...new Set(main.flatMap((i) => [i.truth, i.before.label, i.after.label]))].sort(compareStrings);
  const index = new Map(classes.map((c, k) => [c, k]));
  const a = metricsOf(main, 'before', index, classes);
  const b = metricsOf(main, 'after', index, classes);
  const perClass: ClassDelta[] = classes
    .map((label, k) => {
      const pa = a.perClass[k]!;
      const pb = b.perClass[k]!;
      return { label, support: pb.support, precision: delta(pa.precision, pb.precision), recall: delta(pa.recall, pb.recall), f1: delta(pa.f1, pb.f1) };
    })
    .filter((c) => c.support > 0);
  const confusion: ConfusionChange[] = [];
  classes.forEach((truth, t) => classes.forEach((predicted, p) => {
    const before = a.confusion[t]![p]!;
    const after = b.confusion[t]![p]!;
    if (before !== after) confusion.push({ truth, predicted, before, after, delta: after - before });
  }));
  confusion.sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta) || compareStrings(x.truth, y.truth) || compareStrings(x.predicted, y.predicted));
  const fixed = main.filter((i) => i.before.label !== i.truth && i.after.label === i.truth).map(flip).sort(byConfidence);
  const broken = main.filter((i) => i.before.label === i.truth && i.after.label !== i.truth).map(flip).sort(byConfidence);
  const changedWrong = main.filter((i) => i.before.label !== i.truth && i.after.label !== i.truth && i.before.label !== i.after.label).length;
  const sig = mcnemar(fixed.length, broken.length);
    return {
    count: main.length,
    accuracy: delta(a.accuracy, b.accuracy),
    macroF1: delta(a.macroF1, b.macroF1),
    perClass,
    confusion,
    fixed,
    broken,
    changedWrong,
    significance: { fixed: fixed.length, broken: broken.length, ...sig },
    modelTests: {
      count: tests.length,
      failingBefore: tests.filter((i) => i.before.label !== i.truth).length,
      failingAfter: tests.filter((i) => i.after.label !== i.truth).length,
      fixed: tests.filter((i) => i.before.label !== i.truth && i.after.label === i.truth).map(flip).sort(byConfidence),
      broken: tests.filter((i) => i.before.label === i.truth && i.after.label !== i.truth).map(flip).sort(byConfidence),
    },
  };
}
