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

function detailLines(err: D2Error): string[] {
  const issues = err.data.issues;
  if (Array.isArray(issues) && issues.length > 1) {
    return issues.map((i) => (typeof i === 'string' ? i : i && typeof i === 'object' && 'message' in i
      ? `${String((i as { file?: string }).file ?? '')}${(i as { line?: number }).line !== undefined ? `:${(i as { line: number }).line}:${(i as { col?: number }).col ?? 1}` : ''}: ${String((i as { message: string }).message)}` : String(i)));
  }
  const problems = err.data.problems;
  if (Array.isArray(problems) && problems.length > 1) {
    return problems.slice(0, 50).map((p) => (p && typeof p === 'object' && 'message' in p ? String((p as { message: string }).message) : String(p)));
  }
  return [];
}

export function renderError(io: CliIO, err: D2Error, view: ErrorView): void {
  if (view.json) {
    const out: Record<string, unknown> = { type: 'error', error: err.toJSON() };
    if (view.debug && err.stack) (out.error as Record<string, unknown>).stack = err.stack;
    io.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  const s = styleFor(io.stderr, io);
  const lines = [`${s.red('error:')} ${err.message}`];
  for (const d of detailLines(err)) lines.push(`  ${d}`);
  if (err.hint) lines.push(`${s.dim('hint:')} ${err.hint}`);
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
