/**
 * The diff view alone, on results made by the core diff functions: every line fits 100
 * columns (with long paths, labels and manifest values), colour only through Style, and the
 * parts a data manager reads are there.
 */
import { describe, expect, it } from 'vitest';
import { diffBehaviour, type PairedItem } from '../../core/behaviour-diff.js';
import { diffData } from '../../core/data-diff.js';
import type { DatasetItem } from '../../core/dataset.js';
import { checkFailOn, parseFailOn } from '../../core/fail-on.js';
import type { DiffResult } from '../../index.js';
import { renderDiff, WIDTH } from './diff.js';
import type { Style } from './style.js';

const wrap = (open: number, close: number) => (s: string): string => `\u001b[${open}m${s}\u001b[${close}m`;
const COLOUR: Style = { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), cyan: wrap(36, 39) };
const PLAIN: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, green: (s) => s, yellow: (s) => s, cyan: (s) => s };
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const width = (line: string) => [...line.replace(ANSI, '')].length;

const LONG = 'a-class-name-that-goes-on-and-on-and-on';
const classes = ['bag', 'coat', 'shirt', 'tshirt_top', LONG];
const deepPath = (i: number) => `images/${'very-deep-folder/'.repeat(6)}item-${String(i).padStart(4, '0')}.png`;

function item(i: number, label: string, set: DatasetItem['set'] = 'test', source = 'images'): DatasetItem {
  return { source, path: i % 7 === 0 ? deepPath(i) : `${label}/t10k-${String(i).padStart(5, '0')}.png`, oid: `oid${i}`, size: 1, label, set };
}

function result(limit: number): DiffResult {
  const before = Array.from({ length: 120 }, (_, i) => item(i, classes[i % classes.length]!, i % 3 === 0 ? 'train' : 'test'));
  const after = before.map((it, i) => (i % 11 === 0 ? { ...it, label: classes[(i + 1) % classes.length]! } : it));
  after.push(item(500, LONG), item(501, 'bag', 'train', 'a-second-source-with-a-long-name'));
  after[3] = { ...after[3]!, set: 'validation' }; // a move, said loudly
  const data = diffData(before, after.slice(2), { model: { preset: 'default', seed: 1 }, preprocess: {} }, {
    model: { preset: 'fast', seed: 2 },
    preprocess: { image: [{ resize: { width: 20, height: 20, fit: 'contain', background: '#000000' } }, { channels: 1 }, { normalize: 'dataset' }] },
  });
  const paired: PairedItem[] = after.filter((x) => x.set === 'test').map((x, i) => ({
    path: `${x.source}/${x.path}`, oid: x.oid, truth: x.label, modelTest: i % 13 === 0,
    before: { label: i % 4 ? x.label : classes[(i + 2) % classes.length]!, confidence: 0.5 + (i % 5) / 10 },
    after: { label: i % 3 ? x.label : LONG, confidence: 0.4 + (i % 6) / 10 },
  }));
  const behaviour = diffBehaviour(paired);
  const cut = <T,>(l: T[]) => (limit ? l.slice(0, limit) : l);
  behaviour.fixed = cut(behaviour.fixed);
  behaviour.broken = cut(behaviour.broken);
  const model = { oid: 'a'.repeat(64), build: 'b'.repeat(64), key: 'c'.repeat(64), preset: 'default', engine: 'wasm@4.22.0+simd', classMap: { 't-shirt': 'tshirt_top' }, stored: 50, inferred: 12, computedNow: 12, failed: [{ path: deepPath(9), message: 'not an image: it starts with bytes 00 00 00 00 and no decoder knows them' }], failedCount: 4 };
  const r: DiffResult = {
    schema: 'd2-diff/1',
    a: { rev: 'HEAD~1', commit: '1'.repeat(40), dataset: 'd'.repeat(64), model },
    b: { rev: null, commit: null, dataset: 'e'.repeat(64), model: { ...model, classMap: {}, inferred: 0, computedNow: 0 } },
    data,
    evaluatedOn: { rev: null, commit: null, items: paired.filter((p) => !p.modelTest).length, modelTests: paired.filter((p) => p.modelTest).length },
    behaviour,
    missing: [],
  };
  r.checks = checkFailOn(r, parseFailOn('accuracy-drop=0.01,recall-drop=0.05,broken-model-tests,significant-drop'));
  return r;
}

describe('renderDiff', () => {
  it('fits every line in 100 columns, with colour or without', () => {
    for (const limit of [0, 20]) {
      for (const style of [PLAIN, COLOUR]) {
        const text = renderDiff(result(limit), style);
        for (const line of text.split('\n')) expect(width(line), line).toBeLessThanOrEqual(WIDTH);
      }
    }
  });

  it('prints no escape codes without colour, and colours with it', () => {
    expect(renderDiff(result(20), PLAIN)).not.toMatch(ANSI);
    expect(renderDiff(result(20), COLOUR)).toMatch(ANSI);
  });

  it('shows the data changes, the behaviour, the flips and the checks', () => {
    const r = result(5);
    const text = renderDiff(r, PLAIN);
    expect(text).toContain('diff HEAD~1 (1111111) → the working tree');
    expect(text).toMatch(/relabelled +a-class-name-that-goes-on-and-on-… ×2 +e\.g\. images\//);
    expect(text).toMatch(/\n {14}bag → coat +×2 +e\.g\. images\/bag\/t10k-00055\.png/);
    expect(text).toContain('1 item moved between splits');
    expect(text).toMatch(/model\.preset +default → fast/);
    const steps = 'added: [{resize: {width: 20, height: 20, fit: contain, background: "#000000"}}, {channels: 1}, {normalize: dataset}]';
    expect(text.replace(/\s+/g, ' ')).toContain(`preprocess.image ${steps}`);
    expect(text).toMatch(/accuracy +\d+\.\d% +\d+\.\d% +[−+±]\d+\.\d/);
    expect(text).toMatch(/significance +McNemar p = [\d.e-]+ on \d+ flips: /);
    expect(text).toMatch(new RegExp(`fixed \\(wrong → right\\): ${r.behaviour!.significance.fixed} \\(the 5 most confident`));
    expect(text).toMatch(/broken \(right → wrong\): \d+/);
    // a long path keeps its file name
    expect(text).toMatch(/…[\w/-]*item-\d{4}\.png/);
    expect(text).toMatch(/✓ --fail-on accuracy-drop=0\.01|✗ --fail-on accuracy-drop=0\.01/);
    expect(text).toContain('--fail-on broken-model-tests');
    expect(text).toContain('A could not run on');
    expect(text).toContain("A's answers read with the new class names: t-shirt → tshirt_top");
  });

  it('says which side has no model and how to build it', () => {
    const r = { ...result(20), behaviour: null, missing: [{ side: 'b' as const, message: 'the working tree has no model: no model is built for it in this store', command: 'd2 build' }] };
    r.b = { ...r.b, model: null };
    const text = renderDiff(r, PLAIN);
    expect(text).toContain('! the working tree has no model');
    expect(text).toContain('build it: d2 build, or run this diff again with --build');
    expect(text).not.toContain('behaviour');
  });
});
