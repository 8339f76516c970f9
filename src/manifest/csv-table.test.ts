import { describe, expect, it } from 'vitest';
import { parseCsvTable, parseJsonLinesTable } from './csv-table.js';

describe('parseCsvTable', () => {
  it('reads rows with their lines, quotes and embedded line breaks included', () => {
    const t = parseCsvTable('a,b,c\n1,"x, y",3\n4,"multi\nline",6\n');
    expect(t.issues).toEqual([]);
    expect(t.header).toEqual(['a', 'b', 'c']);
    expect(t.rows).toEqual([{ line: 2, values: ['1', 'x, y', '3'] }, { line: 4, values: ['4', 'multi\nline', '6'] }]);
  });

  it('reports rows with the wrong column count and bad headers, with their lines', () => {
    const t = parseCsvTable('a,a,\n1,2,3\n4,5\n6,7,8,9\n');
    expect(t.issues.map((i) => [i.line, i.message])).toEqual([
      [1, "column 'a' is named twice in the header"],
      [1, 'column 3 of the header has no name'],
      [3, 'expected 3 columns as in the header, got 2'],
      [4, 'expected 3 columns as in the header, got 4'],
    ]);
    expect(t.rows).toHaveLength(1);
  });
});

describe('parseJsonLinesTable', () => {
  it('reads one object per line: columns in order of first appearance, missing members empty', () => {
    const t = parseJsonLinesTable('\uFEFF{"id": 1, "body": "a, b", "ok": true}\n\n{"body": "c", "team": null, "id": "x"}\n');
    expect(t.issues).toEqual([]);
    expect(t.header).toEqual(['id', 'body', 'ok', 'team']);
    expect(t.rows).toEqual([{ line: 1, values: ['1', 'a, b', 'true', ''] }, { line: 3, values: ['x', 'c', '', ''] }]);
  });
  it('reports every bad line with its number', () => {
    const t = parseJsonLinesTable('{"a": 1}\nnot json\n[1, 2]\n{"a": {"b": 1}}\n');
    expect(t.issues.map((i) => [i.line, i.message.replace(/:.*/, '')])).toEqual([[2, 'invalid JSON'], [3, 'expected a JSON object ({"column"'], [4, "member 'a' is an object"]]);
    expect(parseJsonLinesTable('\n').issues[0]!.message).toMatch(/empty file/);
  });
});
