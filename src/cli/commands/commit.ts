/** `d2 commit -m MSG` */
import type { Command } from 'commander';
import { action, examples, type Runtime } from '../action.js';
import { renderCommit } from '../render/text.js';

export function registerCommit(program: Command, rt: Runtime): void {
  program
    .command('commit')
    .description("commit d2's files (d2.yaml, d2.lock, d2.sources/, d2.remotes.yaml, .gitignore) to git")
    .requiredOption('-m, --message <text>', 'the commit message')
    .addHelpText('after', examples('$ d2 commit -m "relabel 40 shirts as tops"'))
    .action(action<{ message: string }>(rt, async (ctx, _args, o) => {
      const result = await ctx.api.commit({ ...ctx.common(), message: o.message, env: ctx.io.env, lockTimeoutMs: ctx.flags.lockTimeoutMs });
      await ctx.emit('commit', result, renderCommit);
    }));
}
