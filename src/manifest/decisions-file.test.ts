import { describe, expect, it } from 'vitest';
import { parseDecisionsCsv, serializeDecisionsCsv } from './decisions-file.js';

const CLASSES = ['bag', 'coat', 'shirt', 'sneaker'];

describe('decisions CSV', () => {
  it('reads path,label with an optional decision (empty = relabel)', () => {
    const r = parseDecisionsCsv('path,label,decision\n./images/a.png,shirt,\nimages\\b.png, coat ,keep\nimages/c.png,bag,model-test\n', 'decisions.csv', { classes: CLASSES });
    expect(r.issues).toEqual([]);
    expect(r.decisions).toEqual([
      { line: 2, path: 'images/a.png', label: 'shirt', decision: 'relabel' },
      { line: 3, path: 'images/b.png', label: 'coat', decision: 'keep' },
      { line: 4, path: 'images/c.png', label: 'bag', decision: 'model-test' },
    ]);
  });

  it('reads two-column files and ignores extra columns, in any order', () => {
    expect(parseDecisionsCsv('path,label\na.png,bag\n', 'd.csv').decisions).toEqual([{ line: 2, path: 'a.png', label: 'bag', decision: 'relabel' }]);
    expect(parseDecisionsCsv('why,Label,confidence,PATH\n"close call, really",bag,0.4,a.png\n', 'd.csv').decisions).toEqual([{ line: 2, path: 'a.png', label: 'bag', decision: 'relabel' }]);
  });

  it('round-trips a suggestions file', () => {
    const text = serializeDecisionsCsv([
      { path: 'images/a.png', label: 'shirt', predicted: 'shirt', confidence: 0.41, why: "top two classes close: 'shirt' 0.41, 'coat' 0.37" },
      { path: 'images/b,c.png', label: 'bag', decision: 'keep' },
    ]);
    expect(text.split('\n')[0]).toBe('path,label,decision,predicted,confidence,why');
    expect(parseDecisionsCsv(text, 'suggest.csv', { classes: CLASSES })).toEqual({
      decisions: [
        { line: 2, path: 'images/a.png', label: 'shirt', decision: 'relabel' },
        { line: 3, path: 'images/b,c.png', label: 'bag', decision: 'keep' },
      ],
      issues: [],
    });
  });

  it('reports every problem with its line', () => {
    const text = [
      'path,label,decision',
      'a.png,snaeker,',
      ',bag,',
      'b.png,,keep',
      'c.png,bag,kep',
      'd.png,bag,delete',
      'e.png,bag',
      'f.png,bag,',
      'f.png,coat,',
      'f.png,bag,relabel',
    ].join('\n');
    const r = parseDecisionsCsv(text, 'decisions.csv', { classes: CLASSES });
    expect(r.issues).toEqual([
      { line: 2, message: "decisions.csv:2:1: unknown class 'snaeker' for 'a.png' (did you mean 'sneaker'?)" },
      { line: 3, message: 'decisions.csv:3:1: empty path' },
      { line: 4, message: "decisions.csv:4:1: empty label for 'b.png' (leave the row out to skip an item)" },
      { line: 5, message: "decisions.csv:5:1: unknown decision 'kep' for 'c.png' (did you mean 'keep'?)" },
      { line: 6, message: "decisions.csv:6:1: unknown decision 'delete' for 'd.png' (expected relabel, keep, model-test or nothing)" },
      { line: 7, message: 'decisions.csv:7:1: expected 3 columns as in the header, got 2' },
      { line: 9, message: "decisions.csv:9:1: 'f.png' is 'relabel bag' on line 8 and 'relabel coat' here" },
    ]);
    expect(r.decisions).toEqual([{ line: 8, path: 'f.png', label: 'bag', decision: 'relabel' }]);
  });

  it('needs the path and label columns', () => {
    expect(parseDecisionsCsv('file,class\na.png,bag\n', 'd.csv').issues).toEqual([
      { line: 1, message: "d.csv:1:1: header must name the columns 'path' and 'label' (and optionally 'decision'), got 'file,class'" },
    ]);
    expect(parseDecisionsCsv('', 'd.csv').issues[0]!.message).toBe('d.csv:1:1: empty file: expected a header line naming the columns');
    expect(parseDecisionsCsv('path,label\n"a.png,bag\n', 'd.csv').issues[0]!.message).toMatch(/^d\.csv(:\d+:1)?: invalid CSV: /);
  });
});
