/** `d2 gc [--prune]`: delete objects nothing references */
import type { Command } from 'commander';
import { action, examples, type Runtime } from '../action.js';
import { renderGc } from '../render/remote.js';

export function registerGc(program: Command, rt: Runtime): void {
  program
    .command('gc')
    .description('find local objects no revision and no working state references (dry run); --prune deletes them')
    .option('--prune', 'delete them')
    .addHelpText('after', `${examples('$ d2 gc', '$ d2 gc --prune')}
Kept: the raw data of every commit of every branch and tag and of the working tree, and the
models their d2.lock files name with those builds' caches. Builds never committed and packs of
old preprocessing are caches: they are deleted, and a later build computes them again.
`)
    .action(action<{ prune?: boolean }>(rt, async (ctx, _args, o) => {
      const result = await ctx.api.gc({ ...ctx.common(), prune: o.prune === true, lockTimeoutMs: ctx.flags.lockTimeoutMs });
      await ctx.emit('gc', result, (r) => renderGc(r, ctx.style));
    }));
}
