/**
 * Glue between commander and a command body: resolve the global flags, build the context,
 * run the body, and always stop the progress display, even on failure.
 */
import type { Command } from 'commander';
import { CommandContext, readGlobalFlags, type Api, type RunState } from './context.js';
import type { CliIO } from './io.js';

export interface Runtime {
  io: CliIO;
  api: Api;
  state: RunState;
}

export type Body<O> = (ctx: CommandContext, args: string[], options: O) => Promise<void>;

/** Wrap a command body as a commander action. */
export function action<O>(rt: Runtime, body: Body<O>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const options = args[args.length - 2] as O;
    const positional = args.slice(0, -2).flatMap((a) => (Array.isArray(a) ? (a as string[]) : a === undefined ? [] : [String(a)]));
    const flags = readGlobalFlags(cmd, rt.io);
    rt.state.flags = flags;
    const name = cmd.parent && cmd.parent.parent ? `${cmd.parent.name()} ${cmd.name()}` : cmd.name();
    const ctx = new CommandContext(rt.io, flags, rt.api, rt.state, name);
    try {
      await body(ctx, positional, options);
    } finally {
      await ctx.progress.finish();
    }
  };
}

export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}
