/** `d2 review` and `d2 label` at the CLI layer: flags → api options, text and CSV output, with the api mocked. */
import { describe, expect, it, vi } from 'vitest';
import { serializeDecisionsCsv, type LabelResult, type ReviewResult } from '../index.js';
import type { Api } from './context.js';
import type { CliIO } from './io.js';
import { main } from './main.js';

function fakeIO(): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env: { CI: '1' }, cwd: '/work/proj' };
}

const suspect = {
  path: 'images/some/very/long/folder/name/that/goes/on/and/on/shirt/t10k-00040-with-a-long-file-name.png', oid: 'a'.repeat(64), set: 'test' as const,
  label: 'shirt', suggested: 'tshirt_top', confidence: 0.91, selfConfidence: 0.02, margin: -0.89, predicted: 'tshirt_top', predictedProbability: 0.91,
  change: 'relabelled' as const, previousLabel: 'pullover', kept: false,
};
const result: ReviewResult = {
  commit: null, since: 'b'.repeat(40), dataset: 'c'.repeat(64), classes: ['shirt', 'tshirt_top'], filter: 'prune_by_noise_rate',
  crossValidation: { oid: 'd'.repeat(64), key: 'e'.repeat(64), k: 5, seed: 0, preset: 'fast', engine: 'wasm@4.22.0+simd', folds: [], trained: 0, resumed: 0, seconds: 0, evaluation: 'f'.repeat(64), count: 400, accuracy: 0.708, macroF1: 0.7 },
  review: '1'.repeat(64),
  counts: { items: 400, unscored: 0, flagged: 3, kept: 1, shown: 2, new: 0, relabelled: 1, listed: 1 },
  noise: [{ given: 'shirt', true: 'tshirt_top', rate: 0.2, count: 8 }, { given: 'tshirt_top', true: 'shirt', rate: 0.1, count: 4 }, { given: 'a_very_long_class_name_indeed', true: 'shirt', rate: 0.05, count: 2 }],
  suspects: [suspect],
};

function api(over: Partial<Api>): Api {
  return { serializeDecisionsCsv, ...over } as unknown as Api;
}

describe('d2 review (CLI layer)', () => {
  it('maps flags to the api options', async () => {
    const review = vi.fn(async () => result);
    const code = await main(['review', 'HEAD', '--since', 'HEAD~2', '--limit', '5', '--class', 'shirt', '--class', 'bag', '--all', '--folds', '4', '--fold-seed', '3', '--filter', 'both', '--workers', '0'], { io: fakeIO(), api: api({ review }) });
    expect(code).toBe(0);
    expect(review).toHaveBeenCalledWith(expect.objectContaining({ rev: 'HEAD', since: 'HEAD~2', limit: 5, classes: ['shirt', 'bag'], all: true, k: 4, foldSeed: 3, filter: 'both', workers: 0, engine: 'auto' }));
    const none = vi.fn(async () => result);
    await main(['review', '--no-since'], { io: fakeIO(), api: api({ review: none }) });
    expect(none).toHaveBeenCalledWith(expect.objectContaining({ since: null, limit: 20 }));
  });

  it('prints text that fits 100 columns: the figures, the suspects (long paths cut from the left), the noise', async () => {
    const io = fakeIO();
    expect(await main(['review'], { io, api: api({ review: vi.fn(async () => result) }) })).toBe(0);
    const text = io.out.join('');
    expect(text).toContain('cross-validated accuracy 70.8%');
    expect(text).toContain('every fold model was built before: nothing trained');
    expect(text).toMatch(/…[^ ]*t10k-00040-with-a-long-file-name\.png\s+relab\.\s+shirt\s+→ tshirt_top\s+0\.91\s+0\.02/);
    expect(text).toContain('1 kept by a reviewer (hidden; --all shows them)');
    expect(text).toContain('… and 1 more (--limit 0 lists all)');
    expect(text).toMatch(/shirt\s+→ tshirt_top\s+20\.0%\s+8/);
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  it('--csv prints a decisions CSV (every suspect unless --limit), --json and --csv together are refused', async () => {
    const review = vi.fn(async () => result);
    const io = fakeIO();
    expect(await main(['review', '--csv'], { io, api: api({ review }) })).toBe(0);
    expect(review).toHaveBeenCalledWith(expect.objectContaining({ limit: 0 }));
    expect(io.out.join('')).toBe(`path,label,decision,predicted,confidence,why\n${suspect.path},shirt,,tshirt_top,0.91,p(label) 0.0200; relabelled (was pullover); test split\n`);
    const both = fakeIO();
    expect(await main(['review', '--csv', '--json'], { io: both, api: api({ review }) })).toBe(1);
    expect(JSON.parse(both.out.join('')).error.code).toBe('InvalidArgument');
  });
});

describe('d2 label (CLI layer)', () => {
  const done: LabelResult = { relabelled: [{ path: 'images/a.png', from: 'shirt', to: 'tshirt_top', set: 'test' }], kept: [], modelTests: [], unchanged: [], warnings: ["'images/a.png' is in the test split"], files: ['d2.sources/images.labels.csv'] };

  it('maps paths and decisions to the api options and prints what was decided', async () => {
    const label = vi.fn(async () => done);
    const io = fakeIO();
    expect(await main(['label', 'images/a.png', 'images/b.png', '--as', 'tshirt_top', '--force'], { io, api: api({ label }) })).toBe(0);
    expect(label).toHaveBeenCalledWith(expect.objectContaining({ dir: '/work/proj', paths: ['images/a.png', 'images/b.png'], as: 'tshirt_top', force: true }));
    expect(io.out.join('')).toContain('relabelled images/a.png: shirt → tshirt_top (test split)');
    expect(io.out.join('')).toContain("warning: 'images/a.png' is in the test split");
    const keep = vi.fn(async () => done);
    await main(['label', '--keep', 'x.png'], { io: fakeIO(), api: api({ label: keep }) });
    expect(keep).toHaveBeenCalledWith(expect.objectContaining({ paths: ['x.png'], keep: true }));
    const from = vi.fn(async () => done);
    await main(['label', '--from', 'r.csv'], { io: fakeIO(), api: api({ label: from }) });
    expect(from).toHaveBeenCalledWith(expect.objectContaining({ paths: [], from: 'r.csv' }));
    const mt = vi.fn(async () => done);
    await main(['label', 'x.png', '--as-model-test'], { io: fakeIO(), api: api({ label: mt }) });
    expect(mt).toHaveBeenCalledWith(expect.objectContaining({ paths: ['x.png'], asModelTest: true }));
  });
});
