/**
 * The CLI layer of `d2 predict` and `d2 export` alone, with the api mocked: flags → options,
 * streamed rows in each view (the table's columns fit its first rows), exit code 3 for failed
 * inputs.
 */
import { describe, expect, it, vi } from 'vitest';
import type { ExportResult, PredictOptions, PredictResult } from '../index.js';
import type { Api } from './context.js';
import type { CliIO } from './io.js';
import { main } from './main.js';

function fakeIO(): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env: { CI: '1', NO_COLOR: '1' }, cwd: '/work/proj' };
}

const ROWS = [
  { input: 'a.png', top: [{ label: 'bag', probability: 0.75 }, { label: 'coat', probability: 0.25 }] },
  { input: 'b.png', top: [], error: { code: 'ItemInvalid', message: 'not an image, "really"' } },
];

function fakePredict() {
  return vi.fn(async (o: PredictOptions): Promise<PredictResult> => {
    for (const r of ROWS) o.onPrediction?.(r);
    return { model: { oid: 'ab'.repeat(32), commit: null, engine: 'wasm@4.22.0+simd', classes: ['bag', 'coat'] }, count: 2, failed: 1, predictions: [] };
  });
}

const api = (over: Partial<Api>) => over as unknown as Api;

describe('d2 predict / d2 export (CLI layer)', () => {
  it('maps flags to predict options, prints a line per input and a summary, exits 3 when an input failed', async () => {
    const predict = fakePredict();
    const io = fakeIO();
    const code = await main(['predict', 'a.png', 'b.png', '--rev', 'HEAD~1', '--top', '2', '--engine', 'cpu', '-C', 'sub'], { io, api: api({ predict }) });
    expect(code).toBe(3);
    expect(predict).toHaveBeenCalledWith(expect.objectContaining({ dir: '/work/proj/sub', paths: ['a.png', 'b.png'], rev: 'HEAD~1', top: 2, engine: 'cpu', collect: false }));
    expect(io.out.join('')).toBe([
      'input  class p',
      'a.png  bag   0.750  (coat 0.250)',
      'b.png  error: not an image, "really"',
      '2 inputs: 1 predicted, 1 failed, model abababa on wasm@4.22.0+simd',
      '',
    ].join('\n'));
  });

  it('the table: columns fit the first rows; later rows stream as they come', async () => {
    const { createPredictionTable } = await import('./render/predict.js');
    const out: string[] = [];
    const plain = { bold: (t: string) => t, dim: (t: string) => t, red: (t: string) => t } as never;
    const table = createPredictionTable(plain, (t) => out.push(t), 2);
    table.push({ input: 'x.png', top: [{ label: 'bag', probability: 0.5 }] });
    expect(out).toEqual([]);
    table.push({ input: 'longer/y.png', top: [{ label: 'sandal', probability: 0.25 }] });
    table.push({ input: 'a-much-longer-name/z.png', top: [{ label: 'coat', probability: 1 }] });
    table.end();
    expect(out.join('')).toBe([
      'input         class  p',
      'x.png         bag    0.500',
      'longer/y.png  sandal 0.250',
      'a-much-longer-name/z.png  coat   1.000',
      '',
    ].join('\n'));
  });

  it('--json: one prediction record per input, then the result record', async () => {
    const io = fakeIO();
    expect(await main(['predict', 'a.png', 'b.png', '--json'], { io, api: api({ predict: fakePredict() }) })).toBe(3);
    const lines = io.out.join('').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.slice(0, 2)).toEqual(ROWS.map((r) => ({ type: 'prediction', ...r })));
    expect(lines[2]).toMatchObject({ type: 'result', command: 'predict', formatVersion: 1, data: { count: 2, failed: 1 } });
    expect(lines).toHaveLength(3);
  });

  it('--csv: a header, one row per class shown, quoted fields; no summary', async () => {
    const io = fakeIO();
    expect(await main(['predict', 'a.png', 'b.png', '--csv'], { io, api: api({ predict: fakePredict() }) })).toBe(3);
    expect(io.out.join('')).toBe('input,rank,label,probability,error\na.png,1,bag,0.75,\na.png,2,coat,0.25,\nb.png,,,,"not an image, ""really"""\n');
  });

  it('refuses bad --top and --csv with --json before predicting', async () => {
    const predict = fakePredict();
    for (const args of [['--top', '1.5'], ['--csv', '--json']]) {
      const io = fakeIO();
      expect(await main(['predict', 'a.png', ...args], { io, api: api({ predict }) })).toBe(1);
    }
    expect(predict).not.toHaveBeenCalled();
  });

  it('maps export flags; --out is required', async () => {
    const exportModel = vi.fn(async () => ({ out: 'b', files: [{ name: 'd2-bundle.json', bytes: 10 }], bundle: { model: 'cd'.repeat(32), classes: ['x', 'y'] } }) as unknown as ExportResult);
    const io = fakeIO();
    expect(await main(['export', '--out', 'b', '--rev', 'v1', '--force', '--engine', 'wasm'], { io, api: api({ exportModel }) })).toBe(0);
    expect(exportModel).toHaveBeenCalledWith(expect.objectContaining({ dir: '/work/proj', out: 'b', rev: 'v1', force: true, engine: 'wasm' }));
    expect(io.out.join('')).toContain('exported model cdcdcdc (2 classes) to b/');
    const missing = fakeIO();
    expect(await main(['export'], { io: missing, api: api({ exportModel }) })).toBe(1);
    expect(missing.err.join('')).toContain("required option '-o, --out <dir>' not specified");
  });
});
