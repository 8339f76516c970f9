/** `d2 status [sources...]` */
import type { Command } from 'commander';
import { InvalidArgument } from '../../index.js';
import { action, examples, type Runtime } from '../action.js';
import { renderStatus } from '../render/text.js';

export function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgument(`--limit '${value}' must be a whole number (0 = no limit)`);
  return n;
}

export function registerStatus(program: Command, rt: Runtime): void {
  program
    .command('status')
    .description('show what changed since the last commit: recorded changes, and files not added yet')
    .argument('[sources...]', 'only these sources')
    .option('--limit <n>', 'paths shown per kind of change (0 = all)', '10')
    .addHelpText('after', examples('$ d2 status', '$ d2 status fashion --limit 0', '$ d2 status --json | jq .data.clean'))
    .action(action<{ limit: string }>(rt, async (ctx, sources, o) => {
      const limit = parseLimit(o.limit);
      const result = await ctx.api.status({ ...ctx.common(), sources });
      await ctx.emit('status', result, (r) => renderStatus(r, ctx.style, limit));
    }));
}
