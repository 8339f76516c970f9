/** `d2 export --out DIR`: the model and its preprocessing as a bundle that runs without d2 */
import type { Command } from 'commander';
import { ENGINE_REQUESTS } from '../../index.js';
import { action, examples, type Runtime } from '../action.js';
import { renderExport } from '../render/predict.js';

export function registerExport(program: Command, rt: Runtime): void {
  program
    .command('export')
    .description('write a self-contained bundle of a built model: TensorFlow.js layers model, d2 model, preprocessing, classes, hashes, README')
    .requiredOption('-o, --out <dir>', 'the bundle folder to create')
    .option('-r, --rev <rev>', "export the model of this revision (default: the working tree's last build)")
    .option('--force', 'replace an existing bundle (only a folder that holds one)')
    .option('--engine <name>', `engine whose build of --rev to export: ${ENGINE_REQUESTS.join(', ')}`, 'auto')
    .addHelpText('after', `${examples('$ d2 export --out bundle', '$ d2 export --rev v1.2 --out models/v1.2 --force')}
Load it in Node with the library (import { loadBundle } from 'd2'), or model.json and
preprocess.js in any TensorFlow.js runtime (a browser); its README.md shows both.
`)
    .action(action<{ out: string; rev?: string; force?: boolean; engine: string }>(rt, async (ctx, _args, o) => {
      const result = await ctx.api.exportModel({ ...ctx.common(), out: o.out, rev: o.rev, force: o.force === true, engine: o.engine as never, lockTimeoutMs: ctx.flags.lockTimeoutMs });
      await ctx.emit('export', result, (r) => renderExport(r, ctx.style));
    }));
}
