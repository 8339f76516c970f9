/**
 * The launcher's head start (bin/d2) for `d2 status`, run before the rest of d2 loads:
 * begin the stat of large source folders, and when the command is a plain status (global
 * flags and --limit only) and nothing it depends on changed since the last clean status,
 * answer alone, printing what main would print (project/head-start.ts). Reads
 * argv the way main.ts's options do, but only as far as it must: anything else, or any
 * doubt, and main runs as usual; this module never fails a command.
 *
 * The one CLI module that imports an api module directly, not through index.ts: index.ts
 * loads all of d2, which is what this module exists to run ahead of.
 */
import path from 'node:path';
import { statusHeadStart } from '../project/head-start.js';
import { processIO, type CliIO } from './io.js';
import { resultLine } from './render/result-line.js';
import { styleFor } from './render/style.js';
import { renderStatus } from './render/text.js';

export interface PlainStatus {
  dir: string;
  json: boolean;
  quiet: boolean;
  limit: number;
}

interface ArgvView {
  /** The first positional argument. */
  command?: string;
  /** Where the command runs (-C / --dir, else the working directory). */
  dir: string;
  /** The options of a plain `d2 status` (no sources named, nothing but global flags and --limit). */
  plain?: PlainStatus;
}

/** Read argv as far as the head start needs: main.ts's global options, the command, and whether it is a plain status. */
function readArgv(argv: readonly string[], cwd: string): ArgvView {
  const plain: PlainStatus = { dir: cwd, json: false, quiet: false, limit: 10 };
  let command: string | undefined;
  let extra = false; // something a plain status does not have
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-C' || a === '--dir') {
      if (i + 1 >= argv.length) extra = true;
      plain.dir = path.resolve(cwd, argv[++i] ?? '.');
    } else if (a.startsWith('--dir=')) plain.dir = path.resolve(cwd, a.slice('--dir='.length));
    else if (a.startsWith('-C')) plain.dir = path.resolve(cwd, a.slice(2));
    else if (a === '--json') plain.json = true;
    else if (a === '-q' || a === '--quiet') plain.quiet = true;
    else if (a === '-v' || a === '--verbose' || a === '--debug') continue; // no effect on a clean status
    else if (a === '--lock-timeout') {
      i++;
      extra = true;
    } else if ((a === '--limit' || a.startsWith('--limit=')) && command !== undefined) {
      const limit = a === '--limit' ? argv[++i] : a.slice('--limit='.length);
      if (limit !== undefined && /^\d+$/.test(limit)) plain.limit = Number(limit);
      else extra = true; // main reports the usage error
    } else if (command === undefined && !a.startsWith('-')) command = a;
    else extra = true;
  }
  const view: ArgvView = { dir: plain.dir };
  if (command !== undefined) view.command = command;
  if (command === 'status' && !extra) view.plain = plain;
  return view;
}

/** The command argv names and the folder it runs in (-C), as far as the global options show. */
export function commandAndDir(argv: readonly string[], cwd: string): { command?: string; dir: string } {
  const { command, dir } = readArgv(argv, cwd);
  return command === undefined ? { dir } : { command, dir };
}

/** The options of a plain `d2 status`, else undefined. */
export function plainStatusArgs(argv: readonly string[], cwd: string): PlainStatus | undefined {
  return readArgv(argv, cwd).plain;
}

/**
 * Run ahead of d2: returns the exit code when `d2 status` was answered here, else undefined
 * (main runs). `minEntries` is for tests (see workspace/prefetch.ts).
 */
export async function headStart(argv: readonly string[], io: CliIO = processIO(), minEntries?: number): Promise<number | undefined> {
  try {
    const { command, dir, plain } = readArgv(argv, io.cwd);
    if (command !== 'status') return undefined;
    const result = await statusHeadStart(dir, plain !== undefined, minEntries);
    if (!plain || !result) return undefined;
    if (plain.json) io.stdout.write(resultLine('status', result));
    else io.stdout.write(renderStatus(result, styleFor(io.stdout, io), plain.limit)); // --quiet: the result still
    return 0;
  } catch {
    return undefined; // only a head start
  }
}
