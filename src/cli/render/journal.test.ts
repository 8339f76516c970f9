import { describe, expect, it } from 'vitest';
import type { ExpListResult, LogEntry, LogResult } from '../../index.js';
import { renderExpList, renderLog, renderLogMarkdown, renderLogMetrics, WIDTH } from './journal.js';
import type { Style } from './style.js';

const plain: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, green: (s) => s, yellow: (s) => s, cyan: (s) => s };

function entry(i: number, over: Partial<LogEntry> = {}): LogEntry {
  return {
    commit: `${i}`.repeat(40).slice(0, 40), message: `commit ${i}\n\nbody`, author: { name: 'a', email: 'a@b' }, time: '2026-01-02T03:04:05.000Z', parents: [],
    sources: { img: { items: 1234567, bytes: 1, labelled: 1, unlabelled: 0 } }, model: null, note: null, items: 1234567, labelled: 1234567, unlabelled: 0,
    change: { first: false, items: 0, labelled: 0, unlabelled: 0, relabels: 0, labelsChanged: false, sourcesAdded: [], sourcesRemoved: [], manifest: [], summary: 'no data change' },
    build: 'new', headline: { set: 'test', count: 10, accuracy: 0.9123, macroF1: 0.9, }, delta: { against: 'f'.repeat(40), accuracy: -0.013, macroF1: 0.01 },
    modelTests: null, problems: [], ...over,
  };
}

describe('journal views', () => {
  const long = `${'a very long note about what was tried '.repeat(6)}\nsecond line`;
  const r: LogResult = { commits: [entry(1, { note: long, modelTests: { count: 3, passed: 1, failed: ['x', 'y'], broken: ['y'] } }), entry(2, { build: 'stale', delta: null }), entry(3, { build: 'none', headline: null, delta: null })] };

  it('--metrics: every line within 100 columns, long notes cut, stale builds marked', () => {
    const lines = renderLogMetrics(r, plain).trimEnd().split('\n');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(WIDTH);
    expect(lines[1]).toContain('91.2%');
    expect(lines[1]).toContain('-1.3');
    expect(lines[1]).toContain('[1 broken] a very long note');
    expect(lines[1]!.endsWith('…')).toBe(true);
    expect(lines[2]).toMatch(/-\s+-\s+stale$/);
    expect(lines[3]).toMatch(/2026-01-02\s+1234567\s+-\s+-$/);
  });

  it('--md: one row per commit, pipes escaped, notes on one line', () => {
    const md = renderLogMarkdown({ commits: [entry(1, { note: 'a | b\nc' })] }).trimEnd().split('\n');
    expect(md).toHaveLength(3);
    expect(md[2]).toContain('a \\| b<br>c');
    expect(md[2]).toContain('| commit 1 |');
  });

  it('text: the phrase, the delta in points, broken model tests and the note', () => {
    const text = renderLog(r, plain);
    expect(text).toContain('    no data change');
    expect(text).toContain('acc -1.3 pts, macro-F1 +1.0 pts (vs fffffff)');
    expect(text).toContain('broken model tests: y');
    expect(text).toContain('    note: a very long note');
    expect(text).toContain('          second line');
    for (const l of text.split('\n').filter((x) => x.startsWith('    '))) expect(l.length).toBeLessThanOrEqual(WIDTH);
    expect(text).toContain('d2.lock not rebuilt for this change');
  });

  it('exp list: within 100 columns; marks experiments run on uncommitted data', () => {
    const e = {
      format: 1 as const, kind: 'd2-experiment' as const, name: 'exp-1234567', created: '2026-01-01T00:00:00.000Z', parent: 'b'.repeat(40), dirty: true, note: long,
      settings: [{ key: 'preprocess.image', value: [{ resize: { width: 32, height: 32 } }, { channels: 1 }], previous: null }], dataset: 'c'.repeat(64), items: 10,
      build: { key: 'd'.repeat(64), record: 'e'.repeat(64), model: 'f'.repeat(64), preset: 'fast', engine: 'wasm' },
      metrics: {}, headline: { set: 'test' as const, count: 10, accuracy: 0.5, macroF1: 0.4 }, delta: null, modelTests: null,
    };
    const out = renderExpList({ experiments: [e], sortedBy: 'accuracy', problems: [] } as ExpListResult, plain).trimEnd().split('\n');
    for (const l of out) expect(l.length).toBeLessThanOrEqual(WIDTH);
    expect(out[1]).toMatch(/^exp-1234567\s+bbbbbbb\s+10\s+50\.0%\s+40\.0%\s+\* preprocess\.image=/);
    expect(out[2]).toContain('not committed in its parent');
  });
});
