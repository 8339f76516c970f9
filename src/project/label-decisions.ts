/**
 * Label decisions, planned then applied: the edits of committed text files that `d2 label`
 * makes (docs/review.md). `planLabelDecisions` resolves every item and class and checks every
 * rule, reporting all problems at once, and returns the new text of each file to change;
 * `applyLabelPlan` writes them. Nothing is written unless the whole plan could be made.
 *
 * Invariants: a relabel rewrites one row of `d2.sources/<source>.labels.csv` (serializeLabels:
 * sorted, two columns; a first label adds one, and the snapshot's count of labelled items
 * follows) and, for a source labelled from a CSV file, one row of that file; a kept
 * decision is one row of d2.review/kept.csv; a model test, one row of the model tests file. A
 * model test is relabelled only when forced; the test split is never touched silently (a
 * warning says so). Each file is written atomically, and only when its text changes.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DatasetItem, ItemSet } from '../core/dataset.js';
import { InvalidArgument, LabelProtected, LabelsInvalid, PathNotFound } from '../errors/index.js';
import {
  appendLabelRows, isTableSource, KEPT_FILE, labelsPath, MANIFEST_FILE, normalizeItemPath, parseKeptCsv, serializeKeptCsv,
  serializeLabels, serializeSnapshot, setLabelsInCsvText, setModelTestsInManifestText, snapshotPath, suggest, type DecisionKind, type KeptItem, type Labels,
} from '../manifest/index.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { isInside, relativePosix } from '../util/paths.js';
import { readStoredReview } from './label-issues.js';
import { loadManifest, type Project } from './project.js';
import { loadState, readWorkingText, resolveStateDataset } from './revision.js';
import { readListing, readWorkingSource } from './sources.js';

/** The model tests file `d2 label --as-model-test` declares when d2.yaml names none. */
export const DEFAULT_MODEL_TESTS_FILE = 'model-tests.csv';

/** One decision about one item, as the user gave it. */
export interface LabelDecision {
  /** The item as written: '<source>/<path in source>', a file path, or a path inside one source. */
  ref: string;
  kind: DecisionKind;
  /** The new label (relabel), or the model test's label (default: the item's own). */
  label?: string;
  /** Where the decision comes from, for messages ('decisions.csv:4'). */
  origin?: string;
}

export interface LabelChange {
  path: string;
  from: string;
  to: string;
  /** The item's set: 'test' and 'modelTest' change what the evaluation measures. */
  set: ItemSet;
}

/** What the decisions do (and, once applied, which files they changed). */
export interface LabelOutcome {
  relabelled: LabelChange[];
  kept: { path: string; label: string; suggested: string | null }[];
  modelTests: { path: string; label: string; from: ItemSet }[];
  /** Decisions that changed nothing, with why. */
  unchanged: { path: string; reason: string }[];
  warnings: string[];
  /** Files written, relative to the project root. */
  files: string[];
}

export interface LabelPlan {
  outcome: LabelOutcome;
  /** New text of each file to change, by path relative to the project root. */
  writes: Map<string, string>;
}

/** Resolves what a user wrote to the dataset's items; a string is why it could not. */
function itemFinder(project: Project, items: readonly DatasetItem[], base: string): (ref: string) => DatasetItem | string {
  const byKey = new Map(items.map((it) => [`${it.source}/${it.path}`, it]));
  const byPath = new Map<string, DatasetItem[]>();
  for (const it of items) byPath.set(it.path, [...(byPath.get(it.path) ?? []), it]);
  const sources = Object.entries(project.manifest.sources).filter(([, d]) => !isTableSource(d));
  return (ref) => {
    const key = normalizeItemPath(ref);
    const direct = byKey.get(key);
    if (direct) return direct;
    const abs = path.resolve(base, ref);
    for (const [name, decl] of sources) {
      const root = path.resolve(project.root, decl.path);
      if (abs !== root && isInside(root, abs)) {
        const it = byKey.get(`${name}/${relativePosix(root, abs)}`);
        if (it) return it;
      }
    }
    const inSource = byPath.get(key) ?? [];
    if (inSource.length === 1) return inSource[0]!;
    if (inSource.length > 1) return `'${ref}' is in several sources (${inSource.map((i) => `'${i.source}/${i.path}'`).join(', ')}): give one`;
    return `'${ref}' is not an item of the dataset`;
  };
}

/**
 * Plan decisions about the working tree's items. `base` is the folder file paths are relative
 * to; `force` allows relabelling model tests. Throws (PathNotFound, InvalidArgument,
 * LabelProtected, LabelsInvalid) with every problem of its kind at once. Expects the lock held.
 */
export async function planLabelDecisions(project: Project, decisions: readonly LabelDecision[], options: { base: string; force?: boolean }): Promise<LabelPlan> {
    const state = await loadState(project);
    const resolved = await resolveStateDataset(project, state);
    const classes = resolved.classes;
    // Unlabelled items (the pool 'd2 suggest' ranks) can be given a label too: their label is
    // '' until then, and they are in no split yet ('train' stands in: no split warning applies).
    const pool = resolved.unlabelled.map((u): DatasetItem => ({ ...u, label: '', set: 'train' }));
    const find = itemFinder(project, [...resolved.items, ...pool], options.base);

    const missing: string[] = [];
    const badClass: string[] = [];
    const protectedItems: string[] = [];
    const refused: string[] = [];
    const result: LabelOutcome = { relabelled: [], kept: [], modelTests: [], unchanged: [], warnings: [], files: [] };
    const labelEdits = new Map<string, Map<string, string>>(); // source → path in source → label
    const testEdits = new Map<string, string>(); // model test row path → label
    const testRows: [string, string][] = [];
    const keptNow = new Map<string, KeptItem>();
    const seen = new Map<string, string>();
    const manifest = project.manifest;
    const lastReview = readStoredReview(project.store, project.store.state.readPointer('review', 'working'));

    const checkClass = (c: string, where: string): boolean => {
      if (classes.includes(c)) {
        const mapped = Object.prototype.hasOwnProperty.call(manifest.dataset.labelMap, c) ? manifest.dataset.labelMap[c] : c;
        if (mapped === c) return true;
        badClass.push(`${where}'dataset.labelMap' in d2.yaml turns '${c}' into ${mapped === null ? 'nothing (dropped)' : `'${mapped}'`}`);
        return false;
      }
      const dym = suggest(c, classes);
      badClass.push(`${where}unknown class '${c}'${dym ? ` (did you mean '${dym}'?)` : ''}`);
      return false;
    };

    for (const d of decisions) {
      const where = d.origin ? `${d.origin}: ` : ''; // a CSV row's location; a path given on the command line names itself
      const found = find(d.ref);
      if (typeof found === 'string') {
        missing.push(d.origin ? `${d.origin}: ${found}` : found);
        continue;
      }
      const it = found;
      const key = `${it.source}/${it.path}`;
      const decided = `${d.kind} ${d.label ?? ''}`;
      if (seen.has(key) && seen.get(key) !== decided) {
        refused.push(`${where}'${key}' has two decisions ('${seen.get(key)!.trim()}' and '${decided.trim()}')`);
        continue;
      }
      if (seen.has(key)) continue;
      seen.set(key, decided);
      const decl = manifest.sources[it.source]!;

      if (d.kind === 'keep') {
        if (it.set === 'modelTest') {
          result.unchanged.push({ path: key, reason: 'a model test: its label is already the one insisted on' });
          continue;
        }
        const suspect = lastReview?.suspects.find((s) => s.path === key && s.oid === it.oid && s.label === it.label);
        if (!suspect) result.warnings.push(`'${key}' is not among the suspects of the last review of the working tree: kept whatever is suggested`);
        keptNow.set(key, { path: key, label: it.label, suggested: suspect?.suggested ?? null, item: it.oid });
        result.kept.push({ path: key, label: it.label, suggested: suspect?.suggested ?? null });
        continue;
      }

      const to = d.label ?? it.label;
      if (!checkClass(to, where)) continue;

      if (d.kind === 'model-test') {
        if (it.set === 'modelTest') {
          if (to === it.label) {
            result.unchanged.push({ path: key, reason: 'already a model test' });
            continue;
          }
          // A model test's label changes: as for a relabel, only when forced.
        } else {
          if (it.set === 'test') result.warnings.push(`'${key}' moves from the test split to the model tests: the test split loses it`);
          testRows.push([key, to]);
          result.modelTests.push({ path: key, label: to, from: it.set });
          if (to !== it.label) result.warnings.push(`'${key}' is a model test labelled '${to}', but its own label stays '${it.label}' (relabel it too if that is wrong)`);
          continue;
        }
      }

      if (to === it.label) {
        result.unchanged.push({ path: key, reason: `already labelled '${to}'` });
        continue;
      }
      if (it.set === 'modelTest') {
        if (!options.force) {
          protectedItems.push(key);
          continue;
        }
        testEdits.set(key, to);
        result.warnings.push(`'${key}' is a model test: its insisted label changes from '${it.label}' to '${to}'`);
        result.relabelled.push({ path: key, from: it.label, to, set: it.set });
        continue;
      }
      if (isTableSource(decl)) {
        refused.push(`${where}'${key}' is a row of the table '${decl.path}': its label is the column '${decl.labelColumn ?? ''}' of the data itself (edit it there, then 'd2 add ${decl.path}')`);
        continue;
      }
      if (it.set === 'test') result.warnings.push(`'${key}' is in the test split: relabelling it changes what the test score measures`);
      const edits = labelEdits.get(it.source) ?? new Map<string, string>();
      edits.set(it.path, to);
      labelEdits.set(it.source, edits);
      result.relabelled.push({ path: key, from: it.label, to, set: it.set });
    }

    if (missing.length) {
      throw new PathNotFound(missing.length > 1 ? `${missing[0]} (and ${missing.length - 1} more)` : missing[0]!, {
        data: { problems: missing },
        hint: "give items as 'd2 review' lists them ('<source>/<path in source>'), or as paths of their files",
      });
    }
    if (badClass.length) throw new InvalidArgument(badClass.length > 1 ? `${badClass[0]} (and ${badClass.length - 1} more)` : badClass[0]!, { data: { option: 'as', problems: badClass, classes } });
    if (refused.length) throw new InvalidArgument(refused.length > 1 ? `${refused[0]} (and ${refused.length - 1} more)` : refused[0]!, { data: { problems: refused } });
    if (protectedItems.length) {
      throw new LabelProtected(`${protectedItems.length > 1 ? `${protectedItems.length} items are model tests` : `'${protectedItems[0]}' is a model test`}: its label is the one the data manager insists on`, {
        data: { items: protectedItems },
        hint: `change it only if the model test itself is wrong: run again with option 'force' (or edit '${manifest.dataset.modelTests ?? ''}')`,
      });
    }

    // Apply: every text first, then the writes.
    const writes = new Map<string, string>();
    const put = (rel: string, text: string): void => {
      if (readWorkingText(project, rel) !== text) writes.set(rel, text);
    };
    for (const [source, edits] of labelEdits) {
      const working = readWorkingSource(project, source);
      const labels: Labels = new Map(working?.labels ?? []);
      for (const [p, l] of edits) labels.set(p, l);
      put(labelsPath(source), serializeLabels(labels));
      // The snapshot counts the labelled items (what `d2 log` reads): a first label changes it.
      if (working && project.store.has(working.snapshot.listing)) {
        const labelled = readListing(project.store, working.snapshot.listing).filter((e) => labels.has(e.path)).length;
        if (labelled !== working.snapshot.labelled) put(snapshotPath(source), serializeSnapshot({ ...working.snapshot, labelled }));
      }
      const file = manifest.sources[source]!.labels;
      if (file !== undefined && file !== 'dirname') {
        const text = readWorkingText(project, file) ?? 'path,label\n';
        const changed = setLabelsInCsvText(text, edits);
        put(file, changed.missing.length ? appendLabelRows(changed.text, changed.missing.map((p) => [p, edits.get(p)!])) : changed.text);
      }
    }
    if (keptNow.size) {
      const text = readWorkingText(project, KEPT_FILE);
      const parsed = text === undefined ? { kept: [], issues: [] } : parseKeptCsv(text);
      if (parsed.issues.length) throw new LabelsInvalid(parsed.issues[0]!, { data: { file: KEPT_FILE, issues: parsed.issues } });
      const all = new Map(parsed.kept.map((k) => [k.path, k]));
      for (const [k, v] of keptNow) all.set(k, v);
      put(KEPT_FILE, serializeKeptCsv([...all.values()]));
    }
    if (testRows.length || testEdits.size) {
      const file = manifest.dataset.modelTests ?? DEFAULT_MODEL_TESTS_FILE;
      if (manifest.dataset.modelTests === undefined) {
        if (readWorkingText(project, file) !== undefined) {
          throw new InvalidArgument(`'${file}' exists but d2.yaml does not name it as 'dataset.modelTests'`, { hint: `declare it in d2.yaml ('dataset.modelTests: ${file}') or move it away` });
        }
        const text = setModelTestsInManifestText(project.manifestText, file);
        loadManifest(text);
        put(MANIFEST_FILE, text);
      }
      let text = readWorkingText(project, file);
      if (testEdits.size) text = setLabelsInCsvText(text ?? '', testEdits).text;
      put(file, testRows.length ? appendLabelRows(text, testRows) : text!);
    }
    return { outcome: result, writes };
}

/** Write a plan's files (each atomically); returns the plan's outcome with the files written. */
export function applyLabelPlan(project: Project, plan: LabelPlan): LabelOutcome {
  for (const [rel, text] of plan.writes) {
    fs.mkdirSync(path.dirname(path.join(project.root, rel)), { recursive: true });
    writeFileAtomicSync(path.join(project.root, rel), text);
  }
  return { ...plan.outcome, files: [...plan.writes.keys()].sort() };
}
