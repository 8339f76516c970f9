/**
 * The data diff: what changed in the dataset between two states — items added, removed,
 * modified (same path, new content) and relabelled, per source and per class; items that moved
 * between splits (should be none, and is said loudly when not); and the manifest's changes as
 * structure (`preprocess.image` changed, `model.preset` changed), not as text. Pure.
 */
import { compareStrings } from '../util/compare.js';
import type { DatasetItem, ItemSet } from './dataset.js';

export interface ItemRef {
  path: string;
  label: string;
  set: ItemSet;
}

export interface RelabelGroup {
  from: string;
  to: string;
  count: number;
  examples: string[];
}

export interface SetMove {
  from: ItemSet;
  to: ItemSet;
  count: number;
  examples: string[];
}

export interface ManifestChange {
  /** Dotted key path, e.g. 'preprocess.image' or 'dataset.labelMap.shirt'. */
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

export interface DataDiff {
  /** Item counts by set on each side. */
  before: { items: number };
  after: { items: number };
  added: ItemRef[];
  removed: ItemRef[];
  modified: ItemRef[];
  relabelled: RelabelGroup[];
  relabelledCount: number;
  moved: SetMove[];
  movedCount: number;
  /** Per source: counts of each kind of change. */
  bySource: Record<string, { added: number; removed: number; modified: number; relabelled: number; moved: number }>;
  /** Per class (the class on the side the item is on; relabels count on both): items gained and lost. */
  byClass: Record<string, { before: number; after: number; delta: number }>;
  manifest: ManifestChange[];
}

const EXAMPLES = 5;

function key(it: DatasetItem): string {
  return `${it.source}/${it.path}`;
}

export function diffData(before: readonly DatasetItem[], after: readonly DatasetItem[], manifestBefore: unknown, manifestAfter: unknown): DataDiff {
  const a = new Map(before.map((i) => [key(i), i]));
  const b = new Map(after.map((i) => [key(i), i]));
  const added: ItemRef[] = [];
  const removed: ItemRef[] = [];
  const modified: ItemRef[] = [];
  const relabels = new Map<string, RelabelGroup>();
  const moves = new Map<string, SetMove>();
  const bySource: DataDiff['bySource'] = {};
  const src = (s: string) => (bySource[s] ??= { added: 0, removed: 0, modified: 0, relabelled: 0, moved: 0 });
  let relabelledCount = 0;
  let movedCount = 0;
  for (const [k, it] of b) {
    const old = a.get(k);
    const ref = { path: k, label: it.label, set: it.set };
    if (!old) {
      added.push(ref);
      src(it.source).added++;
      continue;
    }
    if (old.oid !== it.oid) {
      modified.push(ref);
      src(it.source).modified++;
    }
    if (old.label !== it.label) {
      const g = `${old.label}\u0000${it.label}`;
      let group = relabels.get(g);
      if (!group) relabels.set(g, (group = { from: old.label, to: it.label, count: 0, examples: [] }));
      group.count++;
      if (group.examples.length < EXAMPLES) group.examples.push(k);
      relabelledCount++;
      src(it.source).relabelled++;
    }
    if (old.set !== it.set && old.oid === it.oid) {
      const g = `${old.set}\u0000${it.set}`;
      let move = moves.get(g);
      if (!move) moves.set(g, (move = { from: old.set, to: it.set, count: 0, examples: [] }));
      move.count++;
      if (move.examples.length < EXAMPLES) move.examples.push(k);
      movedCount++;
      src(it.source).moved++;
    }
  }
  for (const [k, it] of a) {
    if (!b.has(k)) {
      removed.push({ path: k, label: it.label, set: it.set });
      src(it.source).removed++;
    }
  }
  const byClass: DataDiff['byClass'] = {};
  for (const it of before) (byClass[it.label] ??= { before: 0, after: 0, delta: 0 }).before++;
  for (const it of after) (byClass[it.label] ??= { before: 0, after: 0, delta: 0 }).after++;
  for (const c of Object.values(byClass)) c.delta = c.after - c.before;
  const sortRefs = (r: ItemRef[]) => r.sort((x, y) => compareStrings(x.path, y.path));
  return {
    before: { items: before.length },
    after: { items: after.length },
    added: sortRefs(added),
    removed: sortRefs(removed),
    modified: sortRefs(modified),
    relabelled: [...relabels.values()].sort((x, y) => y.count - x.count || compareStrings(x.from, y.from) || compareStrings(x.to, y.to)),
    relabelledCount,
    moved: [...moves.values()].sort((x, y) => y.count - x.count),
    movedCount,
    bySource,
    byClass: Object.fromEntries(Object.entries(byClass).sort((x, y) => compareStrings(x[0], y[0]))),
    manifest: diffManifest(manifestBefore, manifestAfter),
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Leaf-level changes between two normalised manifests; lists compare whole (steps are ordered). */
export function diffManifest(before: unknown, after: unknown, prefix = ''): ManifestChange[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const out: ManifestChange[] = [];
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort(compareStrings);
    for (const k of keys) {
      const p = prefix ? `${prefix}.${k}` : k;
      const x = before[k];
      const y = after[k];
      if (x === undefined && y !== undefined) out.push({ path: p, kind: 'added', after: y });
      else if (x !== undefined && y === undefined) out.push({ path: p, kind: 'removed', before: x });
      else out.push(...diffManifest(x, y, p));
    }
    return out;
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path: prefix, kind: 'changed', before, after }];
}
