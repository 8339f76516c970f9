/** `d2 push [REV]`: send the objects a revision needs to a remote */
import type { Command } from 'commander';
import { action, examples, type Runtime } from '../action.js';
import { renderPush } from '../render/remote.js';

export function registerPush(program: Command, rt: Runtime): void {
  program
    .command('push')
    .description('upload the objects the committed revisions need (raw data and built models) that the remote lacks')
    .argument('[revs...]', 'revisions to push (default: every commit of every branch and tag)')
    .option('--remote <name>', 'remote to push to (default: the default remote)')
    .option('--with-cache', 'also upload the packed preprocessing of the built models')
    .option('--force', "upload every object even if the remote has it (replaces copies 'd2 pull' found corrupt)")
    .option('--exps', "also the experiments' data and models (git push carries the experiments themselves)")
    .addHelpText('after', `${examples('$ d2 push', '$ d2 push HEAD --remote share', '$ d2 push --force', '$ d2 push --json | tail -1 | jq .data.uploaded', '$ git push && d2 push --exps')}
Objects already on the remote are not sent again, so an interrupted push resumes where it stopped.
`)
    .action(action<{ remote?: string; withCache?: boolean; force?: boolean; exps?: boolean }>(rt, async (ctx, revs, o) => {
      const result = await ctx.api.push({ ...ctx.common(), revs: revs as string[], ...(o.remote ? { remote: o.remote } : {}), withCache: o.withCache === true, force: o.force === true, ...(o.exps ? { exps: true } : {}) });
      await ctx.emit('push', result, (r) => renderPush(r, ctx.style));
    }));
}
