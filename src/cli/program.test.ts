/**
 * The CLI layer alone: flags → api options, output routing and exit codes, with the api mocked
 * (DVC's tests/unit/command; commander issue #1565).
 */
import { describe, expect, it, vi } from 'vitest';
import { NothingToCommit } from '../index.js';
import type { Api } from './context.js';
import type { CliIO } from './io.js';
import { main } from './main.js';

function fakeIO(env: Record<string, string> = {}): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env: { CI: '1', ...env }, cwd: '/work/proj' };
}

function fakeApi(over: Partial<Api> = {}): Api {
  const fail = () => { throw new Error('not expected'); };
  return { init: vi.fn(fail), add: vi.fn(fail), status: vi.fn(fail), commit: vi.fn(fail), log: vi.fn(fail), fsck: vi.fn(fail), ...over } as unknown as Api;
}

const addResult = { sources: [], manifestUpdated: false, gitignoreEntries: [] };

describe('d2 CLI layer', () => {
  it('maps add flags to the api options', async () => {
    const add = vi.fn(async () => addResult);
    const io = fakeIO();
    const code = await main(['add', 'a', 'b', '--labels', 'x.csv', '--external', '-C', 'sub', '--lock-timeout', '2.5'], { io, api: fakeApi({ add }) });
    expect(code).toBe(0);
    expect(add).toHaveBeenCalledWith(expect.objectContaining({ dir: '/work/proj/sub', paths: ['a', 'b'], labels: 'x.csv', external: true, lockTimeoutMs: 2500 }));
  });

  it('takes the lock timeout from D2_LOCK_TIMEOUT', async () => {
    const add = vi.fn(async () => addResult);
    await main(['add', '--all'], { io: fakeIO({ D2_LOCK_TIMEOUT: '7' }), api: fakeApi({ add }) });
    expect(add).toHaveBeenCalledWith(expect.objectContaining({ all: true, lockTimeoutMs: 7000 }));
  });

  it('--json prints exactly one result line with the api data unchanged', async () => {
    const io = fakeIO();
    const data = { commits: [] };
    await main(['log', '--json'], { io, api: fakeApi({ log: vi.fn(async () => data) }) });
    expect(io.out.join('')).toBe(`${JSON.stringify({ type: 'result', command: 'log', formatVersion: 1, data })}\n`);
    expect(io.err).toEqual([]);
  });

  it('an expected failure: one error line and hint on stderr, exit 1', async () => {
    const io = fakeIO();
    const commit = vi.fn(async () => { throw new NothingToCommit('nothing to commit', { hint: 'change something' }); });
    expect(await main(['commit', '-m', 'x'], { io, api: fakeApi({ commit }) })).toBe(1);
    expect(io.err.join('')).toBe('error: nothing to commit\nhint: change something\n');
    expect(io.out).toEqual([]);
  });

  it('a bug: exit 2 with a please-report text, and the stack only with --debug', async () => {
    const boom = vi.fn(async () => { throw new TypeError('x is undefined'); });
    const io = fakeIO();
    expect(await main(['status'], { io, api: fakeApi({ status: boom }) })).toBe(2);
    expect(io.err.join('')).toMatch(/^error: internal error: x is undefined\nThis is a bug in d2 .*\nPlease report it/);
    expect(io.err.join('')).not.toMatch(/\n\s+at /);
    const dbg = fakeIO();
    await main(['status', '--debug'], { io: dbg, api: fakeApi({ status: boom }) });
    expect(dbg.err.join('')).toMatch(/\n\s+at /);
  });

  it('a failed requested check exits 3', async () => {
    const fsck = vi.fn(async () => ({ ok: false, objects: 1, bytes: 1, problems: [{ oid: 'a'.repeat(64), problem: 'corrupt' as const, detail: 'x' }], strays: [], quarantined: [], repaired: [], absentModels: 0, revisions: 1 }));
    expect(await main(['fsck'], { io: fakeIO(), api: fakeApi({ fsck }) })).toBe(3);
  });

  it('rejects a bad --limit before calling the api', async () => {
    const status = vi.fn();
    const io = fakeIO();
    expect(await main(['status', '--limit', '-1'], { io, api: fakeApi({ status: status as unknown as Api['status'] }) })).toBe(1);
    expect(status).not.toHaveBeenCalled();
    expect(io.err.join('')).toMatch(/--limit '-1' must be a whole number/);
  });

  it('--json: status prints its result line alone even when it reports progress; data prints progress first', async () => {
    const clean = { head: null, branch: 'main', manifestChanged: false, d2Files: [], sources: [], clean: true, filesChecked: 0, filesHashed: 0 };
    const status = vi.fn(async (o: { onProgress?: (e: { phase: string; loaded: number }) => void }) => {
      o.onProgress?.({ phase: 'walk', loaded: 10 });
      o.onProgress?.({ phase: 'hash', loaded: 10 });
      return clean;
    });
    const io = fakeIO();
    expect(await main(['status', '--json'], { io, api: fakeApi({ status: status as unknown as Api['status'] }) })).toBe(0);
    expect(io.out.join('').trim().split('\n')).toEqual([JSON.stringify({ type: 'result', command: 'status', formatVersion: 1, data: clean })]);
    const data = vi.fn(async (o: { onProgress?: (e: { phase: string; loaded: number }) => void }) => {
      o.onProgress?.({ phase: 'preprocess', loaded: 1 });
      return { commit: null, dataset: 'd'.repeat(64), classes: [], counts: {}, left: {}, problems: [], blocked: false, notAdded: [], filesNotAdded: [] };
    });
    const dio = fakeIO();
    await main(['data', '--json'], { io: dio, api: { ...fakeApi(), data } as unknown as Api });
    expect(dio.out.join('').trim().split('\n').map((l) => JSON.parse(l).type)).toEqual(['progress', 'result']);
  });

  it('-q drops progress, warnings and hints, never the result', async () => {
    const log = vi.fn(async () => ({ commits: [{ commit: 'c'.repeat(40), message: 'first', author: { name: 'a', email: 'a@x' }, time: '2026-01-01T00:00:00.000Z', parents: [], sources: {}, items: 0, model: null, change: { summary: 'first commit' }, problems: [] }] }));
    const io = fakeIO();
    expect(await main(['-q', 'log'], { io, api: fakeApi({ log: log as unknown as Api['log'] }) })).toBe(0);
    expect(io.out.join('')).toMatch(/^ccccccc 2026-01-01 00:00 first\n {4}first commit\n$/);
    const add = vi.fn(async () => addResult);
    const aio = fakeIO();
    await main(['add', 'x', '--quiet'], { io: aio, api: fakeApi({ add }) });
    expect(aio.out.join('')).toBe('');
    expect(aio.err.join('')).toBe('');
  });
});
