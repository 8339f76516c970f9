/**
 * The data of a report page: one model (a build) or two (a diff) on the same evaluation items,
 * as the page and the Markdown summary draw them — headline metrics, per-class figures, the
 * confusion matrix, flips, the feature-space map, thumbnails. Pure: built from predictions
 * and projections computed elsewhere (project/report.ts), rendered elsewhere (src/html,
 * core/report-markdown.ts).
 *
 * Invariants:
 * - Figures follow core/metrics and core/behaviour-diff, over the items every model could
 *   be run on (model tests apart): a diff's report and `d2 diff` give the same numbers.
 * - Items are columns (index i across `items.*` and each model's `pred`, `conf`, `map`), so
 *   10,000 items stay a few hundred kilobytes besides their thumbnails; lists of items
 *   (flips) are indices into them.
 * - `classes` holds every label that is a truth or a prediction of any model, sorted; a
 *   prediction index of -1 means the model could not be run on that item.
 * - Label suspects (`d2 review`'s) are those of one revision (a diff's: B's), listed as the
 *   review ranks them (most likely wrong first), at most `SUSPECTS_SHOWN`, with the total;
 *   `suspects.review` is null when no review of that revision's data is stored, and the page
 *   then says which command computes it (a report never trains).
 */
import { compareStrings } from '../util/compare.js';
import { diffBehaviour, type ClassDelta, type Delta, type PairedItem } from './behaviour-diff.js';
import type { DataDiff } from './data-diff.js';
import type { FailCheck } from './fail-on.js';
import { computeMetrics } from './metrics.js';

export const REPORT_SCHEMA = 'd2-report/1';

/** Label suspects listed on a report (the rest are counted). */
export const SUSPECTS_SHOWN = 50;
/** Estimated noise rates (class pairs) listed on a report. */
export const NOISE_SHOWN = 20;

/** One suspect of a stored review (project/label-issues.ts's `Suspect`, the fields a report shows). */
export interface ReportSuspectInput {
  /** '<source>/<path>'. */
  path: string;
  oid: string;
  set: string;
  /** The given label. */
  label: string;
  /** The label it more likely has, and the out-of-sample probability of it. */
  suggested: string;
  confidence: number;
  /** The out-of-sample probability of the given label. */
  selfConfidence: number;
}

export interface ReportSuspectsInput {
  /** The revision whose review is shown, as the user named it (null: the working tree). */
  rev: string | null;
  /** The stored review of that revision's data; absent when none was computed. */
  review?: {
    oid: string;
    /** Items reviewed. */
    items: number;
    /** Suspects a reviewer kept (d2.review/kept.csv), left out of `suspects`. */
    kept: number;
    /** Most likely wrong first. */
    suspects: readonly ReportSuspectInput[];
    /** Estimated noise per class pair, largest rate first. */
    noise: readonly { given: string; true: string; rate: number; count: number }[];
  };
}

export interface ReportItemInput {
  /** '<source>/<path>'. */
  path: string;
  oid: string;
  truth: string;
  modelTest: boolean;
}

export interface ReportMapInput {
  method: 'pca' | 'umap';
  /** PCA: the fraction of variance along each axis. */
  explained?: number[];
  /** Per item: coordinates (null: no feature vector for the item). */
  x: (number | null)[];
  y: (number | null)[];
}

export interface ReportModelInput {
  /** 'A', 'B', or 'model'. */
  name: string;
  /** The revision as the user named it (null: the working tree). */
  rev: string | null;
  commit: string | null;
  oid: string;
  key: string;
  preset: string;
  engine: string;
  /** Per item: the predicted label, read with the evaluation side's names (undefined: could not be run). */
  label: readonly (string | undefined)[];
  confidence: readonly number[];
  map?: ReportMapInput;
}

export interface ReportInput {
  title: string;
  /** The d2 version that made the report. */
  version: string;
  evaluatedOn: { rev: string | null; commit: string | null };
  items: readonly ReportItemInput[];
  /** One model (a build's report) or two (A then B: a diff's report). */
  models: readonly ReportModelInput[];
  /** Thumbnails by item oid (`data:` URIs; null: cannot be drawn). Absent: no pictures (tables). */
  thumbnails?: ReadonlyMap<string, string | null>;
  /** A diff's data changes. */
  data?: DataDiff;
  checks?: FailCheck[];
  /** `d2 review`'s label suspects of the reported revision (a diff's: B), or that none are stored. */
  suspects?: ReportSuspectsInput;
}

export interface ReportClassFigures {
  label: string;
  support: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface ReportModel extends Pick<ReportModelInput, 'name' | 'rev' | 'commit' | 'oid' | 'key' | 'preset' | 'engine'> {
  /** Per item: index into `classes` of the prediction (-1: could not be run). */
  pred: number[];
  /** Per item: the predicted class's probability (4 decimals). */
  conf: number[];
  metrics: { count: number; correct: number; accuracy: number; macroF1: number; modelTests: { count: number; passed: number } };
  /** Classes with items or predictions in the evaluation. */
  perClass: ReportClassFigures[];
  /** confusion[t][p]: items of true class t predicted as p (indices into `classes`), model tests apart. */
  confusion: number[][];
  /** Items the model could not be run on. */
  failedCount: number;
  map: { method: 'pca' | 'umap'; explained?: number[]; x: (number | null)[]; y: (number | null)[] } | null;
}

export interface ReportDiff {
  count: number;
  accuracy: Delta;
  macroF1: Delta;
  perClass: ClassDelta[];
  /** Item indices: wrong before, right after (most confident first). */
  fixed: number[];
  /** Item indices: right before, wrong after (most confident first). */
  broken: number[];
  changedWrong: number;
  significance: { fixed: number; broken: number; statistic: number; pValue: number; method: 'exact' | 'chi2' };
  modelTests: { count: number; failingBefore: number; failingAfter: number; fixed: number[]; broken: number[] };
}

export interface ReportDataChanges {
  before: number;
  after: number;
  added: number;
  removed: number;
  modified: number;
  renamed: number;
  relabelled: number;
  moved: number;
  modelTests: { before: number; after: number };
  relabelledGroups: { from: string; to: string; count: number }[];
}

export interface ReportSuspect {
  path: string;
  set: string;
  label: string;
  suggested: string;
  /** p̂(suggested), 4 decimals. */
  confidence: number;
  /** p̂(label), 4 decimals. */
  selfConfidence: number;
  /** Index into `thumbs` (-1: no picture). */
  thumb: number;
}

export interface ReportSuspects {
  /** The revision reviewed (null: the working tree). */
  rev: string | null;
  /** The command that computes the review (`d2 review REV`). */
  command: string;
  /** Null: no review of this revision's data is stored. */
  review: {
    oid: string;
    items: number;
    /** Suspects flagged, kept ones apart. */
    total: number;
    kept: number;
    /** The first `SUSPECTS_SHOWN`, most likely wrong first. */
    suspects: ReportSuspect[];
    /** The first `NOISE_SHOWN` class pairs, largest rate first, and how many there are. */
    noise: { given: string; true: string; rate: number; count: number }[];
    noisePairs: number;
  } | null;
}

export interface ReportData {
  schema: typeof REPORT_SCHEMA;
  kind: 'build' | 'diff';
  title: string;
  version: string;
  evaluatedOn: { rev: string | null; commit: string | null; items: number; modelTests: number };
  classes: string[];
  items: {
    path: string[];
    /** Index into `classes`. */
    truth: number[];
    /** 1 for a model test. */
    modelTest: number[];
    /** Index into `thumbs` (-1: no picture). */
    thumb: number[];
  };
  thumbs: string[];
  models: ReportModel[];
  diff?: ReportDiff;
  data?: ReportDataChanges;
  checks?: FailCheck[];
  suspects?: ReportSuspects;
}

/** The command that reviews a revision, as a user types it (a name with odd characters quoted). */
export function reviewCommand(rev: string | null): string {
  if (rev === null) return 'd2 review';
  return `d2 review ${/^[A-Za-z0-9_./~^@{}:+-]+$/.test(rev) ? rev : `'${rev.replace(/'/g, "'\\''")}'`}`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Four significant digits: enough to draw a map, a third of the bytes of a float's text. */
function coord(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : Number(v.toPrecision(4));
}

/**
 * The page's data from predictions (and maps and thumbnails) of one or two models.
 *
 * @example
 * const data = buildReportData({ title: 'HEAD', version: '0.1.0', evaluatedOn, items, models: [model] });
 */
export function buildReportData(input: ReportInput): ReportData {
  const { items, models } = input;
  if (models.length !== 1 && models.length !== 2) throw new Error(`report: ${models.length} models (expected 1 or 2)`);
  for (const m of models) {
    if (m.label.length !== items.length || m.confidence.length !== items.length) throw new Error(`report: model ${m.name} has ${m.label.length} predictions for ${items.length} items`);
  }
  const classes = [...new Set([...items.map((i) => i.truth), ...models.flatMap((m) => m.label.filter((l): l is string => l !== undefined))])].sort(compareStrings);
  const index = new Map(classes.map((c, k) => [c, k]));
  // The items every model was run on: the figures' common ground.
  const scored = items.map((_, i) => models.every((m) => m.label[i] !== undefined));
  const thumbs: string[] = [];
  const thumbIndex = new Map<string, number>();
  const thumbOf = (oid: string): number => {
    const uri = input.thumbnails?.get(oid);
    if (!uri) return -1;
    let k = thumbIndex.get(uri);
    if (k === undefined) {
      k = thumbs.push(uri) - 1;
      thumbIndex.set(uri, k);
    }
    return k;
  };
  const out: ReportData = {
    schema: REPORT_SCHEMA,
    kind: models.length === 2 ? 'diff' : 'build',
    title: input.title,
    version: input.version,
    evaluatedOn: { ...input.evaluatedOn, items: items.filter((i) => !i.modelTest).length, modelTests: items.filter((i) => i.modelTest).length },
    classes,
    items: {
      path: items.map((i) => i.path),
      truth: items.map((i) => index.get(i.truth)!),
      modelTest: items.map((i) => (i.modelTest ? 1 : 0)),
      thumb: items.map((i) => thumbOf(i.oid)),
    },
    thumbs,
    models: models.map((m) => {
      const main = items.map((_, i) => i).filter((i) => scored[i] && !items[i]!.modelTest);
      const metrics = computeMetrics(main.map((i) => index.get(items[i]!.truth)!), main.map((i) => index.get(m.label[i]!)!), classes);
      const tests = items.map((_, i) => i).filter((i) => scored[i] && items[i]!.modelTest);
      return {
        name: m.name, rev: m.rev, commit: m.commit, oid: m.oid, key: m.key, preset: m.preset, engine: m.engine,
        pred: m.label.map((l) => (l === undefined ? -1 : index.get(l)!)),
        conf: m.confidence.map((c, i) => (m.label[i] === undefined ? 0 : round(c, 4))),
        metrics: {
          count: metrics.count, correct: metrics.correct, accuracy: metrics.accuracy, macroF1: metrics.macroF1,
          modelTests: { count: tests.length, passed: tests.filter((i) => m.label[i] === items[i]!.truth).length },
        },
        perClass: metrics.perClass.filter((c) => c.support > 0 || c.predicted > 0).map((c) => ({ label: c.label, support: c.support, precision: c.precision, recall: c.recall, f1: c.f1 })),
        confusion: metrics.confusion,
        failedCount: m.label.filter((l) => l === undefined).length,
        map: m.map ? { method: m.map.method, ...(m.map.explained ? { explained: m.map.explained } : {}), x: m.map.x.map(coord), y: m.map.y.map(coord) } : null,
      };
    }),
  };
  if (models.length === 2) {
    const [a, b] = models as [ReportModelInput, ReportModelInput];
    const paired: PairedItem[] = [];
    items.forEach((it, i) => {
      if (!scored[i]) return;
      paired.push({
        path: it.path, oid: it.oid, truth: it.truth, modelTest: it.modelTest,
        before: { label: a.label[i]!, confidence: a.confidence[i]! }, after: { label: b.label[i]!, confidence: b.confidence[i]! },
      });
    });
    const d = diffBehaviour(paired);
    const at = new Map(items.map((it, i) => [it.path, i]));
    const ix = (flips: { path: string }[]): number[] => flips.map((f) => at.get(f.path)!);
    out.diff = {
      count: d.count, accuracy: d.accuracy, macroF1: d.macroF1, perClass: d.perClass,
      fixed: ix(d.fixed), broken: ix(d.broken), changedWrong: d.changedWrong, significance: d.significance,
      modelTests: { count: d.modelTests.count, failingBefore: d.modelTests.failingBefore, failingAfter: d.modelTests.failingAfter, fixed: ix(d.modelTests.fixed), broken: ix(d.modelTests.broken) },
    };
  }
  if (input.data) {
    const d = input.data;
    out.data = {
      before: d.before.items, after: d.after.items,
      added: Object.values(d.bySource).reduce((s, c) => s + c.added, 0),
      removed: Object.values(d.bySource).reduce((s, c) => s + c.removed, 0),
      modified: Object.values(d.bySource).reduce((s, c) => s + c.modified, 0),
      renamed: Object.values(d.bySource).reduce((s, c) => s + c.renamed, 0),
      relabelled: d.relabelledCount, moved: d.movedCount,
      modelTests: { before: d.modelTests.before, after: d.modelTests.after },
      relabelledGroups: d.relabelled.map((g) => ({ from: g.from, to: g.to, count: g.count })),
    };
  }
  if (input.checks) out.checks = input.checks;
  if (input.suspects) {
    const { rev, review } = input.suspects;
    out.suspects = {
      rev,
      command: reviewCommand(rev),
      review: review ? {
        oid: review.oid, items: review.items, total: review.suspects.length, kept: review.kept,
        suspects: review.suspects.slice(0, SUSPECTS_SHOWN).map((s) => ({
          path: s.path, set: s.set, label: s.label, suggested: s.suggested,
          confidence: round(s.confidence, 4), selfConfidence: round(s.selfConfidence, 4), thumb: thumbOf(s.oid),
        })),
        noise: review.noise.slice(0, NOISE_SHOWN).map((n) => ({ given: n.given, true: n.true, rate: n.rate, count: n.count })),
        noisePairs: review.noise.length,
      } : null,
    };
  }
  return out;
}
