/**
 * CSV tables of data (table sources): a header line naming the columns, then one row per item.
 * Parsed per RFC 4180 (quotes, embedded commas and line breaks, a BOM) with the line of every
 * row, so problems name their line.
 *
 * Invariant: every problem is reported — a row whose column count differs from the header's,
 * an empty or duplicated column name — never worked around.
 */
import { parse } from 'csv-parse/sync';
import type { Issue } from './parse-yaml.js';

export interface CsvRow {
  /** Line of the row in the file (1-based; the header is line 1). */
  line: number;
  values: string[];
}

export interface CsvTable {
  header: string[];
  rows: CsvRow[];
  issues: Issue[];
}

export function parseCsvTable(text: string): CsvTable {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { info: true, relax_column_count: true, skip_empty_lines: true, bom: true }) as unknown as typeof records;
  } catch (e) {
    const err = e as { message: string; lines?: number };
    return { header: [], rows: [], issues: [{ path: '', line: err.lines, message: `invalid CSV: ${err.message.replace(/^CSV_\w+: /, '')}` }] };
  }
  const issues: Issue[] = [];
  const first = records[0];
  if (!first) return { header: [], rows: [], issues: [{ path: '', line: 1, message: 'empty file: expected a header line naming the columns' }] };
  const header = first.record.map((h) => h.trim());
  const seen = new Set<string>();
  header.forEach((h, i) => {
    if (h === '') issues.push({ path: '', line: 1, col: i + 1, message: `column ${i + 1} of the header has no name` });
    else if (seen.has(h)) issues.push({ path: '', line: 1, message: `column '${h}' is named twice in the header` });
    seen.add(h);
  });
  const rows: CsvRow[] = [];
  for (const { record, info } of records.slice(1)) {
    if (record.length !== header.length) {
      issues.push({ path: '', line: info.lines, message: `expected ${header.length} columns as in the header, got ${record.length}` });
      continue;
    }
    rows.push({ line: info.lines, values: record });
  }
  return { header, rows, issues };
}

/**
 * A JSON Lines table (`.jsonl`): one JSON object per line, its members the row's columns.
 * Columns are the members in order of first appearance; a member a row lacks is empty; strings
 * are taken as they are, numbers and booleans as their JSON text, null as empty. A line that is
 * not an object of such values is an issue at its line. Blank lines are skipped.
 */
export function parseJsonLinesTable(text: string): CsvTable {
  const issues: Issue[] = [];
  const objects: { line: number; values: Map<string, string> }[] = [];
  const header: string[] = [];
  const known = new Set<string>();
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      issues.push({ path: '', line, message: `invalid JSON: ${(e as Error).message}` });
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      issues.push({ path: '', line, message: 'expected a JSON object ({"column": value, …})' });
      return;
    }
    const values = new Map<string, string>();
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v === 'object' && v !== null) {
        issues.push({ path: '', line, message: `member '${k}' is ${Array.isArray(v) ? 'an array' : 'an object'}: expected a string, number, boolean or null` });
        return;
      }
      values.set(k, v === null ? '' : String(v));
      if (!known.has(k)) { known.add(k); header.push(k); }
    }
    objects.push({ line, values });
  });
  if (!objects.length && !issues.length) issues.push({ path: '', line: 1, message: 'empty file: expected one JSON object per line' });
  const rows: CsvRow[] = objects.map((o) => ({ line: o.line, values: header.map((h) => o.values.get(h) ?? '') }));
  return { header, rows, issues };
}
