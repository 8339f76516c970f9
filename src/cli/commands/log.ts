/** `d2 log [rev]` */
import type { Command } from 'commander';
import { action, examples, type Runtime } from '../action.js';
import { renderLog } from '../render/text.js';
import { parseLimit } from './status.js';

export function registerLog(program: Command, rt: Runtime): void {
  program
    .command('log')
    .description('list commits, newest first, with what each recorded')
    .argument('[rev]', 'start from this revision (default HEAD)')
    .option('-n, --limit <n>', 'at most this many commits (0 = all)', '0')
    .addHelpText('after', examples('$ d2 log', '$ d2 log -n 5', '$ d2 log HEAD~3 --json'))
    .action(action<{ limit: string }>(rt, async (ctx, [rev], o) => {
      const limit = parseLimit(o.limit);
      const result = await ctx.api.log({ dir: ctx.flags.dir, rev, limit: limit || undefined });
      await ctx.emit('log', result, (r) => renderLog(r, ctx.style));
    }));
}
