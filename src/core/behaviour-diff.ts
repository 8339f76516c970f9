/**
 * The behaviour diff: two models' predictions on the same items, compared. Metrics side by side
 * with deltas, per-class precision and recall changes, the confusion-matrix cells that changed,
 * the items that flipped (fixed: wrong → right; broken: right → wrong, most confident first),
 * and McNemar's test on the flips. Pure: a data structure, rendered elsewhere.
 *
 * Items are paired by '<source>/<path>'; the truth is the label each item has in the evaluation
 * set. The two models may have different classes (a class renamed, merged or added between the
 * commits): predictions are compared by label name, and a name the truth does not know counts
 * as wrong.
 */
import { compareStrings } from '../util/compare.js';
import { mcnemar } from './metrics.js';

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

interface Tally {
  correct: number;
  perClass: Map<string, { tp: number; support: number; predicted: number }>;
  confusion: Map<string, number>;
}

function tally(items: readonly PairedItem[], which: 'before' | 'after'): Tally {
  const t: Tally = { correct: 0, perClass: new Map(), confusion: new Map() };
  const cls = (l: string) => {
    let c = t.perClass.get(l);
    if (!c) t.perClass.set(l, (c = { tp: 0, support: 0, predicted: 0 }));
    return c;
  };
  for (const it of items) {
    const p = it[which].label;
    cls(it.truth).support++;
    cls(p).predicted++;
    if (p === it.truth) {
      cls(p).tp++;
      t.correct++;
    }
    const key = `${it.truth}\u0000${p}`;
    t.confusion.set(key, (t.confusion.get(key) ?? 0) + 1);
  }
  return t;
}

function prf(c: { tp: number; support: number; predicted: number } | undefined): { precision: number; recall: number; f1: number } {
  if (!c) return { precision: 0, recall: 0, f1: 0 };
  const precision = c.predicted ? c.tp / c.predicted : 0;
  const recall = c.support ? c.tp / c.support : 0;
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
}

function macroF1(t: Tally): number {
  const present = [...t.perClass.values()].filter((c) => c.support > 0 || c.predicted > 0);
  return present.length ? present.reduce((a, c) => a + prf(c).f1, 0) / present.length : 0;
}

function flip(it: PairedItem): Flip {
  return { path: it.path, oid: it.oid, truth: it.truth, before: it.before, after: it.after };
}

const byConfidence = (a: Flip, b: Flip): number => b.after.confidence - a.after.confidence || compareStrings(a.path, b.path);

export function diffBehaviour(items: readonly PairedItem[]): BehaviourDiff {
  const main = items.filter((i) => !i.modelTest);
  const tests = items.filter((i) => i.modelTest);
  const a = tally(main, 'before');
  const b = tally(main, 'after');
  const labels = [...new Set([...a.perClass.keys(), ...b.perClass.keys()])].sort(compareStrings);
  const perClass: ClassDelta[] = labels
    .map((label) => {
      const pa = prf(a.perClass.get(label));
      const pb = prf(b.perClass.get(label));
      return { label, support: b.perClass.get(label)?.support ?? 0, precision: delta(pa.precision, pb.precision), recall: delta(pa.recall, pb.recall) };
    })
    .filter((c) => c.support > 0 || c.precision.before !== 0 || c.precision.after !== 0);
  const cells = new Set([...a.confusion.keys(), ...b.confusion.keys()]);
  const confusion: ConfusionChange[] = [...cells]
    .map((k) => {
      const [truth, predicted] = k.split('\u0000') as [string, string];
      const before = a.confusion.get(k) ?? 0;
      const after = b.confusion.get(k) ?? 0;
      return { truth, predicted, before, after, delta: after - before };
    })
    .filter((c) => c.delta !== 0)
    .sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta) || compareStrings(x.truth, y.truth) || compareStrings(x.predicted, y.predicted));
  const fixed = main.filter((i) => i.before.label !== i.truth && i.after.label === i.truth).map(flip).sort(byConfidence);
  const broken = main.filter((i) => i.before.label === i.truth && i.after.label !== i.truth).map(flip).sort(byConfidence);
  const changedWrong = main.filter((i) => i.before.label !== i.truth && i.after.label !== i.truth && i.before.label !== i.after.label).length;
  const sig = mcnemar(fixed.length, broken.length);
  const n = main.length;
  return {
    count: n,
    accuracy: delta(n ? a.correct / n : 0, n ? b.correct / n : 0),
    macroF1: delta(macroF1(a), macroF1(b)),
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
