/**
 * End-to-end: `d2 suggest` on a project with labelled and unlabelled images — the unlabelled
 * pool is counted by `d2 data` and never trained on; suggestions are deterministic, cached
 * per (model, item), diverse, and written as JSON, CSV and Label Studio tasks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_IMAGES, lastJson, runD2, tempDir } from '../testing/index.js';

async function ok(args: string[], cwd: string): Promise<any> {
  const r = await runD2([...args, '--json'], { cwd });
  expect(r.exitCode, `d2 ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
  return lastJson(r.stdout).data;
}

const CLASSES = ['bag', 'coat', 'sandal', 'sneaker'];
let dir = '';

beforeAll(async () => {
  dir = tempDir('d2-suggest-');
  await ok(['init'], dir);
  for (const c of CLASSES) {
    const files = fs.readdirSync(path.join(FIXTURE_IMAGES, c)).sort();
    fs.mkdirSync(path.join(dir, 'img', c), { recursive: true });
    fs.mkdirSync(path.join(dir, 'new'), { recursive: true });
    for (const f of files.slice(0, 15)) fs.copyFileSync(path.join(FIXTURE_IMAGES, c, f), path.join(dir, 'img', c, f));
    for (const f of files.slice(15, 30)) fs.copyFileSync(path.join(FIXTURE_IMAGES, c, f), path.join(dir, 'new', `${c}-${f}`));
  }
  fs.appendFileSync(path.join(dir, 'd2.yaml'), '\nmodel:\n  preset: fast\n  seed: 11\n');
  await ok(['add', 'img', '--labels', 'dirname'], dir);
  await ok(['add', 'new'], dir);
});

describe('d2 suggest', () => {
  it('counts the unlabelled pool per source and never trains on it', async () => {
    const data = await ok(['data'], dir);
    expect(data.unlabelled).toEqual({ new: 60 });
    const total = Object.values(data.counts as Record<string, { total: number }>).reduce((a, c) => a + c.total, 0);
    expect(total).toBe(60);
    await ok(['build'], dir);
  });

  it('ranks the pool deterministically, caches the model outputs, and spreads the picks', async () => {
    const first = await ok(['suggest', '-n', '10', '--checks', '1'], dir);
    expect(first.pool).toBe(60);
    expect(first.computedNow).toBe(60);
    const picks = first.suggestions.filter((s: any) => s.reason !== 'confident-check');
    const checks = first.suggestions.filter((s: any) => s.reason === 'confident-check');
    expect(picks).toHaveLength(10);
    expect(checks.length).toBeGreaterThan(0);
    for (const s of first.suggestions) {
      expect(s.path.startsWith('new/')).toBe(true);
      expect(CLASSES).toContain(s.predicted);
      expect(s.item).toMatch(/^[0-9a-f]{64}$/);
    }
    // no item twice; the picks come from more than one predicted class (diversity)
    expect(new Set(first.suggestions.map((s: any) => s.item)).size).toBe(first.suggestions.length);
    expect(new Set(picks.map((s: any) => s.predicted)).size).toBeGreaterThan(1);
    // margin: the first pick is the most uncertain (highest score) of all picks
    expect(Math.max(...picks.map((s: any) => s.score))).toBe(picks[0].score);
    const again = await ok(['suggest', '-n', '10', '--checks', '1'], dir);
    expect(again.computedNow).toBe(0);
    expect(again.suggestions).toEqual(first.suggestions);
  });

  it('has a random baseline that differs from margin and is stable for a seed', async () => {
    const margin = await ok(['suggest', '-n', '10', '--checks', '0'], dir);
    const random = await ok(['suggest', '-n', '10', '--checks', '0', '--strategy', 'random'], dir);
    expect(random.suggestions.every((s: any) => s.reason === 'random')).toBe(true);
    expect(random.suggestions.map((s: any) => s.item)).not.toEqual(margin.suggestions.map((s: any) => s.item));
    expect((await ok(['suggest', '-n', '10', '--checks', '0', '--strategy', 'random'], dir)).suggestions).toEqual(random.suggestions);
  });

  it('writes a decisions CSV and Label Studio tasks with the item ids', async () => {
    const csv = await runD2(['suggest', '-n', '3', '--checks', '0', '--csv'], { cwd: dir });
    expect(csv.exitCode, csv.stderr).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('path,label,decision,predicted,confidence,why');
    expect(lines).toHaveLength(4);
    const tasks = await runD2(['suggest', '-n', '3', '--checks', '0', '--format', 'label-studio', '--image-url', 'http://localhost:8081/'], { cwd: dir });
    expect(tasks.exitCode, tasks.stderr).toBe(0);
    const parsed = JSON.parse(tasks.stdout) as any[];
    expect(parsed).toHaveLength(3);
    for (const t of parsed) {
      expect(t.data.d2_item).toMatch(/^[0-9a-f]{64}$/);
      expect(t.data.image).toMatch(/^http:\/\/localhost:8081\/new\/.+\.png$/);
      expect(CLASSES).toContain(t.predictions[0].result[0].value.choices[0]);
    }
    const config = await runD2(['suggest', '--format', 'label-studio-config'], { cwd: dir });
    for (const c of CLASSES) expect(config.stdout).toContain(`<Choice value="${c}"`);
  });

  it('says which source does not exist, and fits 100 columns', async () => {
    const r = await runD2(['suggest', '--source', 'nope', '--json'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(lastJson(r.stdout).error.code).toBe('SourceNotFound');
    const text = await runD2(['suggest', '-n', '5'], { cwd: dir });
    expect(text.exitCode, text.stderr).toBe(0);
    for (const l of text.stdout.split('\n')) expect([...l].length, l).toBeLessThanOrEqual(100);
  });

  it('brings labels back from a Label Studio export and from the CSV, then builds with them', async () => {
    // Label Studio: the tasks d2 wrote, annotated (the true class is the file name's prefix), exported as JSON
    const tasks = JSON.parse((await runD2(['suggest', '-n', '3', '--checks', '0', '--format', 'label-studio'], { cwd: dir })).stdout) as any[];
    const truth = (p: string) => path.basename(p).split('-')[0]!;
    const exported = tasks.map((t, i) => ({
      id: 500 + i, data: t.data, predictions: t.predictions,
      annotations: [{ id: 900 + i, was_cancelled: false, result: [{ from_name: 'label', to_name: 'image', type: 'choices', value: { choices: [truth(t.data.d2_path)] } }] }],
    }));
    fs.writeFileSync(path.join(dir, 'export.json'), JSON.stringify(exported));
    const before = (await ok(['data'], dir)).unlabelled.new as number;
    const applied = await ok(['label', '--from', 'export.json'], dir);
    expect(applied.relabelled.length).toBe(3);
    expect((await ok(['data'], dir)).unlabelled.new).toBe(before - 3);

    // a broken export: an unknown class names its task, and nothing is applied
    exported[0]!.annotations[0]!.result[0]!.value.choices = ['snaeker'];
    fs.writeFileSync(path.join(dir, 'export.json'), JSON.stringify(exported));
    const bad = await runD2(['label', '--from', 'export.json', '--json'], { cwd: dir });
    expect(bad.exitCode).toBe(1);
    expect(lastJson(bad.stdout).error.message).toMatch(/task 500: unknown class 'snaeker'/);

    // the plain CSV: the label column corrected, then applied
    const csv = (await runD2(['suggest', '-n', '4', '--checks', '0', '--csv'], { cwd: dir })).stdout.trim().split('\n');
    const rows = csv.slice(1).map((l) => { const p = l.split(',')[0]!; return `${p},${truth(p)}`; });
    fs.writeFileSync(path.join(dir, 'to-label.csv'), `path,label\n${rows.join('\n')}\n`);
    await ok(['label', '--from', 'to-label.csv'], dir);
    expect((await ok(['data'], dir)).unlabelled.new).toBe(before - 7);
    await ok(['commit', '-m', 'seven labels from suggest'], dir);
    const built = await ok(['build'], dir);
    expect(built.reused).toBe(false);
  });
});
