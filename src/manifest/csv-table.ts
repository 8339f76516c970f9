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
