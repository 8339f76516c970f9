/**
 * What a command action receives: the global flags resolved once, the progress renderer, the
 * abort signal, and `emit`, the one way a result reaches stdout (text or a JSON result line).
 */
import type { Command } from 'commander';
import type * as library from '../index.js';
import { InvalidArgument, type ProgressEvent } from '../index.js';
import type { CliIO } from './io.js';
import { createProgress, type ProgressMode, type ProgressRenderer } from './render/progress.js';
import { resultLine } from './render/result-line.js';
import { styleFor, type Style } from './render/style.js';

/** The api functions the CLI calls; tests substitute mocks (DVC's tests/unit/command). */
export type Api = Pick<typeof library, 'init' | 'add' | 'status' | 'commit' | 'log' | 'fsck' | 'data' | 'build' | 'diff' | 'predict' | 'exportModel' | 'remoteAdd' | 'remoteList' | 'remoteRemove' | 'push' | 'pull' | 'gc'
  | 'suggest'
  | 'report' | 'ciInit'
  | 'note' | 'expRun' | 'expList' | 'expShow' | 'expApply' | 'expRemove'
  | 'restore'
  | 'review' | 'label' | 'serializeDecisionsCsv'
>;

export interface GlobalFlags {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  debug: boolean;
  dir: string;
  lockTimeoutMs?: number;
}

export interface RunState {
  exitCode: number;
  controller: AbortController;
  flags?: GlobalFlags;
}

export class CommandContext {
  readonly progress: ProgressRenderer;
  readonly style: Style;
  readonly errStyle: Style;

  constructor(readonly io: CliIO, readonly flags: GlobalFlags, readonly api: Api, private readonly state: RunState, command = '') {
    this.progress = createProgress(progressMode(io, flags, command), io);
    if (JSON_PROGRESS_COMMANDS.includes(command)) this.progress.preload?.();
    this.style = styleFor(io.stdout, io);
    this.errStyle = styleFor(io.stderr, io);
  }

  get signal(): AbortSignal {
    return this.state.controller.signal;
  }

  readonly onProgress = (e: ProgressEvent): void => this.progress.onProgress(e);

  /** Common api options: where, progress, cancellation. */
  common(): { dir: string; onProgress: (e: ProgressEvent) => void; signal: AbortSignal } {
    return { dir: this.flags.dir, onProgress: this.onProgress, signal: this.signal };
  }

  /**
   * Print the result of `command`: a JSON result line, or the text view. `--quiet` drops the
   * chatter (progress, warnings, "Next:" hints), never the result that was asked for.
   */
  async emit<T>(command: string, data: T, text: (data: T) => string): Promise<void> {
    await this.progress.finish();
    if (this.flags.json) {
      this.io.stdout.write(resultLine(command, data));
    } else {
      const out = text(data);
      this.io.stdout.write(this.flags.quiet ? withoutHints(out) : out);
    }
  }

  /** Standard input's lines (a final empty line dropped; blank lines kept: each is an input). */
  async readStdinLines(): Promise<string[]> {
    const chunks: Buffer[] = [];
    for await (const c of this.io.stdin ?? []) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
    const text = Buffer.concat(chunks).toString('utf8').replace(/^\uFEFF/, '');
    const lines = text.split(/\r?\n/);
    if (lines[lines.length - 1] === '') lines.pop();
    return lines;
  }

  /** The command ran, but a check the user asked for failed (exit code 3). */
  checkFailed(): void {
    this.state.exitCode = 3;
  }

  warn(message: string): void {
    if (!this.flags.json && !this.flags.quiet) this.io.stderr.write(this.errStyle.yellow(`warning: ${message}\n`));
  }
}

/**
 * The commands whose `--json` output starts with progress records (docs/json-output.md lists
 * the same ones); every other command prints its one result record alone, so
 * `d2 status --json | jq .data.clean` reads one value.
 */
export const JSON_PROGRESS_COMMANDS: readonly string[] = ['add', 'fsck', 'data', 'build', 'diff', 'predict', 'push', 'pull', 'gc', 'review', 'suggest', 'report', 'exp'];

/** A text view without its "Next: …" lines (what --quiet leaves out). */
export function withoutHints(text: string): string {
  // eslint-disable-next-line no-control-regex
  const kept = text.split('\n').filter((l) => !/^(?:\u001b\[[0-9;]*m)*Next: /.test(l)).join('\n');
  return kept.trim() === '' ? '' : kept;
}

/** A progress mode (see render/progress.ts). */
function progressMode(io: CliIO, flags: GlobalFlags, command: string): ProgressMode {
  if (flags.json) return JSON_PROGRESS_COMMANDS.includes(command) ? 'json' : 'quiet';
  if (flags.quiet) return 'quiet';
  const ci = io.env.CI !== undefined && io.env.CI !== '' && io.env.CI !== 'false';
  return io.stderr.isTTY && !ci ? 'tty' : 'plain';
}

export function readGlobalFlags(cmd: Command, io: CliIO): GlobalFlags {
  const o = cmd.optsWithGlobals() as { json?: boolean; quiet?: boolean; verbose?: boolean; debug?: boolean; dir?: string; lockTimeout?: string };
  const rawTimeout = o.lockTimeout ?? io.env.D2_LOCK_TIMEOUT;
  let lockTimeoutMs: number | undefined;
  if (rawTimeout !== undefined && rawTimeout !== '') {
    const seconds = Number(rawTimeout);
    if (!Number.isFinite(seconds) || seconds < 0) throw new InvalidArgument(`lock timeout '${rawTimeout}' is not a number of seconds`);
    lockTimeoutMs = seconds * 1000;
  }
  const flags: GlobalFlags = {
    json: Boolean(o.json),
    quiet: Boolean(o.quiet),
    verbose: Boolean(o.verbose) || Boolean(o.debug),
    debug: Boolean(o.debug),
    dir: o.dir ? resolveFrom(io.cwd, o.dir) : io.cwd,
  };
  if (lockTimeoutMs !== undefined) flags.lockTimeoutMs = lockTimeoutMs;
  return flags;
}

function resolveFrom(cwd: string, p: string): string {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) ? p : `${cwd.replace(/[\\/]$/, '')}/${p}`;
}
