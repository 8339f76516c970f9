/**
 * Test builders (not part of the published build): temporary projects, the real `bin/d2`
 * driven through execa, fixture images. Tests build what they need inline with these instead
 * of copying fixture trees around.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const D2_BIN = path.join(REPO_ROOT, 'bin', 'd2');
export const FIXTURE_IMAGES = path.join(REPO_ROOT, 'fixtures', 'fashion-mnist');

/** Fixed identity and time, so commit oids are reproducible. */
export const TEST_ENV: Record<string, string> = {
  CI: '1',
  NO_COLOR: '1',
  GIT_AUTHOR_NAME: 'd2 test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_AUTHOR_DATE: '@1700000000 +0000',
  GIT_COMMITTER_NAME: 'd2 test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_DATE: '@1700000000 +0000',
  D2_LOCK_TIMEOUT: '20',
};

export function tempDir(prefix = 'd2-test-'): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

/** Write files given as { 'a/b.txt': 'content' | Buffer } under `root`. */
export function writeFiles(root: string, files: Record<string, string | Uint8Array>): void {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
}

/** Copy `perClass` fixture images of each of the first `classes` classes into `dest/<class>/`. */
export function copyFixtureImages(dest: string, { perClass = 5, classes = 3 } = {}): string[] {
  const out: string[] = [];
  const names = fs.readdirSync(FIXTURE_IMAGES).filter((n) => fs.statSync(path.join(FIXTURE_IMAGES, n)).isDirectory()).sort().slice(0, classes);
  for (const cls of names) {
    fs.mkdirSync(path.join(dest, cls), { recursive: true });
    for (const f of fs.readdirSync(path.join(FIXTURE_IMAGES, cls)).sort().slice(0, perClass)) {
      fs.copyFileSync(path.join(FIXTURE_IMAGES, cls, f), path.join(dest, cls, f));
      out.push(`${cls}/${f}`);
    }
  }
  return out;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string>;
  input?: string;
  /**
   * Run without the power to bypass file permissions. Root reads any file, so to test an
   * unreadable file as root d2 runs under `setpriv` without CAP_DAC_OVERRIDE/READ_SEARCH.
   */
  noPermissionBypass?: boolean;
}

const DROP_DAC = ['--bounding-set', '-dac_override,-dac_read_search', '--inh-caps', '-dac_override,-dac_read_search'];

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Run the real d2 command; never throws on a non-zero exit (assert `exitCode`). */
export async function runD2(args: string[], options: RunOptions): Promise<RunResult> {
  const asRoot = options.noPermissionBypass && process.getuid?.() === 0;
  const [file, argv] = asRoot ? ['setpriv', [...DROP_DAC, process.execPath, D2_BIN, ...args]] : [process.execPath, [D2_BIN, ...args]];
  const r = await execa(file, argv, {
    cwd: options.cwd,
    env: { ...TEST_ENV, ...options.env },
    extendEnv: true,
    reject: false,
    input: options.input,
    stripFinalNewline: false,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** The final `--json` record of a run (result or error). */
export function lastJson(stdout: string): { type: string; command?: string; formatVersion?: number; data?: any; error?: any } {
  const lines = stdout.trim().split('\n').filter(Boolean);
  return JSON.parse(lines[lines.length - 1]!);
}

/** Run the real git CLI (to check what d2 wrote). */
export async function git(args: string[], cwd: string): Promise<RunResult> {
  const r = await execa('git', args, { cwd, reject: false, env: { ...TEST_ENV } });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}
