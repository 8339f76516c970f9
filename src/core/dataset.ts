/**
 * Dataset resolution: the manifest's composition applied to the sources' snapshots, giving the
 * dataset — every item with its label and split — and the problems found on the way. Pure.
 *
 * Order of operations (docs/manifest.md): included sources → path filters → label map →
 * label filters → unlabelled items left out → model tests held out → splits.
 *
 * Invariants:
 * - An item's split depends only on its content hash and the split seed (or on its source's
 *   pin), so adding or removing other items never moves an existing item to another split,
 *   and identical content split by hash always lands in one split.
 * - Model tests, and every item with the same content as one, never reach train, validation
 *   or test.
 * - Problems are reported, never hidden: label conflicts, leakage (the same content in two
 *   splits; an error unless allowed), empty classes, classes evaluated but never trained on,
 *   a single class (an error: nothing to classify), and the slips of hand-edited labels (a
 *   source with no label, labels of files not in the source, classes differing only in case,
 *   a rare class one typo away from a common one).
 * - The dataset's text form, and so its oid, depends only on the items (sorted), not on the
 *   order sources or files were read in.
 */
import picomatch from 'picomatch';
import { compareStrings } from '../util/compare.js';
import { editDistance } from '../util/edit-distance.js';
import { sha256Hex } from '../util/hash.js';
import type { ListingEntry } from './listing.js';

export const SPLITS = ['train', 'validation', 'test'] as const;
export type Split = (typeof SPLITS)[number];
/** Model tests are a fourth, separate evaluation set. */
export type ItemSet = Split | 'modelTest';

export interface SourceInput {
  name: string;
  /** Every item of the source goes to this split (the source's `split` in d2.yaml). */
  pin?: Split;
  /** The source's listing, sorted by path. */
  entries: readonly ListingEntry[];
  labels: ReadonlyMap<string, string>;
  /** Declared a pool to label later (`unlabelled: true` in d2.yaml): having no label is not a problem. */
  pool?: boolean;
}

export interface ModelTestRow {
  /** Line in the model tests CSV (for messages). */
  line: number;
  /** '<source>/<path in source>'. */
  path: string;
  label: string;
}

export interface CompositionRules {
  include?: readonly string[];
  exclude: readonly string[];
  filter: { paths?: readonly string[]; excludePaths: readonly string[]; labels?: readonly string[]; excludeLabels: readonly string[] };
  labelMap: Readonly<Record<string, string | null>>;
  split: { seed: number; train: number; validation: number; test: number };
  allowLeakage: boolean;
}

export interface DatasetItem {
  source: string;
  path: string;
  oid: string;
  size: number;
  label: string;
  set: ItemSet;
}

export type DatasetProblem =
  | { kind: 'label-conflict'; severity: 'warning'; oid: string; items: { source: string; path: string; label: string }[]; message: string }
  | { kind: 'leakage'; severity: 'error' | 'warning'; oid: string; items: { source: string; path: string; set: ItemSet }[]; message: string }
  | { kind: 'empty-class'; severity: 'warning'; label: string; message: string }
  | { kind: 'class-not-in-train'; severity: 'warning'; label: string; sets: ItemSet[]; message: string }
  | { kind: 'model-test-not-found'; severity: 'error'; line: number; path: string; message: string }
  | { kind: 'model-test-duplicate'; severity: 'error'; line: number; path: string; message: string }
  | { kind: 'one-class'; severity: 'error'; label: string; message: string }
  | { kind: 'source-unlabelled'; severity: 'warning'; source: string; items: number; message: string }
  | { kind: 'label-stray'; severity: 'warning'; source: string; count: number; paths: string[]; message: string }
  | { kind: 'label-case'; severity: 'warning'; labels: string[]; message: string }
  | { kind: 'label-typo'; severity: 'warning'; label: string; items: number; didYouMean: string; paths: string[]; message: string };

export interface Counts {
  total: number;
  perClass: Record<string, number>;
}

export interface ResolvedDataset {
  /** Sorted by source, then path. */
  items: DatasetItem[];
  /** Every label of the dataset, sorted: the model's classes. */
  classes: string[];
  counts: Record<ItemSet, Counts>;
  /** Items of the included sources that are not in the dataset, by reason. */
  left: { filtered: number; dropped: number; unlabelled: number; duplicatesOfModelTests: number };
  /** The included items that have no label (after path filters), sorted like `items`: the pool `d2 suggest` ranks. Never trained or evaluated on. */
  unlabelled: UnlabelledItem[];
  problems: DatasetProblem[];
}

/** An item of an included source that has no label yet. */
export interface UnlabelledItem {
  source: string;
  path: string;
  oid: string;
  size: number;
}

/** The split of an item decided by hash: a uniform number from (seed, oid), cut by the fractions. */
export function splitOf(oid: string, rules: CompositionRules['split']): Split {
  const u = parseInt(sha256Hex(`d2-split:${rules.seed}:${oid}`).slice(0, 13), 16) / 2 ** 52;
  if (u < rules.train) return 'train';
  if (u < rules.train + rules.validation) return 'validation';
  return 'test';
}

function matcher(globs: readonly string[] | undefined): ((p: string) => boolean) | undefined {
  if (!globs || globs.length === 0) return undefined;
  const m = picomatch([...globs], { dot: true });
  return (p) => m(p);
}

export function resolveDataset(sources: readonly SourceInput[], rules: CompositionRules, modelTests: readonly ModelTestRow[] = []): ResolvedDataset {
  const keepPath = matcher(rules.filter.paths);
  const dropPath = matcher(rules.filter.excludePaths);
  const keepLabels = rules.filter.labels ? new Set(rules.filter.labels) : undefined;
  const dropLabels = new Set(rules.filter.excludeLabels);
  const left = { filtered: 0, dropped: 0, unlabelled: 0, duplicatesOfModelTests: 0 };
  const unlabelled: UnlabelledItem[] = [];
  const problems: DatasetProblem[] = [];

  const included = sources
    .filter((s) => (rules.include ? rules.include.includes(s.name) : true) && !rules.exclude.includes(s.name))
    .sort((a, b) => compareStrings(a.name, b.name));

  // Model tests: find each row's item; its content is held out everywhere.
  const bySourcePath = new Map<string, { source: SourceInput; entry: ListingEntry }>();
  for (const s of included) for (const e of s.entries) bySourcePath.set(`${s.name}/${e.path}`, { source: s, entry: e });
  const modelTestItems: DatasetItem[] = [];
  const heldOut = new Set<string>();
  const testPaths = new Set<string>();
  for (const row of modelTests) {
    const found = bySourcePath.get(row.path);
    if (!found) {
      problems.push({ kind: 'model-test-not-found', severity: 'error', line: row.line, path: row.path, message: `model test '${row.path}' (line ${row.line}) is not an item of an included source` });
      continue;
    }
    if (testPaths.has(row.path)) {
      problems.push({ kind: 'model-test-duplicate', severity: 'error', line: row.line, path: row.path, message: `model test '${row.path}' is listed twice (line ${row.line})` });
      continue;
    }
    testPaths.add(row.path);
    heldOut.add(found.entry.oid);
    modelTestItems.push({ source: found.source.name, path: found.entry.path, oid: found.entry.oid, size: found.entry.size, label: row.label, set: 'modelTest' });
  }

  const items: DatasetItem[] = [];
  for (const s of included) {
    for (const e of s.entries) {
      const key = `${s.name}/${e.path}`;
      if (testPaths.has(key)) continue;
      if ((keepPath && !keepPath(key)) || dropPath?.(key)) {
        left.filtered++;
        continue;
      }
      const raw = s.labels.get(e.path);
      if (raw === undefined) {
        left.unlabelled++;
        unlabelled.push({ source: s.name, path: e.path, oid: e.oid, size: e.size });
        continue;
      }
      const mapped = Object.prototype.hasOwnProperty.call(rules.labelMap, raw) ? rules.labelMap[raw] : raw;
      if (mapped === null || mapped === undefined) {
        left.dropped++;
        continue;
      }
      if ((keepLabels && !keepLabels.has(mapped)) || dropLabels.has(mapped)) {
        left.filtered++;
        continue;
      }
      if (heldOut.has(e.oid)) {
        left.duplicatesOfModelTests++;
        continue;
      }
      items.push({ source: s.name, path: e.path, oid: e.oid, size: e.size, label: mapped, set: s.pin ?? splitOf(e.oid, rules.split) });
    }
  }

  // The same content: two labels is a conflict; two sets is leakage.
  const byOid = new Map<string, DatasetItem[]>();
  for (const it of items) {
    const list = byOid.get(it.oid);
    if (list) list.push(it); else byOid.set(it.oid, [it]);
  }
  for (const [oid, group] of byOid) {
    if (group.length < 2) continue;
    const labels = new Set(group.map((g) => g.label));
    if (labels.size > 1) {
      problems.push({
        kind: 'label-conflict', severity: 'warning', oid,
        items: group.map((g) => ({ source: g.source, path: g.path, label: g.label })),
        message: `label conflict: the same content is labelled ${[...labels].map((l) => `'${l}'`).join(' and ')} (${group.map((g) => `${g.source}/${g.path}`).join(', ')})`,
      });
    }
    const sets = new Set(group.map((g) => g.set));
    if (sets.size > 1) {
      problems.push({
        kind: 'leakage', severity: rules.allowLeakage ? 'warning' : 'error', oid,
        items: group.map((g) => ({ source: g.source, path: g.path, set: g.set })),
        message: `leakage: the same content is in ${[...sets].join(' and ')} (${group.map((g) => `${g.source}/${g.path}`).join(', ')})`,
      });
    }
  }

  const all = [...items, ...modelTestItems].sort((a, b) => compareStrings(a.source, b.source) || compareStrings(a.path, b.path));
  const counts = { train: emptyCounts(), validation: emptyCounts(), test: emptyCounts(), modelTest: emptyCounts() } as Record<ItemSet, Counts>;
  for (const it of all) {
    const c = counts[it.set];
    c.total++;
    c.perClass[it.label] = (c.perClass[it.label] ?? 0) + 1;
  }
  const classes = [...new Set(all.map((i) => i.label))].sort(compareStrings);

  for (const label of classes) {
    if (counts.train.perClass[label]) continue;
    const sets = (['validation', 'test', 'modelTest'] as const).filter((s) => counts[s].perClass[label]);
    problems.push({ kind: 'class-not-in-train', severity: 'warning', label, sets: [...sets], message: `class '${label}' is in ${sets.join(', ')} but not in train: the model cannot learn it` });
  }
  const expected = new Set<string>([...(rules.filter.labels ?? []), ...Object.values(rules.labelMap).filter((v): v is string => typeof v === 'string')]);
  for (const label of [...expected].sort(compareStrings)) {
    if (!classes.includes(label)) problems.push({ kind: 'empty-class', severity: 'warning', label, message: `class '${label}' (named in d2.yaml) has no items` });
  }
  problems.push(...labelProblems(included, all, classes));
  return { items: all, classes, counts, left, unlabelled, problems };
}

/**
 * What a hand-edited labels file gets wrong without d2 noticing otherwise: one class only, a
 * source with no label at all (unless declared a pool to label later), labels for files the source does not have, two classes that
 * differ only in case, and a rare class one typo away from a common one.
 */
function labelProblems(included: readonly SourceInput[], items: readonly DatasetItem[], classes: readonly string[]): DatasetProblem[] {
  const problems: DatasetProblem[] = [];
  if (classes.length === 1) {
    problems.push({ kind: 'one-class', severity: 'error', label: classes[0]!, message: `the dataset has one class ('${classes[0]}'): a classifier needs at least 2` });
  }
  for (const s of included) {
    if (!s.pool && s.entries.length > 0 && !s.entries.some((e) => s.labels.has(e.path))) {
      problems.push({
        kind: 'source-unlabelled', severity: 'warning', source: s.name, items: s.entries.length,
        message: `source '${s.name}': ${s.entries.length} items, none labelled (folder names as labels: d2 add --labels dirname)`,
      });
    }
    const present = new Set(s.entries.map((e) => e.path));
    const strays = [...s.labels.keys()].filter((p) => !present.has(p)).sort(compareStrings);
    if (strays.length) {
      problems.push({
        kind: 'label-stray', severity: 'warning', source: s.name, count: strays.length, paths: strays.slice(0, 20),
        message: `source '${s.name}': ${strays.length} label row(s) name no file of the source and are ignored, e.g. '${strays[0]}'`,
      });
    }
  }
  const perClass = new Map<string, DatasetItem[]>();
  for (const it of items) {
    const list = perClass.get(it.label);
    if (list) list.push(it); else perClass.set(it.label, [it]);
  }
  const byFold = new Map<string, string[]>();
  for (const c of classes) {
    const k = c.toLowerCase();
    byFold.set(k, [...(byFold.get(k) ?? []), c]);
  }
  for (const group of byFold.values()) {
    if (group.length > 1) {
      problems.push({ kind: 'label-case', severity: 'warning', labels: group, message: `classes ${group.map((c) => `'${c}'`).join(' and ')} differ only in case: they are separate classes` });
    }
  }
  for (const c of classes) {
    const n = perClass.get(c)?.length ?? 0;
    if (n > 2) continue;
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const d of classes) {
      if (d === c || d.toLowerCase() === c.toLowerCase() || (perClass.get(d)?.length ?? 0) < 5 * n) continue;
      const dist = editDistance(c.toLowerCase(), d.toLowerCase());
      if (dist <= (d.length >= 5 ? 2 : 1) && dist < bestDistance) {
        best = d;
        bestDistance = dist;
      }
    }
    if (best !== undefined) {
      const paths = (perClass.get(c) ?? []).map((i) => `${i.source}/${i.path}`);
      problems.push({
        kind: 'label-typo', severity: 'warning', label: c, items: n, didYouMean: best, paths,
        message: `class '${c}' has ${n} item${n === 1 ? '' : 's'} (${paths.join(', ')}): did you mean '${best}'?`,
      });
    }
  }
  return problems;
}

function emptyCounts(): Counts {
  return { total: 0, perClass: {} };
}

/**
 * The dataset as text (format `d2-dataset 1`): one line per item, `set TAB label TAB oid TAB
 * source/path`, in item order. Stored as an object; its oid is the dataset's hash.
 */
export function serializeDataset(d: Pick<ResolvedDataset, 'items'>): string {
  const lines = ['d2-dataset 1'];
  for (const it of d.items) lines.push(`${it.set}\t${field(it.label)}\t${it.oid}\t${field(`${it.source}/${it.path}`)}`);
  return `${lines.join('\n')}\n`;
}

/** A field with a tab or line break (or a leading quote) is written as a JSON string. */
function field(s: string): string {
  return /[\t\n\r]/.test(s) || s.startsWith('"') ? JSON.stringify(s) : s;
}

function unfield(s: string): string {
  return s.startsWith('"') ? (JSON.parse(s) as string) : s;
}

/** Parse `serializeDataset` output back into items (sizes are not part of the text: 0). */
export function parseDataset(text: string): DatasetItem[] {
  const lines = text.split('\n');
  if (lines[0] !== 'd2-dataset 1') throw new Error('not a d2 dataset');
  const items: DatasetItem[] = [];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const [set, label, oid, where] = line.split('\t') as [ItemSet, string, string, string];
    const full = unfield(where);
    const slash = full.indexOf('/');
    items.push({ set, label: unfield(label), oid, source: full.slice(0, slash), path: full.slice(slash + 1), size: 0 });
  }
  return items;
}

export function hasBlockingProblems(d: Pick<ResolvedDataset, 'problems'>): boolean {
  return d.problems.some((p) => p.severity === 'error');
}
