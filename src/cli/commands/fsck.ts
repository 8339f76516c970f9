/** `d2 fsck` */
import type { Command } from 'commander';
import { action, examples, type Runtime } from '../action.js';
import { renderFsck } from '../render/text.js';

export function registerFsck(program: Command, rt: Runtime): void {
  program
    .command('fsck')
    .description('verify the object store: re-hash every object, check every referenced one exists (exit 3 on damage)')
    .option('--repair', 'move damaged objects to .d2/quarantine/ so that d2 add can store them again')
    .addHelpText('after', examples('$ d2 fsck', '$ d2 fsck --repair && d2 add --all'))
    .action(action<{ repair?: boolean }>(rt, async (ctx, _args, o) => {
      const result = await ctx.api.fsck({ ...ctx.common(), repair: o.repair, lockTimeoutMs: ctx.flags.lockTimeoutMs });
      if (!result.ok) ctx.checkFailed();
      await ctx.emit('fsck', result, (r) => renderFsck(r, ctx.style));
    }));
}
