/**
 * Label decisions as plain CSV, both ways: `d2 suggest` can write the suggested items as
 * `path,label,decision,…` (the label prefilled with the model's prediction) for someone to
 * correct in a spreadsheet, and `d2 label --from decisions.csv` reads them back.
 *
 * Columns: `path` and `label` are required; `decision` is optional, one of `relabel` (the
 * default, also when empty), `keep` (the current label is right) or `model-test` (keep the item
 * as a model test with this label). Any other column (`predicted`, `confidence`, `why`…) is
 * ignored on reading, so a suggestions file round-trips. Paths are relative to the source
 * folder, as in labels files. The CSV dialect is the one of every d2 CSV (csv-table.ts).
 *
 * Invariants: every problem is reported with its file and line, all at once; a path given
 * twice with different labels or decisions is an error, never "the last one wins".
 */
import { stringify } from 'csv-stringify/sync';
import { parseCsvTable } from './csv-table.js';
import { normalizeItemPath } from './labels-file.js';
import { formatIssue, suggest } from './parse-yaml.js';

export type DecisionKind = 'relabel' | 'keep' | 'model-test';
export const DECISION_KINDS: readonly DecisionKind[] = ['relabel', 'keep', 'model-test'];

export interface CsvDecision {
  /** Line of the row (1-based; the header is line 1). */
  line: number;
  path: string;
  label: string;
  decision: DecisionKind;
}

export interface DecisionsCsvIssue {
  line?: number;
  /** The printable message, location first: `decisions.csv:3:1: unknown class 'snaeker' (did you mean 'sneaker'?)`. */
  message: string;
}

export interface DecisionsCsvResult {
  decisions: CsvDecision[];
  issues: DecisionsCsvIssue[];
}

/** One row of a suggestions CSV; the columns after `decision` are for the reader only. */
export interface DecisionsCsvRow {
  path: string;
  label: string;
  decision?: DecisionKind;
  predicted?: string;
  confidence?: number;
  why?: string;
}

/**
 * Decisions from CSV text. With `classes`, a label that is not one of them is a problem (with a
 * "did you mean"); without, labels are taken as written (a relabel may introduce a class).
 */
export function parseDecisionsCsv(text: string, file: string, options: { classes?: readonly string[] } = {}): DecisionsCsvResult {
  const table = parseCsvTable(text);
  const issues: DecisionsCsvIssue[] = table.issues.map((i) => ({ ...(i.line === undefined ? {} : { line: i.line }), message: formatIssue(file, i) }));
  const at = (line: number, message: string): void => {
    issues.push({ line, message: formatIssue(file, { path: '', line, message }) });
  };
  const decisions: CsvDecision[] = [];
  if (table.header.length === 0) return { decisions, issues };
  const header = table.header.map((h) => h.toLowerCase());
  const pathCol = header.indexOf('path');
  const labelCol = header.indexOf('label');
  const decisionCol = header.indexOf('decision');
  if (pathCol < 0 || labelCol < 0) {
    at(1, `header must name the columns 'path' and 'label' (and optionally 'decision'), got '${table.header.join(',')}'`);
    return { decisions, issues };
  }
  const classes = options.classes ? new Set(options.classes) : undefined;
  const first = new Map<string, CsvDecision>();
  for (const { line, values } of table.rows) {
    const path = normalizeItemPath(values[pathCol]!);
    const label = values[labelCol]!.trim();
    const raw = decisionCol < 0 ? '' : values[decisionCol]!.trim();
    if (path === '') { at(line, 'empty path'); continue; }
    if (label === '') { at(line, `empty label for '${path}' (leave the row out to skip an item)`); continue; }
    const decision = (raw === '' ? 'relabel' : raw) as DecisionKind;
    if (!DECISION_KINDS.includes(decision)) {
      const didYouMean = suggest(raw, DECISION_KINDS);
      at(line, `unknown decision '${raw}' for '${path}' (${didYouMean ? `did you mean '${didYouMean}'?` : `expected ${DECISION_KINDS.join(', ')} or nothing`})`);
      continue;
    }
    if (classes && !classes.has(label)) {
      const didYouMean = suggest(label, options.classes!);
      at(line, `unknown class '${label}' for '${path}'${didYouMean ? ` (did you mean '${didYouMean}'?)` : ''}`);
      continue;
    }
    const seen = first.get(path);
    if (seen) {
      if (seen.label !== label || seen.decision !== decision) at(line, `'${path}' is '${seen.decision} ${seen.label}' on line ${seen.line} and '${decision} ${label}' here`);
      continue;
    }
    const d: CsvDecision = { line, path, label, decision };
    first.set(path, d);
    decisions.push(d);
  }
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)); // stable: file order, whichever check found them
  return { decisions, issues };
}

/** A suggestions CSV: `path,label,decision,predicted,confidence,why`, rows in the order given. */
export function serializeDecisionsCsv(rows: readonly DecisionsCsvRow[]): string {
  const records = rows.map((r) => [r.path, r.label, r.decision ?? '', r.predicted ?? '', r.confidence === undefined ? '' : String(r.confidence), r.why ?? '']);
  return stringify([['path', 'label', 'decision', 'predicted', 'confidence', 'why'], ...records], { record_delimiter: 'unix' });
}
