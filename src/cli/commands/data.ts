/** `d2 data` */
import type { Command } from 'commander';
import { action, examples, type Runtime } from '../action.js';
import { renderData } from '../render/data.js';
import { parseLimit } from './status.js';

interface DataFlags {
  rev?: string;
  preprocess: boolean;
  limit: string;
}

export function registerData(program: Command, rt: Runtime): void {
  program
    .command('data')
    .description('resolve d2.yaml into the dataset: counts per split and class, problems, and its preprocessed form (cached)')
    .option('-r, --rev <rev>', 'the dataset of this revision (default: the working tree)')
    .option('--no-preprocess', 'only resolve items, labels and splits')
    .option('--limit <n>', 'classes shown in the table, problems listed (0 = all)', '30')
    .addHelpText('after', examples('$ d2 data', '$ d2 data --rev HEAD~1 --no-preprocess', '$ d2 data --json | tail -1 | jq .data.counts.train'))
    .action(action<DataFlags>(rt, async (ctx, _args, o) => {
      const limit = parseLimit(o.limit);
      const result = await ctx.api.data({ ...ctx.common(), rev: o.rev, preprocess: o.preprocess, lockTimeoutMs: ctx.flags.lockTimeoutMs });
      if (result.blocked) ctx.checkFailed();
      await ctx.emit('data', result, (r) => renderData(r, ctx.style, limit));
    }));
}
