/**
 * The data diff: what changed in the dataset between two states — items added, removed,
 * modified (same path, new content), renamed (same content, new path) and relabelled, per
 * source and per class; items that moved between train, validation and test (should be none,
 * and is said loudly when not); model tests added and removed; and the manifest's changes as
 * structure (`preprocess.image` changed, `model.preset` changed), not as text. Pure.
 *
 * Invariant: counts (`relabelledCount`, `movedCount`, `bySource`, `byClass`, `modelTests`) are
 * complete; lists may be cut by the caller.
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

export interface Rename {
  from: string;
  to: string;
}

export interface ClassChange {
  before: number;
  after: number;
  delta: number;
  added: number;
  removed: number;
  /** Items relabelled to this class / away from it. */
  relabelledIn: number;
  relabelledOut: number;
}

export interface SourceChange {
  added: number;
  removed: number;
  modified: number;
  renamed: number;
  relabelled: number;
  moved: number;
}

export interface DataDiff {
  /** Item counts on each side. */
  before: { items: number };
  after: { items: number };
  added: ItemRef[];
  removed: ItemRef[];
  modified: ItemRef[];
  /** Same content at another path of the same source (a file moved to another class folder, say). */
  renamed: Rename[];
  relabelled: RelabelGroup[];
  relabelledCount: number;
  /** Items that changed split (train, validation, test); model tests are apart. */
  moved: SetMove[];
  movedCount: number;
  /** Items that became model tests, or stopped being ones ('<source>/<path>'). */
  modelTests: { before: number; after: number; added: string[]; removed: string[] };
  /** Per source: counts of each kind of change (always complete, whatever lists are cut to). */
  bySource: Record<string, SourceChange>;
  /** Per class: items before and after, and the changes that made the difference. */
  byClass: Record<string, ClassChange>;
  manifest: ManifestChange[];
}

const EXAMPLES = 5;

function key(it: DatasetItem): string {
  return `${it.source}/${it.path}`;
}

/**
 * Pair the items of two states by '<source>/<path>', then pair what is left by content within
 * a source (renames); what is still left was added or removed.
 */
export function diffData(before: readonly DatasetItem[], after: readonly DatasetItem[], manifestBefore: unknown, manifestAfter: unknown): DataDiff {
  const a = new Map(before.map((i) => [key(i), i]));
  const b = new Map(after.map((i) => [key(i), i]));
  const added: ItemRef[] = [];
  const removed: ItemRef[] = [];
  const modified: ItemRef[] = [];
  const renamed: Rename[] = [];
  const relabels = new Map<string, RelabelGroup>();
  const moves = new Map<string, SetMove>();
  const bySource: DataDiff['bySource'] = {};
  const byClass: DataDiff['byClass'] = {};
  const src = (s: string) => (bySource[s] ??= { added: 0, removed: 0, modified: 0, renamed: 0, relabelled: 0, moved: 0 });
  const cls = (l: string) => (byClass[l] ??= { before: 0, after: 0, delta: 0, added: 0, removed: 0, relabelledIn: 0, relabelledOut: 0 });
  let relabelledCount = 0;
  let movedCount = 0;

  /** The same item on both sides (same path, or renamed). */
  const pair = (old: DatasetItem, it: DatasetItem) => {
    const k = key(it);
    if (old.label !== it.label) {
      const g = `${old.label}\u0000${it.label}`;
      let group = relabels.get(g);
      if (!group) relabels.set(g, (group = { from: old.label, to: it.label, count: 0, examples: [] }));
      group.count++;
      if (group.examples.length < EXAMPLES) group.examples.push(k);
      relabelledCount++;
      src(it.source).relabelled++;
      cls(old.label).relabelledOut++;
      cls(it.label).relabelledIn++;
    }
    if (old.set !== it.set && old.oid === it.oid && old.set !== 'modelTest' && it.set !== 'modelTest') {
      const g = `${old.set}\u0000${it.set}`;
      let move = moves.get(g);
      if (!move) moves.set(g, (move = { from: old.set, to: it.set, count: 0, examples: [] }));
      move.count++;
      if (move.examples.length < EXAMPLES) move.examples.push(k);
      movedCount++;
      src(it.source).moved++;
    }
  };

  const onlyAfter: DatasetItem[] = [];
  for (const [k, it] of b) {
    const old = a.get(k);
    if (!old) {
      onlyAfter.push(it);
      continue;
    }
    if (old.oid !== it.oid) {
      modified.push({ path: k, label: it.label, set: it.set });
      src(it.source).modified++;
    }
    pair(old, it);
  }
  // Renames: content that left one path of a source and appeared at another.
  const gone = new Map<string, DatasetItem[]>();
  for (const [k, it] of a) {
    if (b.has(k)) continue;
    const g = `${it.source}\u0000${it.oid}`;
    const list = gone.get(g);
    if (list) list.push(it);
    else gone.set(g, [it]);
  }
  for (const list of gone.values()) list.sort((x, y) => compareStrings(y.path, x.path)); // pop() takes the first path
  for (const it of onlyAfter) {
    const old = gone.get(`${it.source}\u0000${it.oid}`)?.pop();
    if (old) {
      renamed.push({ from: key(old), to: key(it) });
      src(it.source).renamed++;
      pair(old, it);
      continue;
    }
    added.push({ path: key(it), label: it.label, set: it.set });
    src(it.source).added++;
    cls(it.label).added++;
  }
  for (const list of gone.values()) {
    for (const it of list) {
      removed.push({ path: key(it), label: it.label, set: it.set });
      src(it.source).removed++;
      cls(it.label).removed++;
    }
  }
  const testsBefore = new Set(before.filter((i) => i.set === 'modelTest').map(key));
  const testsAfter = new Set(after.filter((i) => i.set === 'modelTest').map(key));
  const modelTests = {
    before: testsBefore.size,
    after: testsAfter.size,
    added: [...testsAfter].filter((k) => !testsBefore.has(k)).sort(compareStrings),
    removed: [...testsBefore].filter((k) => !testsAfter.has(k)).sort(compareStrings),
  };
  for (const it of before) cls(it.label).before++;
  for (const it of after) cls(it.label).after++;
  for (const c of Object.values(byClass)) c.delta = c.after - c.before;
  const sortRefs = (r: ItemRef[]) => r.sort((x, y) => compareStrings(x.path, y.path));
  return {
    before: { items: before.length },
    after: { items: after.length },
    added: sortRefs(added),
    removed: sortRefs(removed),
    modified: sortRefs(modified),
    renamed: renamed.sort((x, y) => compareStrings(x.to, y.to)),
    relabelled: [...relabels.values()].sort((x, y) => y.count - x.count || compareStrings(x.from, y.from) || compareStrings(x.to, y.to)),
    relabelledCount,
    moved: [...moves.values()].sort((x, y) => y.count - x.count || compareStrings(x.from, y.from) || compareStrings(x.to, y.to)),
    movedCount,
    modelTests,
    bySource: Object.fromEntries(Object.entries(bySource).sort((x, y) => compareStrings(x[0], y[0]))),
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

/**
 * Classes of one state that the other state renamed or merged away: every item of class X that
 * is still there carries one same label Y, and X is no class of the other state. Then a model
 * of the first state answering X means Y (a model built before `labelMap: {shirt: top}` calls
 * tops 'shirt'). Classes that were split, or whose items all left, are not mapped.
 */
export function classRenames(from: readonly DatasetItem[], to: readonly DatasetItem[]): Record<string, string> {
  const toClasses = new Set(to.map((i) => i.label));
  const byKey = new Map(to.map((i) => [key(i), i]));
  const byOid = new Map(to.map((i) => [i.oid, i]));
  const labels = new Map<string, Set<string>>();
  for (const it of from) {
    if (toClasses.has(it.label)) continue;
    const other = byKey.get(key(it)) ?? byOid.get(it.oid);
    if (!other) continue;
    let set = labels.get(it.label);
    if (!set) labels.set(it.label, (set = new Set()));
    set.add(other.label);
  }
  const out: Record<string, string> = {};
  for (const [x, ys] of [...labels].sort((a, b) => compareStrings(a[0], b[0]))) if (ys.size === 1) out[x] = [...ys][0]!;
  return out;
}
