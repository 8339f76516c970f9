/** `d2 report` and `d2 ci init` at the CLI layer: arguments and flags → api options, output, exit codes, with the api mocked. */
import { describe, expect, it, vi } from 'vitest';
import type { CiInitResult, ReportResult } from '../../index.js';
import type { Api } from '../context.js';
import type { CliIO } from '../io.js';
import { main } from '../main.js';

function fakeIO(): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env: { CI: '1' }, cwd: '/work/proj/sub' };
}

function result(extra: Partial<ReportResult> = {}): ReportResult {
  const model = { rev: 'HEAD', commit: 'c'.repeat(40), oid: 'd'.repeat(64), accuracy: 0.9, macroF1: 0.89, modelTests: { count: 4, passed: 3 }, failedCount: 0 };
  return {
    schema: 'd2-report/1', kind: 'diff', out: '/work/proj/sub/r.html', bytes: 2_500_000,
    evaluatedOn: { rev: 'HEAD', commit: 'c'.repeat(40), items: 10_000, modelTests: 4 },
    models: [{ ...model, name: 'A', rev: 'HEAD~1', accuracy: 0.91 }, { ...model, name: 'B' }],
    diff: { accuracy: { before: 0.91, after: 0.9, delta: -0.01 }, macroF1: { before: 0.9, after: 0.89, delta: -0.01 }, fixed: 80, broken: 180, brokenModelTests: 1, pValue: 0.0001 },
    maps: [{ model: 'A', method: 'pca', points: 10_004, seconds: 0.3, cached: false }, { model: 'B', method: 'pca', points: 10_004, seconds: 0.3, cached: false }],
    thumbnails: { items: 10_004, drawn: 0 },
    suspects: { rev: 'HEAD', review: null, command: 'd2 review HEAD', total: 0, listed: 0, kept: 0 },
    ...extra,
  };
}

describe('d2 report (CLI layer)', () => {
  it('maps arguments and flags to the api options; --out is taken from the working directory', async () => {
    const report = vi.fn(async () => result());
    const io = fakeIO();
    expect(await main(['report', 'v1..v2', '--out', 'r.html', '--map', 'umap', '--on', 'main', '--build', '--engine', 'cpu', '--link', 'https://ci/1', '--fail-on', 'broken-model-tests', '--json'], { io, api: { report } as unknown as Api })).toBe(0);
    expect(report).toHaveBeenCalledWith(expect.objectContaining({
      dir: '/work/proj/sub', rev: 'v1..v2', b: undefined, out: '/work/proj/sub/r.html', markdown: false, map: 'umap', on: 'main', build: true, engine: 'cpu', link: 'https://ci/1',
      failOn: [{ kind: 'broken-model-tests', threshold: 0, text: 'broken-model-tests' }],
    }));
    expect(JSON.parse(io.out.join(''))).toEqual({ type: 'result', command: 'report', formatVersion: 1, data: result() });
  });

  it('defaults to the working tree and report.html, and prints where the page is', async () => {
    const report = vi.fn(async () => result());
    const io = fakeIO();
    expect(await main(['report'], { io, api: { report } as unknown as Api })).toBe(0);
    expect(report).toHaveBeenCalledWith(expect.objectContaining({ rev: undefined, out: '/work/proj/sub/report.html', map: 'pca', build: false, markdown: false }));
    const text = io.out.join('');
    expect(text).toMatch(/^wrote \/work\/proj\/sub\/r\.html \(2\.4 MiB\): HEAD~1 → HEAD, 10000 test items and 4 model tests\n/);
    expect(text).toContain('accuracy 91.00% → 90.00% (-1.00 pts); 80 fixed, 180 broken, 1 model test broken');
    expect(text).toContain('open it in a browser: file:///work/proj/sub/r.html');
    expect(text).toContain("label suspects: no review of HEAD yet ('d2 review HEAD' computes it)");
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  });

  it("says how many label suspects the page lists, from which revision's review", async () => {
    const report = vi.fn(async () => result({ suspects: { rev: 'HEAD', review: 'e'.repeat(64), command: 'd2 review HEAD', total: 73, listed: 50, kept: 1 } }));
    const io = fakeIO();
    expect(await main(['report', 'HEAD~1..HEAD'], { io, api: { report } as unknown as Api })).toBe(0);
    expect(io.out.join('')).toContain('label suspects: 73 from the review of HEAD (50 on the page), 1 kept');
  });

  it('--md: the Markdown alone on stdout, the summary on stderr', async () => {
    const report = vi.fn(async () => result({ markdown: '<!-- d2-report -->\n## d2\n' }));
    const io = fakeIO();
    expect(await main(['report', 'main..HEAD', '--md'], { io, api: { report } as unknown as Api })).toBe(0);
    expect(report).toHaveBeenCalledWith(expect.objectContaining({ markdown: true }));
    expect(io.out.join('')).toBe('<!-- d2-report -->\n## d2\n');
    expect(io.err.join('')).toContain('wrote /work/proj/sub/r.html');
  });

  it('exits 3 when a --fail-on check failed, 1 on a bad rule or map without calling the api', async () => {
    const failed = vi.fn(async () => result({ checks: [{ rule: 'broken-model-tests', failed: true, observed: 1, threshold: 0, detail: '1 model test broke' }] }));
    const io = fakeIO();
    expect(await main(['report', 'a..b', '--fail-on', 'broken-model-tests'], { io, api: { report: failed } as unknown as Api })).toBe(3);
    expect(io.out.join('')).toContain('✗ broken-model-tests: 1 model test broke');
    const report = vi.fn(async () => result());
    expect(await main(['report', '--fail-on', 'acuracy-drop'], { io: fakeIO(), api: { report } as unknown as Api })).toBe(1);
    expect(report).not.toHaveBeenCalled();
  });
});

describe('d2 ci init (CLI layer)', () => {
  it('passes the provider and flags, and prints what to do next', async () => {
    const r: CiInitResult = { provider: 'github', path: '.github/workflows/d2.yml', replaced: false, next: ['git add .github/workflows/d2.yml'] };
    const ciInit = vi.fn(async () => r);
    const io = fakeIO();
    expect(await main(['ci', 'init', 'github', '--force', '--fail-on', 'accuracy-drop=0.02', '--d2-package', 'd2@1.0.0'], { io, api: { ciInit } as unknown as Api })).toBe(0);
    expect(ciInit).toHaveBeenCalledWith(expect.objectContaining({ dir: '/work/proj/sub', provider: 'github', force: true, failOn: 'accuracy-drop=0.02', d2Package: 'd2@1.0.0' }));
    expect(io.out.join('')).toBe('wrote .github/workflows/d2.yml\n  git add .github/workflows/d2.yml\n');
  });
});
