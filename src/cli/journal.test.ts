/** The CLI layer of note, log and exp: flags → api options, with the api mocked. */
import { describe, expect, it, vi } from 'vitest';
import type { Api } from './context.js';
import type { CliIO } from './io.js';
import { main } from './main.js';

function fakeIO(): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env: { CI: '1', EDITOR: 'true' }, cwd: '/work/proj' };
}

const noteResult = { commit: 'a'.repeat(40), action: 'added', note: 'x', previous: null, sharing: [] };
const expEntry = {
  format: 1, kind: 'd2-experiment', name: 'exp-1234567', created: '2026-01-01T00:00:00.000Z', parent: 'b'.repeat(40), dirty: false, note: null,
  settings: [{ key: 'model.seed', value: 3, previous: null }], dataset: 'c'.repeat(64), items: 10,
  build: { key: 'd'.repeat(64), record: 'e'.repeat(64), model: 'f'.repeat(64), preset: 'fast', engine: 'wasm' },
  metrics: {}, headline: null, delta: null, modelTests: null,
};

describe('d2 note, log and exp: flags to api options', () => {
  it('maps note flags; several -m make paragraphs; --edit with -m replaces', async () => {
    const note = vi.fn(async () => noteResult);
    expect(await main(['note', 'HEAD~1', '-m', 'one', '-m', 'two'], { io: fakeIO(), api: { note } as unknown as Api })).toBe(0);
    expect(note).toHaveBeenLastCalledWith(expect.objectContaining({ dir: '/work/proj', rev: 'HEAD~1', message: 'one\n\ntwo' }));
    await main(['note', '--append', '-m', 'more'], { io: fakeIO(), api: { note } as unknown as Api });
    expect(note).toHaveBeenLastCalledWith(expect.objectContaining({ message: 'more', append: true }));
    await main(['note', '--edit', '-m', 'new'], { io: fakeIO(), api: { note } as unknown as Api });
    expect(note).toHaveBeenLastCalledWith(expect.objectContaining({ message: 'new', replace: true }));
    await main(['note', '--remove'], { io: fakeIO(), api: { note } as unknown as Api });
    expect(note).toHaveBeenLastCalledWith(expect.objectContaining({ remove: true }));
    const io = fakeIO();
    expect(await main(['note', '--remove', '-m', 'x'], { io, api: { note } as unknown as Api })).toBe(1);
    expect(io.err.join('')).toContain('--remove takes no other option');
    expect(await main(['note', '--append'], { io: fakeIO(), api: { note } as unknown as Api })).toBe(1);
  });

  it('log --metrics does not count relabels; --md and --metrics exclude each other', async () => {
    const log = vi.fn(async () => ({ commits: [] }));
    await main(['log', '--metrics', '-n', '5'], { io: fakeIO(), api: { log } as unknown as Api });
    expect(log).toHaveBeenLastCalledWith(expect.objectContaining({ limit: 5, relabels: false }));
    await main(['log', '--md'], { io: fakeIO(), api: { log } as unknown as Api });
    expect(log).toHaveBeenLastCalledWith(expect.not.objectContaining({ relabels: false }));
    expect(await main(['log', '--md', '--metrics'], { io: fakeIO(), api: { log } as unknown as Api })).toBe(1);
  });

  it('exp run collects every --set / -S; exp list checks --sort; exp remove takes names or --all', async () => {
    const expRun = vi.fn(async () => ({ experiment: expEntry, reused: false, replaced: false, sharing: [] }));
    await main(['exp', 'run', '--set', 'model.seed=3', '-S', 'model.preset=thorough', '-m', 'why', '--name', 'n1', '--engine', 'cpu'], { io: fakeIO(), api: { expRun } as unknown as Api });
    expect(expRun).toHaveBeenLastCalledWith(expect.objectContaining({ set: ['model.seed=3', 'model.preset=thorough'], message: 'why', name: 'n1', engine: 'cpu' }));
    const expList = vi.fn(async () => ({ experiments: [expEntry], sortedBy: 'macroF1', problems: [] }));
    const io = fakeIO();
    expect(await main(['exp', '--json'], { io, api: { expList } as unknown as Api })).toBe(0); // list is the default
    expect(JSON.parse(io.out.join(''))).toMatchObject({ type: 'result', command: 'exp list' });
    await main(['exp', 'list', '--sort', 'macroF1'], { io: fakeIO(), api: { expList } as unknown as Api });
    expect(expList).toHaveBeenLastCalledWith(expect.objectContaining({ sort: 'macroF1' }));
    expect(await main(['exp', 'list', '--sort', 'best'], { io: fakeIO(), api: { expList } as unknown as Api })).toBe(1);
    const expRemove = vi.fn(async () => ({ removed: ['a', 'b'] }));
    await main(['exp', 'remove', 'a', 'b'], { io: fakeIO(), api: { expRemove } as unknown as Api });
    expect(expRemove).toHaveBeenLastCalledWith(expect.objectContaining({ names: ['a', 'b'], all: false }));
    expect(await main(['exp', 'remove', 'a', '--all'], { io: fakeIO(), api: { expRemove } as unknown as Api })).toBe(1);
  });
});
