import { describe, expect, it } from 'vitest';
import { parseLabelsCsv, serializeLabels } from './labels-file.js';

describe('labels CSV', () => {
  it('serialises sorted, two columns, quoting where needed, and parses back', () => {
    const labels = new Map([['b/2.png', 'dog'], ['a/1.png', 'cat'], ['c,3.png', 'a "quoted" label']]);
    const text = serializeLabels(labels);
    expect(text.split('\n')[0]).toBe('path,label');
    expect(text.split('\n')[1]).toBe('a/1.png,cat');
    const back = parseLabelsCsv(text);
    expect(back.issues).toEqual([]);
    expect(back.labels).toEqual(labels);
  });

  it('takes the path and label columns by name from wider CSVs', () => {
    const r = parseLabelsCsv('id,Label,path\n1,cat,./x.png\n2,dog,y.png\n');
    expect(r.issues).toEqual([]);
    expect([...r.labels]).toEqual([['x.png', 'cat'], ['y.png', 'dog']]);
  });

  it('reports every problem with its line', () => {
    const r = parseLabelsCsv('path,label\na.png,cat\na.png,dog\nb.png\n,cat\nc.png,\n');
    expect(r.issues.map((i) => [i.line, i.message])).toEqual([
      [3, "'a.png' is labelled 'cat' on line 2 and 'dog' here"],
      [4, 'expected 2 columns as in the header, got 1'],
      [5, 'empty path'],
      [6, "empty label for 'c.png' (leave the row out to keep an item unlabelled)"],
    ]);
  });

  it('requires a header naming path and label', () => {
    expect(parseLabelsCsv('file,class\nx,y\n').issues[0]?.message).toMatch(/header must name the columns 'path' and 'label'/);
    expect(parseLabelsCsv('').issues[0]?.message).toMatch(/empty file/);
  });
});

describe('labels CSV fast path', () => {
  it('gives the same labels as the general parser on plain files, and defers to it otherwise', () => {
    const plain = 'path,label\na/1.png,cat\nb/2.png,dog\n';
    expect([...parseLabelsCsv(plain).labels]).toEqual([['a/1.png', 'cat'], ['b/2.png', 'dog']]);
    // a space around a field, a duplicate, a missing label: the general parser reports them
    expect(parseLabelsCsv('path,label\na.png,cat \n').labels.get('a.png')).toBe('cat');
    expect(parseLabelsCsv('path,label\na.png,cat\na.png,dog\n').issues).toHaveLength(1);
    expect(parseLabelsCsv('path,label\na.png,\n').issues).toHaveLength(1);
    expect(parseLabelsCsv('path,label\n\na.png,cat\n').labels.get('a.png')).toBe('cat');
  });
});
