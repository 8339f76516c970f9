/**
 * Helpers of end-to-end tests that run bin/d2 with `--json` and read its last record, and that
 * rewrite d2.yaml's `model:` section.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { lastJson, runD2 } from './index.js';

/** Replaces (or appends) the `model:` section of `dir`'s d2.yaml with `model` (indented lines). */
export function setModelSection(dir: string, model: string): void {
  const file = path.join(dir, 'd2.yaml');
  const text = fs.readFileSync(file, 'utf8').replace(/\nmodel:\n(?: {2}.*\n?)*/, '\n');
  fs.writeFileSync(file, `${text.trimEnd()}\n\nmodel:\n${model}`);
}

/** Runs `d2 ARGS --json` in `cwd`, expects exit 0 and returns the result's data. */
export async function ok(args: string[], cwd: string): Promise<any> {
  const r = await runD2([...args, '--json'], { cwd });
  expect(r.exitCode, r.stderr + r.stdout.slice(-2000)).toBe(0);
  return lastJson(r.stdout).data;
}

/** Runs `d2 ARGS --json` in `cwd`, expects exit 1 and returns the error record. */
export async function fails(args: string[], cwd: string): Promise<{ code: string; message: string; hint?: string; data: any }> {
  const r = await runD2([...args, '--json'], { cwd });
  expect(r.exitCode, r.stdout.slice(-2000)).toBe(1);
  return lastJson(r.stdout).error;
}

/**
 * `d2 predict PATHS --json --top K --rev REV` in `cwd` with every class's probability, as one
 * row of `classes` a path (Float32Array, row-major), to compare bit for bit with an evaluation.
 */
export async function predictRows(cwd: string, paths: readonly string[], classes: readonly string[], rev = 'HEAD'): Promise<Float32Array> {
  const r = await runD2(['predict', ...paths, '--json', '--top', String(classes.length), '--engine', 'wasm', '--rev', rev], { cwd });
  expect(r.exitCode, r.stderr).toBe(0);
  const preds = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'prediction');
  const rows = new Float32Array(preds.length * classes.length);
  preds.forEach((p, i) => {
    for (const t of p.top as { label: string; probability: number }[]) rows[i * classes.length + classes.indexOf(t.label)] = t.probability;
  });
  return rows;
}
