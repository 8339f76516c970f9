/**
 * Table sources: a CSV file whose rows are items. Each row becomes an item whose oid is the
 * hash of its values without the label column (so a relabel keeps the item, as for files),
 * whose path is its `idColumn` value or `row-<oid prefix>`, and whose label is its
 * `labelColumn` value. The CSV itself is stored as one object; rows are not stored apart.
 *
 * JSON Lines files (`.jsonl`) are read the same way, one object per line. A table with a
 * `textColumn` is a text source: its rows' texts are items for `preprocess.text`.
 *
 * Invariant: every malformed row is reported with the file and line; nothing is dropped.
 */
import type { ListingEntry } from '../core/listing.js';
import { sortListing } from '../core/listing.js';
import { firstInvalidUtf8 } from '../core/text.js';
import { ItemInvalid } from '../errors/index.js';
import { formatIssue, parseCsvTable, parseJsonLinesTable, type Issue, type Labels, type SourceDecl } from '../manifest/index.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';

export interface TableItems {
  columns: string[];
  entries: ListingEntry[];
  labels: Labels;
  /** Each item's values by column (label column included), by item oid. */
  rows: Map<string, Record<string, string>>;
}

export function rowOid(values: Record<string, string>, labelColumn: string | undefined): string {
  const rest: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (k !== labelColumn) rest[k] = v;
  return sha256Hex(`d2-row ${canonicalJson(rest)}`);
}

/** Parse a table source's CSV into items; throws ItemInvalid naming every bad line. */
export function readTableItems(text: string, decl: SourceDecl, file: string): TableItems {
  const table = /\.jsonl$/i.test(decl.path) ? parseJsonLinesTable(text) : parseCsvTable(text);
  const issues: Issue[] = [...table.issues];
  const { header } = table;
  for (const [key, col] of [['labelColumn', decl.labelColumn], ['idColumn', decl.idColumn], ['textColumn', decl.textColumn]] as const) {
    if (col !== undefined && header.length && !header.includes(col)) {
      issues.push({ path: '', line: 1, message: `${key} '${col}' is not a column of the header (${header.join(', ')})` });
    }
  }
  const entries: ListingEntry[] = [];
  const labels: Labels = new Map();
  const rows = new Map<string, Record<string, string>>();
  const usedPaths = new Map<string, number>();
  if (!issues.length) {
    for (const row of table.rows) {
      const values: Record<string, string> = {};
      header.forEach((h, i) => { values[h] = row.values[i]!; });
      const oid = rowOid(values, decl.labelColumn);
      let itemPath: string;
      if (decl.idColumn !== undefined) {
        itemPath = values[decl.idColumn]!.trim();
        if (itemPath === '') { issues.push({ path: '', line: row.line, message: `empty id in column '${decl.idColumn}'` }); continue; }
        if (usedPaths.has(itemPath)) { issues.push({ path: '', line: row.line, message: `id '${itemPath}' is also on line ${usedPaths.get(itemPath)}` }); continue; }
      } else {
        const base = `row-${oid.slice(0, 16)}`;
        itemPath = base;
        for (let n = 2; usedPaths.has(itemPath); n++) itemPath = `${base}-${n}`;
      }
      usedPaths.set(itemPath, row.line);
      entries.push({ path: itemPath, oid, size: Buffer.byteLength(canonicalJson(values)) });
      rows.set(oid, values);
      const label = decl.labelColumn !== undefined ? values[decl.labelColumn]!.trim() : '';
      if (label !== '') labels.set(itemPath, label);
    }
  }
  if (issues.length) {
    const lines = issues.map((i) => formatIssue(file, i));
    throw new ItemInvalid(lines.length > 1 ? `${lines[0]} (and ${lines.length - 1} more)` : lines[0]!, {
      data: { reason: 'bad-row', path: file, issues: lines },
      hint: `fix '${file}' and run the command again`,
    });
  }
  return { columns: header, entries: sortListing(entries), labels, rows };
}

/**
 * The text of a table that holds texts, checked as UTF-8 (Node's decoder would put U+FFFD in
 * place of bad bytes, and the model would silently read them): ItemInvalid naming the file's
 * line and byte otherwise.
 */
export function tableText(bytes: Uint8Array, decl: SourceDecl, file: string): string {
  if (decl.textColumn === undefined) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const at = firstInvalidUtf8(bytes);
  if (at < bytes.length) {
    let line = 1;
    for (let i = 0; i < at; i++) if (bytes[i] === 10) line++;
    throw new ItemInvalid(`${file}:${line}: not valid UTF-8 (byte ${at} of the file)`, {
      data: { reason: 'not-utf8', path: file, line, offset: at },
      hint: `save '${file}' as UTF-8 (for example: iconv -f latin1 -t utf-8) and run the command again`,
    });
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
