import { describe, expect, it } from 'vitest';
import { diffFiles, diffLabels, isEmptyFileChanges } from './changes.js';

const e = (path: string, oid: string) => ({ path, oid: oid.repeat(64).slice(0, 64), size: 1 });

describe('diffFiles', () => {
  it('finds added, modified, deleted and renamed files', () => {
    const before = [e('a', '1'), e('b', '2'), e('c', '3'), e('shirt/x', '4')];
    const after = [e('a', '1'), e('b', '9'), e('d', '5'), e('top/x', '4')];
    expect(diffFiles(before, after)).toEqual({
      added: ['d'],
      modified: ['b'],
      deleted: ['c'],
      renamed: [{ from: 'shirt/x', to: 'top/x' }],
    });
  });

  it('pairs each deleted copy with at most one new path', () => {
    const c = diffFiles([e('a', '1')], [e('b', '1'), e('c', '1')]);
    expect(c.renamed).toEqual([{ from: 'a', to: 'b' }]);
    expect(c.added).toEqual(['c']);
    expect(c.deleted).toEqual([]);
  });

  it('reports nothing for equal sides', () => {
    expect(isEmptyFileChanges(diffFiles([e('a', '1')], [e('a', '1')]))).toBe(true);
  });
});

describe('diffLabels', () => {
  it('reports label changes of items on both sides and of moved items', () => {
    const before = new Map([['a', 'cat'], ['b', 'dog'], ['c', 'cat'], ['old/m', 'x']]);
    const after = new Map([['a', 'cat'], ['b', 'wolf'], ['new/m', 'y']]);
    expect(diffLabels(before, after, ['a', 'b', 'c'], [{ from: 'old/m', to: 'new/m' }])).toEqual([
      { path: 'b', from: 'dog', to: 'wolf' },
      { path: 'c', from: 'cat', to: null },
      { path: 'new/m', from: 'x', to: 'y', previousPath: 'old/m' },
    ]);
  });
});
