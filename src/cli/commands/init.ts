/** `d2 init [dir]` */
import type { Command } from 'commander';
import { action, examples, type Runtime } from '../action.js';
import { renderInit } from '../render/text.js';

export function registerInit(program: Command, rt: Runtime): void {
  program
    .command('init')
    .description('make a folder a d2 project: d2.yaml, the object store (.d2/) and a git repository')
    .argument('[dir]', 'folder to initialise (default: the current folder)')
    .addHelpText('after', examples('$ d2 init', '$ d2 init my-dataset && cd my-dataset'))
    .action(action(rt, async (ctx, [dir]) => {
      const target = dir === undefined ? ctx.flags.dir : dir.startsWith('/') ? dir : `${ctx.flags.dir}/${dir}`;
      const result = await ctx.api.init({ dir: target });
      await ctx.emit('init', result, (r) => renderInit(r, ctx.style));
    }));
}
