import { describe, expect, it } from 'vitest';
import { parseKeptCsv, serializeKeptCsv, type KeptItem } from './review-file.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('kept decisions (d2.review/kept.csv)', () => {
  it('round-trips, one row per item sorted by path', () => {
    const kept: KeptItem[] = [
      { path: 'img/z.png', label: 'cat', suggested: 'dog', item: A },
      { path: 'img/a b.png', label: 'dog', suggested: null, item: B },
    ];
    const text = serializeKeptCsv(kept);
    expect(text).toBe(`path,label,suggested,item\nimg/a b.png,dog,,${B}\nimg/z.png,cat,dog,${A}\n`);
    expect(parseKeptCsv(text)).toEqual({ kept: [kept[1], kept[0]], issues: [] });
  });

  it('reports every bad row with its line, all at once', () => {
    const text = `path,label,suggested,item\n../x.png,cat,,${A}\nimg/y.png,,dog,${A}\nimg/z.png,cat,dog,nothex\nimg/w.png,cat,,${A}\nimg/w.png,cat,,${B}\n`;
    const { kept, issues } = parseKeptCsv(text);
    expect(kept.map((k) => k.path)).toEqual(['img/w.png']);
    expect(issues).toEqual([
      expect.stringMatching(/^d2\.review\/kept\.csv:2:.*unsafe path '\.\.\/x\.png'/),
      expect.stringMatching(/^d2\.review\/kept\.csv:3:.*empty label for 'img\/y\.png'/),
      expect.stringMatching(/^d2\.review\/kept\.csv:4:.*'nothex' is not an item hash/),
      expect.stringMatching(/^d2\.review\/kept\.csv:6:.*'img\/w\.png' is listed twice/),
    ]);
  });

  it('needs the header', () => {
    expect(parseKeptCsv('path,label\nimg/x.png,cat\n').issues[0]).toMatch(/header must name the columns/);
  });
});
