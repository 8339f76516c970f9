import { describe, expect, it } from 'vitest';
import { diffLabelsText, parseLabelsCsv, serializeLabels, setLabelsInCsvText } from './labels-file.js';

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
      [6, "empty label for 'c.png' (every row here must give a label)"],
    ]);
  });

  it("leaves an item with an empty label unlabelled in a source's labels, as a missing row does", () => {
    const r = parseLabelsCsv('path,label,note\na.png,cat,\nb.png,,to do\n"c.png", ,\n', { emptyLabels: 'unlabelled' });
    expect(r.issues).toEqual([]);
    expect([...r.labels]).toEqual([['a.png', 'cat']]);
    // but one path both labelled and left empty is a contradiction, whichever comes first
    const both = parseLabelsCsv('path,label\na.png,cat\na.png,\nb.png,\nb.png,dog\n', { emptyLabels: 'unlabelled' });
    expect(both.issues.map((i) => [i.line, i.message])).toEqual([
      [3, "'a.png' is labelled 'cat' on line 2 and left empty here"],
      [5, "'b.png' is left empty on line 4 and labelled 'dog' here"],
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

describe('diffLabelsText (the journal\'s relabel count)', () => {
  // a small deterministic generator
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const classes = ['bag', 'coat', 'dress'];

  it('agrees with comparing the parsed maps on random edits of a large file', () => {
    for (let round = 0; round < 30; round++) {
      const before = new Map<string, string>();
      for (let i = 0; i < 2000; i++) before.set(`${classes[i % 3]}/img-${String(rand(100000)).padStart(6, '0')}.png`, classes[rand(3)]!);
      const after = new Map(before);
      const keys = [...before.keys()];
      const edits = rand(12);
      for (let e = 0; e < edits; e++) {
        const k = keys[rand(keys.length)]!;
        const kind = rand(3);
        if (kind === 0) after.set(k, classes[(classes.indexOf(after.get(k) ?? 'bag') + 1) % 3]!);
        else if (kind === 1) after.delete(k);
        else after.set(`new/${round}-${e}.png`, classes[rand(3)]!);
      }
      const d = diffLabelsText(serializeLabels(before), serializeLabels(after))!;
      const relabelled = [...before].filter(([p, l]) => after.has(p) && after.get(p) !== l).length;
      expect(d.relabelled).toBe(relabelled);
      expect([...d.removed.keys()].sort()).toEqual([...before.keys()].filter((p) => !after.has(p)).sort());
      expect([...d.added.keys()].sort()).toEqual([...after.keys()].filter((p) => !before.has(p)).sort());
    }
  });

  it('handles empty files, identical files and a change in the last row', () => {
    const empty = serializeLabels(new Map());
    const one = serializeLabels(new Map([['a.png', 'x']]));
    expect(diffLabelsText(empty, empty)).toEqual({ relabelled: 0, removed: new Map(), added: new Map() });
    expect(diffLabelsText(empty, one)).toEqual({ relabelled: 0, removed: new Map(), added: new Map([['a.png', 'x']]) });
    expect(diffLabelsText(one, serializeLabels(new Map([['a.png', 'y']])))!.relabelled).toBe(1);
    expect(diffLabelsText(one, one)!.relabelled).toBe(0);
  });

  it('declines files not in the plain committed form (the caller parses them)', () => {
    const one = serializeLabels(new Map([['a.png', 'x']]));
    expect(diffLabelsText(one, serializeLabels(new Map([['a,b.png', 'x']])))).toBeUndefined();
    expect(diffLabelsText(one, 'path,label\r\na.png,x\r\n')).toBeUndefined();
    expect(diffLabelsText(one, 'path,label\nb.png,x\na.png,y\n')).toBeUndefined(); // not sorted
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
