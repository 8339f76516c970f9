/**
 * Table rows to feature vectors: the one implementation for tables, used by dataset building,
 * training, evaluation and prediction alike.
 *
 * `fitTableEncoding` learns, from the training rows only, how each feature column is encoded:
 * numeric columns are filled (mean, median or 0) when empty and scaled (standard or min-max);
 * categorical columns are one-hot encoded over the categories seen in training (an empty cell
 * is its own category, the most frequent one, or an error). `encodeRow` applies it.
 *
 * Invariants: the encoding is plain data (stored with the model), so prediction encodes a row
 * exactly as training did; the same rows and specification give the same encoding (categories
 * sorted, statistics in float64 then stored); a value that cannot be encoded is an
 * ItemInvalid naming the column, never a silent NaN.
 */
import { InvalidArgument, ItemInvalid } from '../errors/index.js';
import type { TableDecl } from '../manifest/schema.js';

export interface TableSpec {
  /** Feature columns, in output order. */
  features: string[];
  categorical?: string[];
  scale: TableDecl['scale'];
  missing: TableDecl['missing'];
}

export type ColumnEncoding =
  | { column: string; kind: 'numeric'; fill: number | null; offset: number; divisor: number }
  | { column: string; kind: 'categorical'; categories: string[]; fill: string | null };

export interface TableEncoding {
  version: 1;
  columns: ColumnEncoding[];
  /** Length of an encoded row. */
  width: number;
  /** Name of each output feature ('size', 'color=red'…). */
  featureNames: string[];
}

/** The category an empty cell becomes under `missing.categorical: category`. */
export const MISSING_CATEGORY = '';

function isNumeric(v: string): boolean {
  return v.trim() !== '' && Number.isFinite(Number(v.trim()));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function fitTableEncoding(rows: readonly Record<string, string>[], spec: TableSpec): TableEncoding {
  if (rows.length === 0) throw new InvalidArgument('no training rows to learn the table encoding from', { hint: 'check the dataset split: train is empty' });
  const categorical = new Set(spec.categorical ?? spec.features.filter((c) => rows.some((r) => (r[c] ?? '').trim() !== '' && !isNumeric(r[c]!))));
  const columns: ColumnEncoding[] = [];
  const featureNames: string[] = [];
  for (const column of spec.features) {
    const values = rows.map((r) => {
      const v = r[column];
      if (v === undefined) throw new InvalidArgument(`feature column '${column}' is not in the table`, { data: { column } });
      return v.trim();
    });
    if (categorical.has(column)) {
      const present = values.filter((v) => v !== '');
      const counts = new Map<string, number>();
      for (const v of present) counts.set(v, (counts.get(v) ?? 0) + 1);
      const categories = [...counts.keys()].sort();
      let fill: string | null = null;
      if (spec.missing.categorical === 'category') {
        categories.unshift(MISSING_CATEGORY);
        fill = MISSING_CATEGORY;
      } else if (spec.missing.categorical === 'mode') {
        fill = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] ?? null;
      }
      columns.push({ column, kind: 'categorical', categories, fill });
      for (const c of categories) featureNames.push(`${column}=${c === MISSING_CATEGORY ? '(missing)' : c}`);
      continue;
    }
    const nums = values.filter((v) => v !== '').map(Number);
    for (const [i, v] of values.entries()) {
      if (v !== '' && !Number.isFinite(Number(v))) throw new ItemInvalid(`column '${column}' is numeric but row ${i + 1} of the training rows has '${v}'`, { data: { reason: 'not-a-number', column, value: v } });
    }
    const fill = spec.missing.numeric === 'error' ? null
      : spec.missing.numeric === 'zero' ? 0
      : nums.length === 0 ? 0
      : spec.missing.numeric === 'median' ? median(nums) : nums.reduce((a, b) => a + b, 0) / nums.length;
    const filled = values.map((v) => (v === '' ? fill ?? 0 : Number(v)));
    let offset = 0;
    let divisor = 1;
    if (spec.scale === 'standard') {
      offset = filled.reduce((a, b) => a + b, 0) / filled.length;
      const variance = filled.reduce((a, b) => a + (b - offset) ** 2, 0) / filled.length;
      divisor = Math.sqrt(variance) || 1;
    } else if (spec.scale === 'minmax') {
      const min = Math.min(...filled);
      const max = Math.max(...filled);
      offset = min;
      divisor = max - min || 1;
    }
    columns.push({ column, kind: 'numeric', fill, offset, divisor });
    featureNames.push(column);
  }
  return { version: 1, columns, width: featureNames.length, featureNames };
}

/** One row as float32 features. Unknown categories encode as all zeros. */
export function encodeRow(row: Record<string, string>, enc: TableEncoding, out: Float32Array = new Float32Array(enc.width)): Float32Array {
  let k = 0;
  for (const col of enc.columns) {
    const raw = row[col.column];
    if (raw === undefined) throw new ItemInvalid(`the row has no column '${col.column}'`, { data: { reason: 'missing-column', column: col.column } });
    const v = raw.trim();
    if (col.kind === 'numeric') {
      let x: number;
      if (v === '') {
        if (col.fill === null) throw new ItemInvalid(`empty value in column '${col.column}' (missing.numeric: error)`, { data: { reason: 'missing-value', column: col.column } });
        x = col.fill;
      } else {
        x = Number(v);
        if (!Number.isFinite(x)) throw new ItemInvalid(`'${v}' in column '${col.column}' is not a number`, { data: { reason: 'not-a-number', column: col.column, value: v } });
      }
      out[k++] = (x - col.offset) / col.divisor;
    } else {
      let value = v;
      if (value === '') {
        if (col.fill === null) throw new ItemInvalid(`empty value in column '${col.column}' (missing.categorical: error)`, { data: { reason: 'missing-value', column: col.column } });
        value = col.fill;
      }
      const at = col.categories.indexOf(value);
      for (let c = 0; c < col.categories.length; c++) out[k + c] = c === at ? 1 : 0;
      k += col.categories.length;
    }
  }
  return out;
}
