import { describe, expect, it } from 'vitest';
import { parseLabelsCsv, serializeLabels, setLabelsInCsvText } from './labels-file.js';

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

describe('labels CSV from an untrusted commit', () => {
  it('reports every unsafe path with its line and column, and keeps none of them', () => {
    const text = [
      'path,label',
      'ok.png,cat',
      '../../etc/passwd,cat',
      '/etc/shadow,dog',
      'a/../../b.png,dog',
      '.git/hooks/pre-commit,cat',
      '"a\u001b[31m.png",cat',
      'C:/x.png,dog',
      '',
    ].join('\n');
    const r = parseLabelsCsv(text);
    expect([...r.labels]).toEqual([['ok.png', 'cat']]);
    expect(r.issues.map((i) => [i.line, i.col, i.message])).toEqual([
      [3, 1, "unsafe path '../../etc/passwd': has a '..' segment"],
      [4, 1, "unsafe path '/etc/shadow': is absolute"],
      [5, 1, "unsafe path 'a/../../b.png': has a '..' segment"],
      [6, 1, "unsafe path '.git/hooks/pre-commit': has a '.git' segment"],
      [7, 1, "unsafe path 'a\\u001b[31m.png': contains the control character U+001B"],
      [8, 1, "unsafe path 'C:/x.png': starts with a drive letter ('C:')"],
    ]);
  });

  it('gives the column of the path field in wider CSVs', () => {
    const r = parseLabelsCsv('id,label,path\n1,cat,../x.png\n"2,3",dog,/abs.png\n');
    expect(r.issues.map((i) => [i.line, i.col, i.message])).toEqual([
      [2, 7, "unsafe path '../x.png': has a '..' segment"],
      [3, 11, "unsafe path '/abs.png': is absolute"],
    ]);
  });

  it('turns Windows separators into / before checking, so ..\\ is caught as ..', () => {
    expect(parseLabelsCsv('path,label\n..\\..\\x.png,cat\n').issues[0]?.message).toBe("unsafe path '../../x.png': has a '..' segment");
    expect([...parseLabelsCsv('path,label\nsub\\x.png,cat\n').labels]).toEqual([['sub/x.png', 'cat']]);
  });

  it('does not let the fast path skip the check', () => {
    // plain two-column text, as the fast path takes it
    const r = parseLabelsCsv('path,label\na.png,cat\n../b.png,dog\n');
    expect(r.labels.has('../b.png')).toBe(false);
    expect(r.issues).toHaveLength(1);
  });

  it('checks model-test rows (<source>/<path>) the same way', () => {
    const r = parseLabelsCsv('path,label\nfashion/shirt/1.png,shirt\nfashion/../../../x,shirt\n', { lines: true });
    expect([...r.labels.keys()]).toEqual(['fashion/shirt/1.png']);
    expect(r.issues.map((i) => i.message)).toEqual(["unsafe path 'fashion/../../../x': has a '..' segment"]);
  });
});

describe('setLabelsInCsvText', () => {
  it('changes only the rows named, each rewritten in place (other columns, order and line ends kept)', () => {
    const text = 'id,Path,note,label\r\n1,"a/x.png",keep me,cat\r\n2,./b/y.png,"q, r",dog\r\n3,c/z.png,,dog\r\n';
    const r = setLabelsInCsvText(text, new Map([['b/y.png', 'cat'], ['a/x.png', 'dog']]));
    expect(r.missing).toEqual([]);
    expect(r.text).toBe('id,Path,note,label\r\n1,a/x.png,keep me,dog\r\n2,./b/y.png,"q, r",cat\r\n3,c/z.png,,dog\r\n');
    expect(parseLabelsCsv(r.text).labels).toEqual(new Map([['a/x.png', 'dog'], ['b/y.png', 'cat'], ['c/z.png', 'dog']]));
  });

  it('keeps LF files LF, a last line without a line break as it is, and reports paths with no row', () => {
    expect(setLabelsInCsvText('path,label\na.png,x\nb.png,y', new Map([['b.png', 'z'], ['n.png', 'z']]))).toEqual({ text: 'path,label\na.png,x\nb.png,z', missing: ['n.png'] });
  });

  it('handles a quoted line break in another row', () => {
    const text = 'path,label,note\na.png,x,"two\nlines"\nb.png,y,\n';
    expect(setLabelsInCsvText(text, new Map([['b.png', 'x']])).text).toBe('path,label,note\na.png,x,"two\nlines"\nb.png,x,\n');
  });

  it('changes nothing in a file without path and label columns', () => {
    expect(setLabelsInCsvText('a,b\n1,2\n', new Map([['1', 'x']]))).toEqual({ text: 'a,b\n1,2\n', missing: ['1'] });
  });
});
