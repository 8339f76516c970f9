/**
 * How a failure is shown: one `error:` line (plus `hint:`, and every issue of a manifest or
 * walk problem list) on stderr, or a `{"type":"error"}` JSON line on stdout with `--json`. The
 * stack trace only with `--debug`. Bugs get a "please report" text with versions.
 */
import type { D2Error } from '../../index.js';
import type { CliIO } from '../io.js';
import { styleFor, wrapText } from './style.js';

/** Error text is folded to this many columns (at spaces; a longer word, a path, stays whole). */
const WIDTH = 100;

export interface ErrorView {
  json: boolean;
  debug: boolean;
  version: string;
}

/**
 * The library names options as the API spells them (`option 'failOn'`); at the command line
 * each is the flag that sets it (`--fail-on`). The one place that maps the two.
 */
export function inFlags(text: string): string {
  return text.replace(/option '([a-z][A-Za-z]*)'/g, (_, name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
}

/** Problems listed under an error line; the rest are counted (all are in the JSON record). */
const SHOWN = 20;

function detailLines(err: D2Error): string[] {
  const issues = err.data.issues;
  if (Array.isArray(issues) && issues.length > 1) {
    return issues.map((i) => (typeof i === 'string' ? i : i && typeof i === 'object' && 'message' in i
      ? `${String((i as { file?: string }).file ?? '')}${(i as { line?: number }).line !== undefined ? `:${(i as { line: number }).line}:${(i as { col?: number }).col ?? 1}` : ''}: ${String((i as { message: string }).message)}` : String(i)));
  }
  const problems = err.data.problems;
  if (Array.isArray(problems) && problems.length > 1) {
    const lines = problems.slice(0, SHOWN).map((p) => (p && typeof p === 'object' && 'message' in p ? String((p as { message: string }).message) : String(p)));
    if (problems.length > SHOWN) lines.push(`… and ${problems.length - SHOWN} more (all of them with --json)`);
    return lines;
  }
  return [];
}

export function renderError(io: CliIO, err: D2Error, view: ErrorView): void {
  const message = inFlags(err.message);
  const hint = err.hint === undefined ? undefined : inFlags(err.hint);
  if (view.json) {
    const out: Record<string, unknown> = { type: 'error', error: { ...err.toJSON(), message, ...(hint !== undefined ? { hint } : {}) } };
    if (view.debug && err.stack) (out.error as Record<string, unknown>).stack = err.stack;
    io.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  const s = styleFor(io.stderr, io);
  // fold before colouring, so the escape codes do not count as columns
  const [first, ...rest] = wrapText(`error: ${message}`, WIDTH, '  ');
  const lines = [`${s.red('error:')}${first!.slice('error:'.length)}`, ...rest];
  for (const d of detailLines(err)) lines.push(...wrapText(`  ${d}`, WIDTH, '    '));
  if (hint) {
    const [h, ...more] = wrapText(`hint: ${hint}`, WIDTH, '  ');
    lines.push(`${s.dim('hint:')}${h!.slice('hint:'.length)}`, ...more);
  }
  if (err.code === 'InternalError') {
    lines.push(`This is a bug in d2 ${view.version} (node ${process.version}, ${process.platform}-${process.arch}).`);
    lines.push('Please report it with the command you ran and the output of the same command with --debug.');
  }
  if (view.debug) {
    const cause = (err as { cause?: unknown }).cause;
    lines.push(s.dim(String(cause instanceof Error ? cause.stack : err.stack)));
  }
  io.stderr.write(`${lines.join('\n')}\n`);
}
