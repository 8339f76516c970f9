/**
 * End-to-end: how a text or table build chooses between its two candidates (softmax regression
 * and an MLP). Small data (fewer than 2,000 train + validation items): by 5-fold cross-validated
 * loss, recorded in d2.lock with both mean losses and reproducible per seed; larger data: by the
 * validation split, as before.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLock } from '../manifest/index.js';
import { lastJson, runD2, tempDir, writeFiles } from '../testing/index.js';

/** A deterministic pseudo-random number in [0, 1) from an integer (no Math.random in tests). */
function noise(i: number): number {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return x - Math.floor(x);
}

/** A CSV table of `rows` rows: four numeric features, three classes that overlap a little. */
function tableCsv(rows: number): string {
  const lines = ['id,a,b,c,d,kind'];
  for (let i = 0; i < rows; i++) {
    const k = i % 3;
    const a = (k + noise(4 * i) * 1.6).toFixed(3);
    const b = (k * 0.5 + noise(4 * i + 1)).toFixed(3);
    const c = noise(4 * i + 2).toFixed(3);
    const d = (noise(4 * i + 3) * 10).toFixed(2);
    lines.push(`r${i},${a},${b},${c},${d},${['low', 'mid', 'high'][k]}`);
  }
  return `${lines.join('\n')}\n`;
}

const WORDS: Record<string, string[]> = {
  billing: ['invoice', 'refund', 'charge', 'payment', 'card', 'price'],
  shipping: ['parcel', 'courier', 'delivery', 'tracking', 'late', 'address'],
  account: ['password', 'login', 'email', 'profile', 'locked', 'reset'],
};

function ticketsCsv(perClass: number): string {
  const lines = ['id,body,team'];
  for (const [team, words] of Object.entries(WORDS)) {
    for (let i = 0; i < perClass; i++) {
      const w = [words[i % 6]!, 'please', words[(i * 5 + 1) % 6]!, 'help', words[(i + 3) % 6]!];
      lines.push(`${team}-${i},"${w.join(' ')} ${i % 7 ? 'today' : 'now'}",${team}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

async function projectWith(file: string, text: string, add: string[]): Promise<string> {
  const dir = tempDir('d2-select-');
  expect((await runD2(['init'], { cwd: dir })).exitCode).toBe(0);
  writeFiles(dir, { [file]: text });
  const added = await runD2(['add', file, ...add], { cwd: dir });
  expect(added.exitCode, added.stderr).toBe(0);
  return dir;
}

function lockOf(dir: string) {
  const { lock, problems } = parseLock(fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8'));
  expect(problems).toEqual([]);
  return lock!;
}

describe('choosing the model of a text or table build', { tags: ['slow'] }, () => {
  it('a small table: chosen by 5-fold cross-validated loss, recorded in d2.lock, the same model on --force', async () => {
    const dir = await projectWith('data/points.csv', tableCsv(300), ['--label-column', 'kind', '--id-column', 'id']);
    const built = await runD2(['build', '--engine', 'wasm', '--json'], { cwd: dir });
    expect(built.exitCode, built.stderr).toBe(0);
    const b = lastJson(built.stdout).data.build;
    const sel = b.selection;
    expect(sel).toMatchObject({ method: 'cross-validation', k: 5 });
    for (const c of ['linear', 'mlp']) {
      expect(sel.candidates[c].foldLosses).toHaveLength(5);
      expect(sel.candidates[c].cvLoss).toBeCloseTo(sel.candidates[c].foldLosses.reduce((a: number, x: number) => a + x, 0) / 5, 10);
    }
    expect(sel.candidates[sel.chosen].cvLoss).toBe(Math.min(sel.candidates.linear.cvLoss, sel.candidates.mlp.cvLoss));
    const lock = lockOf(dir);
    expect(lock.model.selection).toEqual({
      chosen: sel.chosen, method: 'cross-validation', k: 5,
      linear: Math.round(sel.candidates.linear.cvLoss * 1e6) / 1e6, mlp: Math.round(sel.candidates.mlp.cvLoss * 1e6) / 1e6,
    });

    // Reproducible: trained again from scratch, the same folds, losses, choice and model.
    const again = await runD2(['build', '--engine', 'wasm', '--force'], { cwd: dir });
    expect(again.exitCode, again.stderr).toBe(0);
    const line = again.stdout.split('\n').find((l) => l.includes('kept by cross-validated loss'));
    expect(line).toMatch(/kept by cross-validated loss \(5-fold mean\): softmax regression \d\.\d{4}, MLP \d\.\d{4}$/);
    expect(line!.length).toBeLessThanOrEqual(100);
    const forced = lastJson((await runD2(['build', '--engine', 'wasm', '--force', '--json'], { cwd: dir })).stdout).data.build;
    expect(forced.model).toBe(b.model);
    expect(forced.selection).toEqual(sel);
    expect(lockOf(dir).model).toEqual(lock.model);
  }, 300_000);

  it('a small text source: the cross-validated choice is in d2.lock', async () => {
    const dir = await projectWith('tickets.csv', ticketsCsv(30), ['--text-column', 'body', '--label-column', 'team', '--id-column', 'id']);
    const built = await runD2(['build', '--engine', 'wasm', '--json'], { cwd: dir });
    expect(built.exitCode, built.stderr).toBe(0);
    const sel = lastJson(built.stdout).data.build.selection;
    expect(sel).toMatchObject({ method: 'cross-validation', k: 5 });
    const lock = fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8');
    expect(lock).toMatch(new RegExp(`selection:\\n {4}chosen: ${sel.chosen}\\n {4}method: cross-validation\\n {4}k: 5\\n {4}linear: [0-9.]+\\n {4}mlp: [0-9.]+\\n`));
  }, 300_000);

  it('a larger table (2,000 train + validation items or more): chosen by the validation split', async () => {
    const dir = await projectWith('data/points.csv', tableCsv(2600), ['--label-column', 'kind', '--id-column', 'id']);
    const built = await runD2(['build', '--engine', 'wasm', '--json'], { cwd: dir });
    expect(built.exitCode, built.stderr).toBe(0);
    const r = lastJson(built.stdout).data;
    expect(r.data.counts.train.total + r.data.counts.validation.total).toBeGreaterThanOrEqual(2000);
    const sel = r.build.selection;
    expect(sel.method).toBe('validation');
    expect(sel.k).toBeUndefined();
    expect(sel.candidates.linear.cvLoss).toBeUndefined();
    expect(sel.candidates[sel.chosen].valLoss).toBe(Math.min(sel.candidates.linear.valLoss, sel.candidates.mlp.valLoss));
    expect(lockOf(dir).model.selection).toMatchObject({ chosen: sel.chosen, method: 'validation' });
    expect(lockOf(dir).model.selection!.k).toBeUndefined();
  }, 300_000);
});
