// Small helpers shared by the benchmarks: timing, medians, running commands, printing tables.
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const D2 = path.join(REPO, 'bin', 'd2');
// Outside d2's own git repository: a d2 project inside it would commit into d2's history.
export const WORK = process.env.D2_BENCH_DIR ?? path.join(os.tmpdir(), 'd2-bench');

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Run a command, return wall seconds; throws with its output if it fails. */
export async function timed(file, args, options = {}) {
  const t = performance.now();
  const r = await execa(file, args, { reject: false, ...options });
  const seconds = (performance.now() - t) / 1000;
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.exitCode}):\n${r.stderr}\n${r.stdout}`.slice(0, 4000));
  return { seconds, stdout: r.stdout, stderr: r.stderr };
}

export async function shell(script, options = {}) {
  return timed('bash', ['-c', script], options);
}

export function freshDir(name) {
  const dir = path.join(WORK, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export function table(headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map(String));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r, k) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ') + (k === 0 ? `\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : '')).join('\n');
}

export async function have(cmd) {
  const r = await execa('bash', ['-c', `command -v ${cmd}`], { reject: false });
  return r.exitCode === 0;
}
