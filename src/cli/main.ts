/**
 * The `d2` command: `createProgram` declares commands and global flags over the library API;
 * `main` runs it and is the single place that turns outcomes into exit codes:
 *   0 ok · 1 user error (a D2Error, a usage error) · 2 internal failure (a bug) ·
 *   3 ran, but a requested check failed · 130 interrupted (SIGINT/SIGTERM) ·
 *   141 stdout was closed by its reader (as a process killed by SIGPIPE reports).
 */
import { Command, CommanderError } from 'commander';
import * as library from '../index.js';
import { D2Error, InternalError, InvalidArgument, Interrupted } from '../index.js';
import type { Runtime } from './action.js';
import { registerAdd } from './commands/add.js';
import { registerBuild } from './commands/build.js';
import { registerCommit } from './commands/commit.js';
import { registerData } from './commands/data.js';
import { registerDiff } from './commands/diff.js';
import { registerPredict } from './commands/predict.js';
import { registerFsck } from './commands/fsck.js';
import { registerInit } from './commands/init.js';
import { registerLog } from './commands/log.js';
import { registerNote } from './commands/note.js';
import { registerExp } from './commands/exp.js';
import { registerStatus } from './commands/status.js';
import { registerRemote } from './commands/remote.js';
import { registerPush } from './commands/push.js';
import { registerPull } from './commands/pull.js';
import { registerGc } from './commands/gc.js';
import { registerExport } from './commands/export.js';
import { registerSuggest } from './commands/suggest.js';
import { registerReport } from './commands/report.js';
import { registerCi } from './commands/ci.js';
import { registerRestore } from './commands/restore.js';
import { registerReview } from './commands/review.js';
import { registerLabel } from './commands/label.js';
import type { Api, RunState } from './context.js';
import { processIO, type CliIO } from './io.js';
import { renderError } from './render/error.js';
import { VERSION } from '../util/version.js';

export const EXIT = { ok: 0, user: 1, internal: 2, checkFailed: 3, interrupted: 130, pipeClosed: 141 } as const;

export function createProgram(io: CliIO, api: Api, state: RunState): Command {
  const program = new Command();
  program
    .name('d2')
    .description('git for Software 2.0: version datasets, build models from them, diff their behaviour')
    .version(VERSION, '-V, --version')
    .option('--json', 'machine-readable output: JSON lines on stdout (progress, then one result or error)')
    .option('-q, --quiet', 'no progress, warnings or hints: only results and errors')
    .option('-v, --verbose', 'more detail')
    .option('--debug', 'stack traces on errors')
    .option('-C, --dir <path>', 'run as if d2 was started in <path>')
    .option('--lock-timeout <seconds>', 'how long to wait for another d2 holding the store lock (default 60, or $D2_LOCK_TIMEOUT)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: () => {
        // main renders usage errors itself (text or JSON)
      },
    })
    .addHelpText('after', `
Examples:
  $ d2 init && d2 add data/images --labels dirname && d2 commit -m "first images"
  $ d2 status
  $ d2 log

Exit codes: 0 ok, 1 user error, 2 internal error, 3 a requested check failed, 130 interrupted.
Docs: docs/ in d2's repository (manifest.md, json-output.md, errors.md).
`);
  const rt: Runtime = { io, api, state };
  registerInit(program, rt);
  registerAdd(program, rt);
  registerStatus(program, rt);
  registerCommit(program, rt);
  registerLog(program, rt);
  registerNote(program, rt);
  registerExp(program, rt);
  registerData(program, rt);
  registerBuild(program, rt);
  registerDiff(program, rt);
  registerPredict(program, rt);
  registerExport(program, rt);
  registerSuggest(program, rt);
  registerReport(program, rt);
  registerCi(program, rt);
  registerRemote(program, rt);
  registerPush(program, rt);
  registerPull(program, rt);
  registerFsck(program, rt);
  registerGc(program, rt);
  registerRestore(program, rt);
  registerReview(program, rt);
  registerLabel(program, rt);
  for (const cmd of program.commands) {
    cmd.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => undefined });
    cmd.showSuggestionAfterError(true);
  }
  return program;
}

/** A commander error as one git-style line: `unknown command 'stauts' (did you mean 'status'?)`. */
export function usageMessage(text: string): string {
  return text
    .replace(/^error: /, '')
    .replace(/\s*\n\(Did you mean (?:one of )?(.+?)\?\)\s*$/, (_, names: string) => ` (did you mean ${names.split(/,\s*/).map((n) => `'${n}'`).join(' or ')}?)`)
    .trim();
}

export interface MainOptions {
  io?: CliIO;
  api?: Api;
  /** Install SIGINT/SIGTERM handlers that cancel the running command (the real process only). */
  handleSignals?: boolean;
}

export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const io = options.io ?? processIO();
  const state: RunState = { exitCode: EXIT.ok, controller: new AbortController() };
  const program = createProgram(io, options.api ?? library, state);
  const wantsJson = argv.includes('--json');
  const debug = argv.includes('--debug');
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.interrupted); // a second Ctrl-C: stop now
    state.controller.abort(new Interrupted(`interrupted by ${sig}`));
  };
  // The reader of stdout went away (`d2 predict photos | head`): stop the command quietly, as
  // git does on SIGPIPE, instead of dying on an unhandled EPIPE.
  let outputClosed = false;
  const onStdoutError = (e: NodeJS.ErrnoException): void => {
    if (e.code !== 'EPIPE' || outputClosed) return;
    outputClosed = true;
    state.controller.abort(new Interrupted('output closed'));
  };
  if (options.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.stdout.on('error', onStdoutError);
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return state.exitCode;
  } catch (e) {
    if (outputClosed) return EXIT.pipeClosed;
    const view = { json: state.flags?.json ?? wantsJson, debug: state.flags?.debug ?? debug, version: VERSION };
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' || e.exitCode === 0) return EXIT.ok;
      const usage = new InvalidArgument(usageMessage(e.message), { hint: "see 'd2 --help' or 'd2 <command> --help'" });
      renderError(io, usage, view);
      return EXIT.user;
    }
    if (state.controller.signal.aborted && !(e instanceof D2Error && e.code !== 'Interrupted')) {
      renderError(io, e instanceof Interrupted ? e : new Interrupted('interrupted: nothing half-written was kept'), view);
      return EXIT.interrupted;
    }
    if (e instanceof D2Error) {
      renderError(io, e, view);
      return e.code === 'Interrupted' ? EXIT.interrupted : e.code === 'InternalError' ? EXIT.internal : EXIT.user;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    const internal = new InternalError(`internal error: ${err.message}`, { cause: err });
    internal.stack = err.stack;
    renderError(io, internal, view);
    return EXIT.internal;
  } finally {
    if (options.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // stdout stays guarded: what was written last (help, a result) may fail to flush after
      // main returns, when the reader has gone (`d2 --help | head`).
    }
  }
}
