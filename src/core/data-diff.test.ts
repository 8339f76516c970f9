import { describe, expect, it } from 'vitest';
import { classRenames, diffData, diffManifest } from './data-diff.js';
import type { DatasetItem } from './dataset.js';

const it_ = (path: string, label: string, oid = path, set: DatasetItem['set'] = 'train'): DatasetItem => ({ source: 's', path, oid, size: 1, label, set });

describe('diffData', () => {
  it('finds added, removed, modified, relabelled and moved items, by source and class', () => {
    const before = [it_('a', 'cat'), it_('b', 'cat'), it_('c', 'dog'), it_('d', 'dog'), it_('e', 'dog', 'e', 'test')];
    const after = [it_('a', 'cat'), it_('b', 'dog'), it_('c', 'cat'), it_('d', 'dog', 'd2'), it_('e', 'dog', 'e', 'train'), it_('f', 'bird')];
    const d = diffData(before, after, {}, {});
    expect(d.added.map((r) => r.path)).toEqual(['s/f']);
    expect(d.removed).toEqual([]);
    expect(d.modified.map((r) => r.path)).toEqual(['s/d']);
    expect(d.relabelled).toEqual([
      { from: 'cat', to: 'dog', count: 1, examples: ['s/b'] },
      { from: 'dog', to: 'cat', count: 1, examples: ['s/c'] },
    ]);
    expect(d.moved).toEqual([{ from: 'test', to: 'train', count: 1, examples: ['s/e'] }]);
    expect(d.bySource.s).toEqual({ added: 1, removed: 0, modified: 1, renamed: 0, relabelled: 2, moved: 1 });
    expect(d.byClass).toEqual({
      bird: { before: 0, after: 1, delta: 1, added: 1, removed: 0, relabelledIn: 0, relabelledOut: 0 },
      cat: { before: 2, after: 2, delta: 0, added: 0, removed: 0, relabelledIn: 1, relabelledOut: 1 },
      dog: { before: 3, after: 3, delta: 0, added: 0, removed: 0, relabelledIn: 1, relabelledOut: 1 },
    });
    expect(d.modelTests).toEqual({ before: 0, after: 0, added: [], removed: [] });
  });

  it('pairs content that moved to another path of the same source as a rename (a relabel when the label changed)', () => {
    // a file moved from the shirt folder to the top folder: labelled by folder, it is a relabel
    const before = [it_('shirt/1.png', 'shirt', 'x'), it_('shirt/2.png', 'shirt', 'y'), it_('bag/3.png', 'bag', 'z')];
    const after = [it_('top/1.png', 'top', 'x'), it_('shirt/2b.png', 'shirt', 'y'), { ...it_('bag/3.png', 'bag', 'z'), source: 'other' }];
    const d = diffData(before, after, {}, {});
    expect(d.renamed).toEqual([{ from: 's/shirt/2.png', to: 's/shirt/2b.png' }, { from: 's/shirt/1.png', to: 's/top/1.png' }]);
    expect(d.relabelled).toEqual([{ from: 'shirt', to: 'top', count: 1, examples: ['s/top/1.png'] }]);
    // same content in another source is not a rename
    expect(d.added).toEqual([{ path: 'other/bag/3.png', label: 'bag', set: 'train' }]);
    expect(d.removed).toEqual([{ path: 's/bag/3.png', label: 'bag', set: 'train' }]);
    expect(d.bySource).toEqual({
      other: { added: 1, removed: 0, modified: 0, renamed: 0, relabelled: 0, moved: 0 },
      s: { added: 0, removed: 1, modified: 0, renamed: 2, relabelled: 1, moved: 0 },
    });
    expect(d.byClass.shirt).toMatchObject({ before: 2, after: 1, relabelledOut: 1, added: 0, removed: 0 });
  });

  it('pairs duplicates one to one, and reports model tests apart from split moves', () => {
    const before = [it_('a', 'cat', 'x'), it_('b', 'cat', 'x'), it_('t', 'cat', 't', 'test'), it_('m', 'dog', 'm', 'modelTest')];
    const after = [it_('c', 'cat', 'x'), it_('t', 'cat', 't', 'modelTest'), it_('m', 'dog', 'm', 'test')];
    const d = diffData(before, after, {}, {});
    expect(d.renamed).toEqual([{ from: 's/a', to: 's/c' }]);
    expect(d.removed.map((r) => r.path)).toEqual(['s/b']);
    expect(d.movedCount).toBe(0);
    expect(d.modelTests).toEqual({ before: 1, after: 1, added: ['s/t'], removed: ['s/m'] });
  });
});

describe('diffManifest', () => {
  it('reports structural changes with key paths; lists compare whole', () => {
    const a = { model: { preset: 'default', seed: 0 }, preprocess: { image: [{ channels: 1 }] }, dataset: { labelMap: { shirt: 'top' } } };
    const b = { model: { preset: 'fast', seed: 0 }, preprocess: { image: [{ channels: 3 }] }, dataset: { labelMap: { shirt: 'top', bag: null } } };
    expect(diffManifest(a, b)).toEqual([
      { path: 'dataset.labelMap.bag', kind: 'added', after: null },
      { path: 'model.preset', kind: 'changed', before: 'default', after: 'fast' },
      { path: 'preprocess.image', kind: 'changed', before: [{ channels: 1 }], after: [{ channels: 3 }] },
    ]);
    expect(diffManifest(a, a)).toEqual([]);
  });
});

describe('classRenames', () => {
  it('maps a class renamed or merged away, not one split or kept', () => {
    const before = [it_('a', 'shirt'), it_('b', 'shirt'), it_('c', 'tee'), it_('d', 'coat'), it_('e', 'coat'), it_('f', 'bag'), it_('g', 'gone')];
    const after = [
      it_('a', 'top'), it_('b', 'top'), it_('c', 'top'), // shirt and tee merged into top
      it_('d', 'jacket'), it_('e', 'parka'), // coat split
      it_('f', 'bag'), // kept
      it_('x', 'new', 'g'), // 'gone' moved path and was relabelled: found by content
    ];
    expect(classRenames(before, after)).toEqual({ gone: 'new', shirt: 'top', tee: 'top' });
    expect(classRenames(after, before)).toEqual({ jacket: 'coat', new: 'gone', parka: 'coat' });
  });
});
