/** `d2 fsck` */
import type { Command } from 'commander';
import { action, examples, type Runtime } from '../action.js';
import { renderFsck } from '../render/text.js';

export function registerFsck(program: Command, rt: Runtime): void {
  program
    .command('fsck')
    .description('verify the object store: re-hash every object, check every referenced one exists (exit 3 on damage)')
    .option('--repair', 'move damaged objects to .d2/quarantine/, then fetch good copies of them and of missing ones from the remote (without one, d2 add can store them again)')
    .option('--remote <name>', 'the remote --repair fetches from (default: the default remote)')
    .addHelpText('after', `${examples('$ d2 fsck', '$ d2 fsck --repair', '$ d2 fsck --repair && d2 add --all')}
Checks every object of the store, and that every raw object the working tree and every commit of
every branch and tag reference is present with the size its listing records.
`)
    .action(action<{ repair?: boolean; remote?: string }>(rt, async (ctx, _args, o) => {
      const result = await ctx.api.fsck({ ...ctx.common(), repair: o.repair, lockTimeoutMs: ctx.flags.lockTimeoutMs, ...(o.remote ? { remote: o.remote } : {}) });
      if (!result.ok) ctx.checkFailed();
      await ctx.emit('fsck', result, (r) => renderFsck(r, ctx.style));
    }));
}
