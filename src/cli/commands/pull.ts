/** `d2 pull [REV]`: fetch from a remote what a revision needs */
import type { Command } from 'commander';
import { action, examples, type Runtime } from '../action.js';
import { renderPull } from '../render/remote.js';

export function registerPull(program: Command, rt: Runtime): void {
  program
    .command('pull')
    .description("download what a revision needs (default: HEAD and the working tree) and write the sources' missing working files")
    .argument('[rev]', 'revision to fetch the objects of')
    .option('--remote <name>', 'remote to pull from (default: the default remote)')
    .option('--all', 'every revision of every branch and tag')
    .option('--with-models', 'also the model, evaluation and build record d2.lock names (d2 build then reuses them)')
    .option('--with-cache', "also the built models' packed preprocessing")
    .option('--exps', "also the experiments' data and models (after git fetch brought the experiments; implies --with-models)")
    .option('--no-checkout', "only fill the store; do not write the sources' working files")
    .addHelpText('after', `${examples('$ git clone git@example.com:team/fashion.git && cd fashion && d2 pull && d2 build', '$ d2 pull --with-models', '$ d2 pull HEAD~3 --no-checkout', '$ git fetch && d2 pull --exps')}
Every object is checked against its hash before it enters the store; an interrupted pull keeps
what arrived, and running it again fetches the rest. Existing working files are never overwritten.
`)
    .action(action<{ remote?: string; all?: boolean; withModels?: boolean; withCache?: boolean; checkout: boolean; exps?: boolean }>(rt, async (ctx, args, o) => {
      const rev = (args as (string | undefined)[])[0];
      const result = await ctx.api.pull({
        ...ctx.common(), lockTimeoutMs: ctx.flags.lockTimeoutMs,
        ...(rev !== undefined ? { rev } : {}), ...(o.remote ? { remote: o.remote } : {}),
        all: o.all === true, withModels: o.withModels === true, withCache: o.withCache === true, noCheckout: o.checkout === false,
        ...(o.exps ? { exps: true } : {}),
      });
      await ctx.emit('pull', result, (r) => renderPull(r, ctx.style));
    }));
}
