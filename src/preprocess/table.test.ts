import { describe, expect, it } from 'vitest';
import { encodeRow, fitTableEncoding, type TableSpec } from './table.js';

const rows = [
  { size: '1', color: 'red', note: '' },
  { size: '3', color: 'blue', note: 'x' },
  { size: '', color: '', note: 'y' },
  { size: '5', color: 'red', note: '' },
];
const spec: TableSpec = { features: ['size', 'color'], scale: 'standard', missing: { numeric: 'mean', categorical: 'category' } };

describe('table encoding', () => {
  it('fills, scales with train statistics and one-hot encodes', () => {
    const enc = fitTableEncoding(rows, spec);
    expect(enc.featureNames).toEqual(['size', 'color=(missing)', 'color=blue', 'color=red']);
    // size: filled with the mean 3 → [1,3,3,5]; mean 3, population std sqrt(2)
    const col = enc.columns[0]!;
    expect(col).toMatchObject({ kind: 'numeric', fill: 3, offset: 3 });
    expect((col as { divisor: number }).divisor).toBeCloseTo(Math.SQRT2, 12);
    expect([...encodeRow(rows[0]!, enc)].map((x) => +x.toFixed(5))).toEqual([+(-2 / Math.SQRT2).toFixed(5), 0, 0, 1]);
    expect([...encodeRow(rows[2]!, enc)]).toEqual([0, 1, 0, 0]);
    // a category never seen in training: all zeros
    expect([...encodeRow({ size: '3', color: 'green' }, enc)]).toEqual([0, 0, 0, 0]);
  });

  it('follows the declared rules for missing values and scaling', () => {
    const median = fitTableEncoding(rows, { ...spec, scale: 'none', missing: { numeric: 'median', categorical: 'mode' } });
    expect(encodeRow(rows[2]!, median)[0]).toBe(3);
    expect(median.featureNames).toEqual(['size', 'color=blue', 'color=red']);
    expect([...encodeRow(rows[2]!, median)].slice(1)).toEqual([0, 1]); // the mode, red
    const minmax = fitTableEncoding(rows, { ...spec, scale: 'minmax', missing: { numeric: 'zero', categorical: 'category' } });
    expect(encodeRow({ size: '5', color: 'red' }, minmax)[0]).toBe(1);
    expect(encodeRow({ size: '', color: 'red' }, minmax)[0]).toBe(0);
    const strict = fitTableEncoding(rows.filter((r) => r.size !== ''), { ...spec, missing: { numeric: 'error', categorical: 'error' } });
    expect(() => encodeRow({ size: '', color: 'red' }, strict)).toThrow(expect.objectContaining({ code: 'ItemInvalid', message: "empty value in column 'size' (missing.numeric: error)" }));
    expect(() => encodeRow({ size: 'abc', color: 'red' }, strict)).toThrow(expect.objectContaining({ data: expect.objectContaining({ reason: 'not-a-number' }) }));
  });

  it('treats a column with any non-numeric training value as categorical unless told', () => {
    const enc = fitTableEncoding([{ a: '1' }, { a: 'two' }], { ...spec, features: ['a'] });
    expect(enc.columns[0]!.kind).toBe('categorical');
    expect(() => fitTableEncoding([{ a: '1' }, { a: 'two' }], { ...spec, features: ['a'], categorical: [] })).toThrow(/is numeric but row 2/);
  });
});
