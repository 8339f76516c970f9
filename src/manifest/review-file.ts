/**
 * `d2.review/kept.csv`: the suspects a reviewer looked at and kept as labelled (`d2 label
 * --keep`), committed with the data so the decision is reviewed in `git diff` like a relabel.
 *
 * Columns `path,label,suggested,item`: the item (`<source>/<path in source>`), the label it
 * was kept with, the label the review suggested instead (empty: whatever it suggests) and the
 * item's content hash. Together they are the evidence the decision answered: `d2 review` hides
 * a suspect only while its content, its label and the suggestion are the ones kept, so a
 * changed file, a relabel or a new suggestion shows it again.
 *
 * Invariants: written only by `serializeKeptCsv` (one row per item, sorted by path, so each
 * decision is a one-line change); parsing reports every problem with its line, all at once;
 * paths are safe relative paths (the file is committed, so untrusted: docs/security.md).
 */
import { stringify } from 'csv-stringify/sync';
import { checkRelativePath, displayPath, isOid } from '../core/safe-path.js';
import { compareStrings } from '../util/compare.js';
import { parseCsvTable } from './csv-table.js';
import { normalizeItemPath } from './labels-file.js';
import { formatIssue } from './parse-yaml.js';

export const REVIEW_DIR = 'd2.review';
export const KEPT_FILE = `${REVIEW_DIR}/kept.csv`;

export interface KeptItem {
  /** '<source>/<path in source>'. */
  path: string;
  label: string;
  /** The suggestion that was answered; null: any. */
  suggested: string | null;
  /** The item's content hash. */
  item: string;
}

/** Kept items from the file's text; `issues` are printable messages, location first. */
export function parseKeptCsv(text: string, file = KEPT_FILE): { kept: KeptItem[]; issues: string[] } {
  const table = parseCsvTable(text);
  const issues = table.issues.map((i) => formatIssue(file, i));
  const kept: KeptItem[] = [];
  if (!table.header.length) return { kept, issues };
  const col = (name: string) => table.header.findIndex((h) => h.toLowerCase() === name);
  const [pathCol, labelCol, suggestedCol, itemCol] = [col('path'), col('label'), col('suggested'), col('item')];
  if (pathCol < 0 || labelCol < 0 || itemCol < 0) {
    issues.push(formatIssue(file, { path: '', line: 1, message: `header must name the columns 'path', 'label', 'suggested' and 'item', got '${table.header.join(',')}'` }));
    return { kept, issues };
  }
  const seen = new Set<string>();
  for (const { line, values } of table.rows) {
    const at = (message: string) => issues.push(formatIssue(file, { path: '', line, message }));
    const path = normalizeItemPath(values[pathCol] ?? '');
    const label = (values[labelCol] ?? '').trim();
    const suggested = suggestedCol < 0 ? '' : (values[suggestedCol] ?? '').trim();
    const item = (values[itemCol] ?? '').trim();
    const unsafe = checkRelativePath(path);
    if (path === '' || unsafe !== undefined) { at(path === '' ? 'empty path' : `unsafe path '${displayPath(path)}': ${unsafe}`); continue; }
    if (label === '') { at(`empty label for '${path}'`); continue; }
    if (!isOid(item)) { at(`'${String(item).slice(0, 70)}' is not an item hash (64 lower-case hex digits) for '${path}'`); continue; }
    if (seen.has(path)) { at(`'${path}' is listed twice`); continue; }
    seen.add(path);
    kept.push({ path, label, suggested: suggested === '' ? null : suggested, item });
  }
  return { kept, issues };
}

/** The file's text: one row per item, sorted by path. */
export function serializeKeptCsv(kept: readonly KeptItem[]): string {
  const rows = [...kept].sort((a, b) => compareStrings(a.path, b.path)).map((k) => [k.path, k.label, k.suggested ?? '', k.item]);
  return stringify([['path', 'label', 'suggested', 'item'], ...rows], { record_delimiter: 'unix' });
}
