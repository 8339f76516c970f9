/** `d2 restore [PATH…]`: sources' working files back from the local store */
import type { Command } from 'commander';
import { action, examples, type Runtime } from '../action.js';
import { renderRestore } from '../render/text.js';

export function registerRestore(program: Command, rt: Runtime): void {
  program
    .command('restore')
    .description("bring back sources' files deleted since 'd2 add' recorded them, from the local store (no remote needed)")
    .argument('[paths...]', 'files, folders or source names to restore (default: every source)')
    .option('-r, --rev <rev>', 'restore the files as this revision recorded them')
    .option('--force', 'also replace files whose content changed (their current content is lost)')
    .addHelpText('after', `${examples(
      '$ d2 restore                            # every deleted file of every source',
      '$ d2 restore data/fashion/shirt/a.png   # one file',
      '$ d2 restore data/fashion --rev HEAD~1  # a folder as an earlier commit recorded it',
    )}
Labels and d2.sources/ are not changed: a restored file keeps the label recorded for its path.
`)
    .action(action<{ rev?: string; force?: boolean }>(rt, async (ctx, paths, o) => {
      const result = await ctx.api.restore({
        ...ctx.common(), paths, lockTimeoutMs: ctx.flags.lockTimeoutMs, force: o.force === true, ...(o.rev !== undefined ? { rev: o.rev } : {}),
      });
      await ctx.emit('restore', result, (r) => renderRestore(r, ctx.style));
    }));
}
