/**
 * The launcher's head start (bin/d2): for `d2 status`, begin the stat of large source folders
 * before the rest of d2 loads (api/prefetch.ts). Reads argv the way main.ts's global options
 * do, but only to find the command and -C; anything unexpected means no prefetch, never an
 * error: status works the same without one.
 *
 * The one CLI module that imports an api module directly, not through index.ts: index.ts
 * loads all of d2, which is what this module exists to run ahead of.
 */
import path from 'node:path';
import { prefetchStatus } from '../api/prefetch.js';

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

export function prefetchFor(argv: readonly string[], cwd = process.cwd(), minEntries?: number): void {
  const { command, dir } = commandAndDir(argv, cwd);
  if (command === 'status') prefetchStatus(dir, minEntries);
}
