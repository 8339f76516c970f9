import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../util/hash.js';
import { parseDataset, resolveDataset, serializeDataset, splitOf, type CompositionRules, type SourceInput } from './dataset.js';

const RULES: CompositionRules = {
  exclude: [],
  filter: { excludePaths: [], excludeLabels: [] },
  labelMap: {},
  split: { seed: 0, train: 0.8, validation: 0.1, test: 0.1 },
  allowLeakage: false,
};

function source(name: string, files: [path: string, label: string | undefined, content?: string][], pin?: SourceInput['pin']): SourceInput {
  const entries = files.map(([path, , content]) => ({ path, oid: sha256Hex(content ?? `${name}/${path}`), size: 1 })).sort((a, b) => (a.path < b.path ? -1 : 1));
  const labels = new Map(files.filter(([, l]) => l !== undefined).map(([p, l]) => [p, l!] as [string, string]));
  return { name, entries, labels, ...(pin ? { pin } : {}) };
}

function many(n: number, from = 0): [string, string][] {
  return Array.from({ length: n }, (_, i) => [`c${(i + from) % 3}/f${i + from}.png`, `c${(i + from) % 3}`]);
}

describe('resolveDataset', () => {
  it('splits by content hash in the declared proportions, stable when items are added', () => {
    const before = resolveDataset([source('s', many(2000))], RULES);
    const after = resolveDataset([source('s', [...many(2000), ...many(200, 2000)])], RULES);
    const splitOfPath = new Map(after.items.map((i) => [i.path, i.set]));
    for (const it of before.items) expect(splitOfPath.get(it.path)).toBe(it.set);
    const c = before.counts;
    expect(c.train.total + c.validation.total + c.test.total).toBe(2000);
    expect(c.train.total / 2000).toBeGreaterThan(0.76);
    expect(c.train.total / 2000).toBeLessThan(0.84);
    expect(c.test.total).toBeGreaterThan(150);
  });

  it('changes splits with the seed, and only with the seed', () => {
    const oid = sha256Hex('x');
    const seeds = new Set(Array.from({ length: 40 }, (_, seed) => splitOf(oid, { ...RULES.split, seed })));
    expect(seeds.size).toBeGreaterThan(1);
    expect(splitOf(oid, RULES.split)).toBe(splitOf(oid, RULES.split));
  });

  it('renames, merges and drops classes with the label map, then filters', () => {
    const s = source('s', [['a.png', 'tshirt'], ['b.png', 'shirt'], ['c.png', 'bag'], ['d.png', 'coat'], ['e.png', undefined], ['x/f.png', 'coat']]);
    const d = resolveDataset([s], { ...RULES, labelMap: { tshirt: 'top', shirt: 'top', bag: null }, filter: { excludePaths: ['s/x/**'], excludeLabels: [] } });
    expect(d.items.map((i) => [i.path, i.label])).toEqual([['a.png', 'top'], ['b.png', 'top'], ['d.png', 'coat']]);
    expect(d.classes).toEqual(['coat', 'top']);
    expect(d.left).toEqual({ filtered: 1, dropped: 1, unlabelled: 1, duplicatesOfModelTests: 0 });
    const only = resolveDataset([s], { ...RULES, filter: { paths: ['s/*.png'], excludePaths: [], labels: ['coat', 'sock'], excludeLabels: [] } });
    expect(only.items.map((i) => i.path)).toEqual(['d.png']);
    expect(only.problems).toContainEqual(expect.objectContaining({ kind: 'empty-class', label: 'sock' }));
  });

  it('includes and excludes sources, and pins a source to a split', () => {
    const a = source('a', many(50));
    const t = source('official', many(20, 100), 'test');
    const d = resolveDataset([t, a], { ...RULES, exclude: [] });
    expect(d.items.filter((i) => i.source === 'official').every((i) => i.set === 'test')).toBe(true);
    expect(resolveDataset([t, a], { ...RULES, include: ['a'] }).items.every((i) => i.source === 'a')).toBe(true);
    expect(resolveDataset([t, a], { ...RULES, exclude: ['a'] }).items.every((i) => i.source === 'official')).toBe(true);
  });

  it('reports the same content with two labels as a conflict', () => {
    const d = resolveDataset([source('s', [['a.png', 'cat', 'same'], ['b.png', 'dog', 'same'], ['c.png', 'cat']])], RULES);
    const conflicts = d.problems.filter((p) => p.kind === 'label-conflict');
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]!.message).toBe("label conflict: the same content is labelled 'cat' and 'dog' (s/a.png, s/b.png)");
  });

  it('reports the same content in two splits as leakage: an error unless allowed', () => {
    const train = source('mine', [['a.png', 'cat', 'dup'], ['b.png', 'cat']], 'train');
    const test = source('official', [['z.png', 'cat', 'dup']], 'test');
    const d = resolveDataset([train, test], RULES);
    expect(d.problems).toContainEqual(expect.objectContaining({ kind: 'leakage', severity: 'error', message: 'leakage: the same content is in train and test (mine/a.png, official/z.png)' }));
    const allowed = resolveDataset([train, test], { ...RULES, allowLeakage: true });
    expect(allowed.problems.find((p) => p.kind === 'leakage')?.severity).toBe('warning');
  });

  it('holds model tests out of every split, with their own label, and duplicates of them too', () => {
    const s = source('s', [['a.png', 'cat'], ['b.png', 'cat', 'same'], ['c.png', 'dog', 'same'], ['d.png', 'dog']]);
    const d = resolveDataset([s], RULES, [{ line: 2, path: 's/b.png', label: 'dog' }, { line: 3, path: 's/nope.png', label: 'x' }]);
    expect(d.items.find((i) => i.path === 'b.png')).toMatchObject({ set: 'modelTest', label: 'dog' });
    expect(d.items.find((i) => i.path === 'c.png')).toBeUndefined();
    expect(d.left.duplicatesOfModelTests).toBe(1);
    expect(d.counts.modelTest.total).toBe(1);
    expect(d.problems).toContainEqual(expect.objectContaining({ kind: 'model-test-not-found', line: 3, severity: 'error' }));
  });

  it('warns about classes evaluated but never trained on', () => {
    const s = source('s', many(30));
    const t = source('t', [['x.png', 'unicorn']], 'test');
    const d = resolveDataset([s, t], RULES);
    expect(d.problems).toContainEqual(expect.objectContaining({ kind: 'class-not-in-train', label: 'unicorn', sets: ['test'] }));
  });

  it('gives the same text (and hash) whatever order sources come in, and parses back', () => {
    const a = source('a', many(10));
    const b = source('b', many(10, 50));
    const one = serializeDataset(resolveDataset([a, b], RULES));
    const two = serializeDataset(resolveDataset([b, a], RULES));
    expect(one).toBe(two);
    const back = parseDataset(one);
    expect(back.map((i) => `${i.source}/${i.path}:${i.label}:${i.set}`)).toEqual(resolveDataset([a, b], RULES).items.map((i) => `${i.source}/${i.path}:${i.label}:${i.set}`));
  });

  it('reports one class as an error, and the slips of hand-edited labels as warnings', () => {
    const one = resolveDataset([source('s', [['a/1.png', 'bag'], ['a/2.png', 'bag']])], RULES);
    expect(one.problems).toContainEqual(expect.objectContaining({ kind: 'one-class', severity: 'error', label: 'bag' }));
    const unlabelled = resolveDataset([source('u', [['a/1.png', undefined], ['a/2.png', undefined]]), source('s', many(30))], RULES);
    expect(unlabelled.problems).toContainEqual(expect.objectContaining({ kind: 'source-unlabelled', source: 'u', items: 2 }));
    // a source declared a pool to label later has no label by design: no warning, and its items are left out
    const pool = resolveDataset([{ ...source('u', [['a/1.png', undefined], ['a/2.png', undefined]]), pool: true }, source('s', many(30))], RULES);
    expect(pool.problems.filter((p) => p.kind === 'source-unlabelled')).toEqual([]);
    expect(pool.unlabelled.map((u) => `${u.source}/${u.path}`)).toEqual(['u/a/1.png', 'u/a/2.png']);
    expect(pool.items.some((i) => i.source === 'u')).toBe(false);

    // 20 sneakers, 1 'snaeker'; 'Bag' and 'bag'; a label for a file the source does not have
    const files: [string, string][] = [
      ...Array.from({ length: 20 }, (_, i): [string, string] => [`sneaker/${i}.png`, i === 3 ? 'snaeker' : 'sneaker']),
      ...Array.from({ length: 10 }, (_, i): [string, string] => [`bag/${i}.png`, i === 0 ? 'Bag' : 'bag']),
    ];
    const s = source('s', files);
    const labels = new Map(s.labels);
    labels.set('bag/ghost.png', 'bag');
    const d = resolveDataset([{ ...s, labels }], RULES);
    expect(d.problems).toContainEqual(expect.objectContaining({ kind: 'label-typo', label: 'snaeker', didYouMean: 'sneaker', items: 1, paths: ['s/sneaker/3.png'] }));
    expect(d.problems).toContainEqual(expect.objectContaining({ kind: 'label-case', labels: ['Bag', 'bag'] }));
    expect(d.problems).toContainEqual(expect.objectContaining({ kind: 'label-stray', source: 's', count: 1, paths: ['bag/ghost.png'] }));
    expect(d.problems.filter((p) => p.severity === 'error')).toEqual([]);
    // 'Bag' is not a typo of 'bag' (a case problem), and no common class is suspected
    expect(d.problems.filter((p) => p.kind === 'label-typo')).toHaveLength(1);
    // three classes of fair size: nothing to say
    expect(resolveDataset([source('s', many(30))], RULES).problems).toEqual([]);
  });
});
