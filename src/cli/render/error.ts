/**
 * How a failure is shown: one `error:` line (plus `hint:`, and every issue of a manifest or
 * walk problem list) on stderr, or a `{"type":"error"}` JSON line on stdout with `--json`. The
 * stack trace only with `--debug`. Bugs get a "please report" text with versions.
 */
import type { D2Error } from '../../index.js';
import type { CliIO } from '../io.js';
import { styleFor } from './style.js';

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

const WIDTH = 100;

/**
 * Fold a line at spaces to WIDTH columns; continuation lines get `indent`. A word longer than
 * the width (a long path) is left whole on its own line rather than cut.
 */
export function foldLine(line: string, indent: string, width = WIDTH): string[] {
  if (line.length <= width) return [line];
  const lead = /^ */.exec(line)![0];
  const out: string[] = [];
  let current = lead;
  for (const word of line.slice(lead.length).split(' ')) {
    const next = current === lead ? `${lead}${word}` : `${current} ${word}`;
    const limit = out.length === 0 ? width : width - indent.length;
    if (next.length > limit && current !== lead) {
      out.push(current);
      current = word;
    } else {
      current = next;
    }
  }
  if (current !== lead) out.push(current);
  return out.map((l, i) => (i === 0 ? l : `${indent}${l}`));
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
  const [first, ...rest] = foldLine(`error: ${message}`, '  ');
  const lines = [`${s.red('error:')}${first!.slice('error:'.length)}`, ...rest];
  for (const d of detailLines(err)) lines.push(...foldLine(`  ${d}`, '    '));
  if (hint) {
    const [h, ...more] = foldLine(`hint: ${hint}`, '  ');
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
