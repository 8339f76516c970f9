/**
 * The launcher's head start (bin/d2) for `d2 status`, run before the rest of d2 loads:
 * begin the stat of large source folders (api/prefetch.ts), and when the command is a plain
 * status (global flags and --limit only) and nothing it depends on changed since the last
 * clean status (api/status-stamp.ts), answer alone, printing what main would print. Reads
 * argv the way main.ts's options do, but only as far as it must: anything else, or any
 * doubt, and main runs as usual; this module never fails a command.
 *
 * The one CLI module that imports api modules directly, not through index.ts: index.ts loads
 * all of d2, which is what this module exists to run ahead of.
 */
import path from 'node:path';
import { prefetchStatus } from '../api/prefetch.js';
import { statusFromStamp } from '../api/status-stamp.js';
import { processIO, type CliIO } from './io.js';
import { resultLine } from './render/result-line.js';
import { styleFor } from './render/style.js';
import { renderStatus } from './render/text.js';

/** The command argv names and the folder it runs in (-C), as far as the global options show. */
export function commandAndDir(argv: readonly string[], cwd: string): { command?: string; dir: string } {
  let dir = cwd;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-C' || a === '--dir') dir = path.resolve(cwd, argv[++i] ?? '.');
    else if (a.startsWith('--dir=')) dir = path.resolve(cwd, a.slice('--dir='.length));
    else if (a.startsWith('-C')) dir = path.resolve(cwd, a.slice(2));
    else if (a === '--lock-timeout') i++;
    else if (!a.startsWith('-')) return { command: a, dir };
  }
  return { dir };
}

export interface PlainStatus {
  dir: string;
  json: boolean;
  quiet: boolean;
  limit: number;
}

/** The options of a plain `d2 status` (no sources named, nothing but global flags and --limit), else undefined. */
export function plainStatusArgs(argv: readonly string[], cwd: string): PlainStatus | undefined {
  const out: PlainStatus = { dir: cwd, json: false, quiet: false, limit: 10 };
  let command = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let limit: string | undefined;
    if (a === '-C' || a === '--dir') {
      if (i + 1 >= argv.length) return undefined;
      out.dir = path.resolve(cwd, argv[++i]!);
    } else if (a.startsWith('--dir=')) out.dir = path.resolve(cwd, a.slice('--dir='.length));
    else if (a.startsWith('-C') && a.length > 2) out.dir = path.resolve(cwd, a.slice(2));
    else if (a === '--json') out.json = true;
    else if (a === '-q' || a === '--quiet') out.quiet = true;
    else if (a === '-v' || a === '--verbose' || a === '--debug') continue;
    else if (a === '--limit' && command) limit = argv[++i];
    else if (a.startsWith('--limit=') && command) limit = a.slice('--limit='.length);
    else if (a === 'status' && !command) command = true;
    else return undefined;
    if (limit !== undefined) {
      if (!/^\d+$/.test(limit)) return undefined; // main reports the usage error
      out.limit = Number(limit);
    }
  }
  return command ? out : undefined;
}

/**
 * Run ahead of d2: returns the exit code when `d2 status` was answered here, else undefined
 * (main runs). `minEntries` is for tests (see workspace/prefetch.ts).
 */
export async function headStart(argv: readonly string[], io: CliIO = processIO(), minEntries?: number): Promise<number | undefined> {
  try {
    const { command, dir } = commandAndDir(argv, io.cwd);
    if (command !== 'status') return undefined;
    prefetchStatus(dir, minEntries);
    const plain = plainStatusArgs(argv, io.cwd);
    const result = plain && (await statusFromStamp(plain.dir));
    if (!plain || !result) return undefined;
    if (plain.json) io.stdout.write(resultLine('status', result));
    else if (!plain.quiet) io.stdout.write(renderStatus(result, styleFor(io.stdout, io), plain.limit));
    return 0;
  } catch {
    return undefined; // only a head start
  }
}
