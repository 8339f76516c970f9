/** `d2 build` */
import type { Command } from 'commander';
import { ENGINE_REQUESTS, InvalidArgument } from '../../index.js';
import { action, examples, type Runtime } from '../action.js';
import { renderBuild } from '../render/build.js';

interface BuildFlags {
  rev?: string;
  engine: string;
  force?: boolean;
  updateBackbone?: boolean;
  workers?: string;
}

const ENGINES: readonly string[] = ENGINE_REQUESTS;

export function registerBuild(program: Command, rt: Runtime): void {
  program
    .command('build')
    .description('train the model of d2.yaml with fixed defaults, evaluate it, and record it in d2.lock (reused when nothing changed)')
    .option('-r, --rev <rev>', 'build the model of this revision instead of the working tree (d2.lock is not written)')
    .option('--engine <name>', `training engine: ${ENGINES.join(', ')} (auto = the fastest present)`, 'auto')
    .option('--force', 'train again even when a model for these inputs exists')
    .option('--update-backbone', "accept backbone files that differ from those d2.lock pinned")
    .option('--workers <n>', "training threads: 'auto' or a number (0 = this thread); results do not depend on it")
    .addHelpText('after', `${examples('$ d2 build', '$ d2 build --engine cpu', '$ d2 build --rev HEAD~1', '$ d2 build --json | tail -1 | jq .data.build.metrics')}
A build is keyed by its inputs (data, labels, splits, preprocessing, model section, engine):
running it again with nothing changed reuses the stored model at once, and an interrupted build
resumes from its last finished epoch. The training recipe (optimizer, schedule, epochs, image
shifts, batch norm) is printed and written to d2.lock; which mirrors keep a label is declared in
d2.yaml (preprocess.augment, docs/manifest.md). GPU users: npm install @tensorflow/tfjs-node-gpu
`)
    .action(action<BuildFlags>(rt, async (ctx, _args, o) => {
      if (!ENGINES.includes(o.engine)) throw new InvalidArgument(`unknown engine '${o.engine}' (expected one of: ${ENGINES.join(', ')})`);
      let workers: number | 'auto' | undefined;
      if (o.workers !== undefined) {
        workers = o.workers === 'auto' ? 'auto' : Number(o.workers);
        if (workers !== 'auto' && (!Number.isInteger(workers) || workers < 0)) throw new InvalidArgument(`--workers expects 'auto' or a whole number >= 0, not '${o.workers}'`);
      }
      const result = await ctx.api.build({
        ...ctx.common(), rev: o.rev, engine: o.engine as never, force: o.force === true, ...(o.updateBackbone === true ? { updateBackbone: true } : {}), lockTimeoutMs: ctx.flags.lockTimeoutMs,
        ...(workers !== undefined ? { workers } : {}),
      });
      await ctx.emit('build', result, (r) => renderBuild(r, ctx.style));
    }));
}
