/**
 * Labels files: CSV with a header naming at least the columns `path` and `label`.
 *
 * The committed form (`d2.sources/<source>.labels.csv`) is written only by
 * `serializeLabels`: exactly the two columns, one row per labelled item, sorted by path, so a
 * relabel is a one-line change in `git diff`. User CSVs imported by `d2 add --labels FILE.csv`
 * may have more columns, in any order; paths in both are relative to the source folder.
 *
 * Invariants: parsing reports every problem with its file and line, and never guesses: a path
 * given twice with two labels is an error, not "the last one wins". Every path returned is a
 * safe relative path (core/safe-path.ts: no '..', not absolute, no '.git'/'.d2', no control
 * character), since a committed labels file or model-tests file is untrusted input
 * (docs/security.md); an unsafe one is an issue with its line and column.
 */
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { checkRelativePath, displayPath } from '../core/safe-path.js';
import { compareStrings } from '../util/compare.js';
import type { Issue } from './parse-yaml.js';

export type Labels = Map<string, string>;

export interface LabelsParseResult {
  labels: Labels;
  issues: Issue[];
  /** Line of each path's row (1-based, the header is line 1); absent on the fast path. */
  lines?: Map<string, number>;
}

/**
 * The committed files are plain two-column CSV in the common case (no quotes, no CR): split
 * them directly, which is ~10x faster than a general CSV parse on 100,000-row files. Anything
 * else, and any irregularity, goes through csv-parse, which gives the same answer on the plain
 * case and proper line numbers on every other.
 */
function parsePlain(text: string): Labels | undefined {
  if (text.includes('"') || text.includes('\r')) return undefined;
  const lines = text.split('\n');
  if (lines[0] !== 'path,label') return undefined;
  const labels: Labels = new Map();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') {
      if (i === lines.length - 1) break;
      return undefined;
    }
    const comma = line.indexOf(',');
    if (comma <= 0 || comma === line.length - 1 || line.indexOf(',', comma + 1) >= 0) return undefined;
    const path = line.slice(0, comma);
    const label = line.slice(comma + 1);
    if (path !== path.trim() || label !== label.trim() || path.startsWith('./') || labels.has(path) || checkRelativePath(path) !== undefined) return undefined;
    labels.set(path, label);
  }
  return labels;
}

/**
 * Parse a labels CSV. With `emptyLabels: 'unlabelled'` (a source's labels), a row whose label
 * is empty leaves its item unlabelled, as a missing row does; otherwise (model tests, where
 * every row must say a label) it is an issue.
 */
export function parseLabelsCsv(text: string, options: { lines?: boolean; emptyLabels?: 'unlabelled' | 'error' } = {}): LabelsParseResult {
  const plain = options.lines ? undefined : parsePlain(text);
  if (plain) return { labels: plain, issues: [] };
  const issues: Issue[] = [];
  const labels: Labels = new Map();
  let rows: { record: string[]; info: { lines: number }; raw: string }[];
  try {
    rows = parse(text, { info: true, raw: true, relax_column_count: true, skip_empty_lines: true, bom: true, trim: false }) as unknown as typeof rows;
  } catch (e) {
    const err = e as { message: string; lines?: number };
    return { labels, issues: [{ path: '', line: err.lines, message: `invalid CSV: ${err.message.replace(/^Invalid Record Length: |^CSV_\w+: /, '')}` }] };
  }
  const header = rows[0]?.record.map((h) => h.trim().toLowerCase());
  if (!header) return { labels, issues: [{ path: '', line: 1, message: "empty file: expected a header line 'path,label'" }] };
  const pathCol = header.indexOf('path');
  const labelCol = header.indexOf('label');
  if (pathCol < 0 || labelCol < 0) {
    return { labels, issues: [{ path: '', line: 1, col: 1, message: `header must name the columns 'path' and 'label', got '${rows[0]!.record.join(',')}'` }] };
  }
  const firstLine = new Map<string, number>();
  const emptyLine = new Map<string, number>();
  const keepEmpty = options.emptyLabels === 'unlabelled';
  for (const { record, info, raw } of rows.slice(1)) {
    const line = info.lines;
    if (record.length !== header.length) {
      issues.push({ path: '', line, message: `expected ${header.length} columns as in the header, got ${record.length}` });
      continue;
    }
    const path = normalizeItemPath(record[pathCol]!);
    const label = record[labelCol]!.trim();
    if (path === '') { issues.push({ path: '', line, message: 'empty path' }); continue; }
    const unsafe = checkRelativePath(path);
    if (unsafe !== undefined) {
      const col = fieldColumn(raw, pathCol);
      issues.push({ path: '', line, ...(col !== undefined ? { col } : {}), message: `unsafe path '${displayPath(path)}': ${unsafe}` });
      continue;
    }
    if (label === '') {
      if (!keepEmpty) issues.push({ path: '', line, message: `empty label for '${path}' (every row here must give a label)` });
      else if (labels.has(path)) issues.push({ path: '', line, message: `'${path}' is labelled '${labels.get(path)}' on line ${firstLine.get(path)} and left empty here` });
      else if (!emptyLine.has(path)) emptyLine.set(path, line);
      continue;
    }
    if (emptyLine.has(path)) {
      issues.push({ path: '', line, message: `'${path}' is left empty on line ${emptyLine.get(path)} and labelled '${label}' here` });
      continue;
    }
    const seen = labels.get(path);
    if (seen !== undefined) {
      if (seen !== label) issues.push({ path: '', line, message: `'${path}' is labelled '${seen}' on line ${firstLine.get(path)} and '${label}' here` });
      continue;
    }
    labels.set(path, label);
    firstLine.set(path, line);
  }
  return { labels, issues, lines: firstLine };
}

/**
 * The 1-based character column where field `index` starts in a record's raw text, when the
 * record is on one line (a quoted line break makes columns ambiguous: then undefined).
 */
function fieldColumn(raw: string, index: number): number | undefined {
  const body = raw.replace(/\r?\n$/, '');
  if (body.includes('\n')) return undefined;
  let field = 0;
  let quoted = false;
  for (let i = 0; i < body.length && field < index; i++) {
    const c = body[i];
    if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      field++;
      if (field === index) return i + 2;
    }
  }
  return index === 0 ? 1 : undefined;
}

/** A user-written item path as d2 stores it: trimmed, POSIX separators, no leading './'. */
export function normalizeItemPath(p: string): string {
  let s = p.trim().replace(/\\/g, '/');
  while (s.startsWith('./')) s = s.slice(2);
  return s;
}

export function serializeLabels(labels: ReadonlyMap<string, string>): string {
  const rows = [...labels.entries()].sort((a, b) => compareStrings(a[0], b[0]));
  return stringify([['path', 'label'], ...rows], { record_delimiter: 'unix' });
}

/** Label changes between two committed labels files: `diffLabelsText`'s answer. */
export interface LabelsTextDiff {
  /** Paths on both sides whose label changed. */
  relabelled: number;
  /** Paths only in `before`, with their label. */
  removed: Map<string, string>;
  /** Paths only in `after`, with their label. */
  added: Map<string, string>;
}

const PLAIN_HEADER = 'path,label\n';

/** Length of the longest common run of `a` from `i` and `b` from `j` (doubling, then halving: equal stretches cost a few memcmp). */
function commonRun(a: string, i: number, b: string, j: number): number {
  const max = Math.min(a.length - i, b.length - j);
  let lo = 0;
  let hi = Math.min(256, max);
  while (hi <= max && a.substring(i, i + hi) === b.substring(j, j + hi)) {
    lo = hi;
    if (hi === max) return max;
    hi = Math.min(hi * 2, max);
  }
  // a[i, i+lo) equals; a[i, i+hi) does not
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (a.substring(i + lo, i + mid) === b.substring(j + lo, j + mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * The label changes between two committed labels files (`serializeLabels`'s plain form: header
 * `path,label`, rows sorted by path, no quoting), found by walking both texts and skipping the
 * stretches they share, so two versions of a 100,000-row file that differ in a few rows cost
 * little more than those rows. Undefined when either text is not in that form (the caller
 * parses both then).
 */
export function diffLabelsText(before: string, after: string): LabelsTextDiff | undefined {
  const plain = (t: string): boolean => t.startsWith(PLAIN_HEADER) && !t.includes('"') && !t.includes('\r');
  if (!plain(before) || !plain(after)) return undefined;
  const out: LabelsTextDiff = { relabelled: 0, removed: new Map(), added: new Map() };
  const row = (t: string, at: number): { path: string; label: string; next: number } | undefined => {
    let end = t.indexOf('\n', at);
    if (end < 0) end = t.length;
    const comma = t.indexOf(',', at);
    if (comma <= at || comma >= end - 1) return undefined; // no comma, an empty path or an empty label
    const second = t.indexOf(',', comma + 1);
    if (second >= 0 && second < end) return undefined;
    return { path: t.slice(at, comma), label: t.slice(comma + 1, end), next: end + 1 };
  };
  let i = PLAIN_HEADER.length;
  let j = PLAIN_HEADER.length;
  let prevA: string | undefined;
  let prevB: string | undefined;
  while (i < before.length || j < after.length) {
    const run = commonRun(before, i, after, j);
    if (run > 0) {
      // skip whole shared lines only
      const cut = before.lastIndexOf('\n', i + run - 1);
      if (cut >= i) {
        const shared = cut + 1 - i;
        i += shared;
        j += shared;
      }
    }
    if (i >= before.length && j >= after.length) break;
    const a = i < before.length ? row(before, i) : undefined;
    const b = j < after.length ? row(after, j) : undefined;
    if ((i < before.length && !a) || (j < after.length && !b)) return undefined;
    if ((a && prevA !== undefined && compareStrings(prevA, a.path) >= 0) || (b && prevB !== undefined && compareStrings(prevB, b.path) >= 0)) return undefined;
    const order = !a ? 1 : !b ? -1 : compareStrings(a.path, b.path);
    if (order === 0) {
      if (a!.label !== b!.label) out.relabelled++;
      prevA = a!.path;
      prevB = b!.path;
      i = a!.next;
      j = b!.next;
    } else if (order < 0) {
      out.removed.set(a!.path, a!.label);
      prevA = a!.path;
      i = a!.next;
    } else {
      out.added.set(b!.path, b!.label);
      prevB = b!.path;
      j = b!.next;
    }
  }
  return out;
}

/**
 * A labels CSV with the labels of some paths replaced, every other byte as it was: each row to
 * change is written again (its other columns, in their order, quoted only where CSV needs it),
 * so a relabel is a one-line change of the user's own file (`labels: FILE.csv` sources, the
 * model tests file). Paths are matched as `normalizeItemPath` gives them. Returns the new text
 * and the paths that have no row (the caller decides: add them, or report them).
 */
export function setLabelsInCsvText(text: string, changes: ReadonlyMap<string, string>): { text: string; missing: string[] } {
  if (changes.size === 0) return { text, missing: [] };
  let rows: { record: string[]; raw: string }[];
  try {
    rows = parse(text, { raw: true, relax_column_count: true, skip_empty_lines: true, bom: true, trim: false }) as unknown as typeof rows;
  } catch {
    return { text, missing: [...changes.keys()] }; // unreadable: the caller's parse reports why
  }
  const header = rows[0]?.record.map((h) => h.trim().toLowerCase());
  const pathCol = header?.indexOf('path') ?? -1;
  const labelCol = header?.indexOf('label') ?? -1;
  if (pathCol < 0 || labelCol < 0) return { text, missing: [...changes.keys()] };
  const found = new Set<string>();
  const parts: string[] = [];
  let cursor = 0;
  for (const [i, { record, raw }] of rows.entries()) {
    const at = text.indexOf(raw, cursor);
    if (at < 0) return { text, missing: [...changes.keys()] }; // not where expected: change nothing
    const path = i === 0 ? undefined : normalizeItemPath(record[pathCol] ?? '');
    const label = path === undefined ? undefined : changes.get(path);
    if (label === undefined || record.length <= labelCol) continue;
    const next = record.slice();
    next[labelCol] = label;
    const ending = /[\r\n]+$/.exec(raw)?.[0] ?? ''; // csv-parse's raw keeps some line-break characters
    parts.push(text.slice(cursor, at), stringify([next], { record_delimiter: 'unix' }).replace(/\n$/, ending));
    cursor = at + raw.length;
    found.add(path!);
  }
  parts.push(text.slice(cursor));
  return { text: parts.join(''), missing: [...changes.keys()].filter((p) => !found.has(p)) };
}

/** A labels CSV's text with rows added at its end (a header first when the file is empty or new). */
export function appendLabelRows(text: string | undefined, rows: readonly (readonly [string, string])[]): string {
  const head = text === undefined || text.trim() === '' ? 'path,label\n' : text.endsWith('\n') ? text : `${text}\n`;
  return head + stringify(rows.map((r) => [...r]), { record_delimiter: 'unix' });
}
