/** `d2 diff` at the CLI layer: arguments and flags → api options, exit codes, with the api mocked. */
import { describe, expect, it, vi } from 'vitest';
import type { DiffResult } from '../../index.js';
import type { Api } from '../context.js';
import type { CliIO } from '../io.js';
import { main } from '../main.js';
import { splitRange } from './diff.js';

function fakeIO(): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env: { CI: '1' }, cwd: '/work/proj' };
}

const emptyData = {
  before: { items: 0 }, after: { items: 0 }, added: [], removed: [], modified: [], renamed: [], relabelled: [], relabelledCount: 0,
  moved: [], movedCount: 0, modelTests: { before: 0, after: 0, added: [], removed: [] }, bySource: {}, byClass: {}, manifest: [],
};

function result(checks?: DiffResult['checks']): DiffResult {
  const side = { rev: 'HEAD', commit: 'c'.repeat(40), dataset: 'd'.repeat(64), model: null };
  return {
    schema: 'd2-diff/1', a: side, b: { ...side, rev: null, commit: null }, data: emptyData,
    evaluatedOn: { rev: null, commit: null, items: 0, modelTests: 0 }, behaviour: null,
    missing: [{ side: 'a', message: 'HEAD has no model: …', command: 'd2 build --rev HEAD' }], ...(checks ? { checks } : {}),
  };
}

describe('d2 diff (CLI layer)', () => {
  it('splits A..B like git', () => {
    expect(splitRange('HEAD~1..HEAD', undefined)).toEqual(['HEAD~1', 'HEAD']);
    expect(splitRange('main..', undefined)).toEqual(['main', 'HEAD']);
    expect(splitRange('..topic', undefined)).toEqual(['HEAD', 'topic']);
    expect(splitRange('a', 'b')).toEqual(['a', 'b']);
    expect(() => splitRange('a..b', 'c')).toThrow(/either 'A\.\.B' or two revisions/);
    expect(() => splitRange('a...b', undefined)).toThrow(/not 'A\.\.\.B'/);
  });

  it('maps arguments and flags to the api options, parsing --fail-on first', async () => {
    const diff = vi.fn(async () => result());
    const io = fakeIO();
    expect(await main(['diff', 'v1..v2', '--on', 'main', '--build', '--limit', '0', '--engine', 'cpu', '--fail-on', 'accuracy-drop=0.01,broken-model-tests', '--json'], { io, api: { diff } as unknown as Api })).toBe(0);
    expect(diff).toHaveBeenCalledWith(expect.objectContaining({
      dir: '/work/proj', a: 'v1', b: 'v2', on: 'main', build: true, limit: 0, engine: 'cpu',
      failOn: [{ kind: 'accuracy-drop', threshold: 0.01, text: 'accuracy-drop=0.01' }, { kind: 'broken-model-tests', threshold: 0, text: 'broken-model-tests' }],
    }));
    expect(JSON.parse(io.out.join(''))).toEqual({ type: 'result', command: 'diff', formatVersion: 1, data: result() });
  });

  it('defaults to HEAD against the working tree', async () => {
    const diff = vi.fn(async () => result());
    expect(await main(['diff'], { io: fakeIO(), api: { diff } as unknown as Api })).toBe(0);
    expect(diff).toHaveBeenCalledWith(expect.objectContaining({ a: 'HEAD', b: undefined, build: false, limit: 20 }));
  });

  it('exits 3 when a check failed, 1 on a bad rule without calling the api', async () => {
    const failed = vi.fn(async () => result([{ rule: 'accuracy-drop', failed: true, observed: null, threshold: 0, detail: 'no behaviour to check: a side has no model' }]));
    const io = fakeIO();
    expect(await main(['diff', '--fail-on', 'accuracy-drop'], { io, api: { diff: failed } as unknown as Api })).toBe(3);
    expect(io.out.join('')).toContain('✗ --fail-on accuracy-drop');
    const diff = vi.fn();
    const bad = fakeIO();
    expect(await main(['diff', '--fail-on', 'nope'], { io: bad, api: { diff } as unknown as Api })).toBe(1);
    expect(diff).not.toHaveBeenCalled();
    expect(bad.err.join('')).toContain("unknown --fail-on rule 'nope'");
  });
});
