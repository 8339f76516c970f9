import { describe, expect, it } from 'vitest';
import { diffData, diffManifest } from './data-diff.js';
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
    expect(d.bySource.s).toEqual({ added: 1, removed: 0, modified: 1, relabelled: 2, moved: 1 });
    expect(d.byClass).toEqual({ bird: { before: 0, after: 1, delta: 1 }, cat: { before: 2, after: 2, delta: 0 }, dog: { before: 3, after: 3, delta: 0 } });
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
