/** `d2 exp run|list|show|apply|remove`: experiments, variants of d2.yaml built without a commit */
import type { Command } from 'commander';
import { ENGINE_REQUESTS, EXP_SORTS, InvalidArgument } from '../../index.js';
import { action, examples, type Runtime } from '../action.js';
import { renderExpApply, renderExpList, renderExpListMarkdown, renderExpRemove, renderExpRun, renderExpShow } from '../render/journal.js';

interface RunFlags {
  set?: string[];
  message?: string;
  name?: string;
  force?: boolean;
  engine: string;
  workers?: string;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const ENGINES: readonly string[] = ENGINE_REQUESTS;
const SORTS: readonly string[] = EXP_SORTS;

export function registerExp(program: Command, rt: Runtime): void {
  const exp = program
    .command('exp')
    .description('experiments: build a variant of d2.yaml without committing it, compare, apply')
    .addHelpText('after', `${examples(
      '$ d2 exp run --set model.preset=thorough -m "does a bigger model help?"',
      '$ d2 exp run --set model.seed=1',
      '$ d2 exp list',
      '$ d2 diff HEAD exp-1a2b3c4',
      '$ d2 exp apply exp-1a2b3c4 && d2 commit -m "thorough preset"',
    )}
An experiment is recorded under refs/d2/exps/<name> (git push/fetch carry it once the remote is
configured); d2 push --exps / d2 pull --exps move its data and model. See docs/experiments.md.
`);
  exp
    .command('run')
    .description('build the working tree with changes to d2.yaml applied in memory, and record it')
    .option('-S, --set <key=value>', "a change to d2.yaml, VALUE as YAML (repeatable; 'key=' removes a key)", collect)
    .option('-m, --message <text>', 'a note on the experiment: what it tries')
    .option('--name <name>', "the experiment's name (default: exp-<7 hex digits of its change and data>)")
    .option('--force', 'replace an experiment of that name that records something else')
    .option('--engine <name>', `training engine: ${ENGINES.join(', ')}`, 'auto')
    .option('--workers <n>', "training threads: 'auto' or a number (0 = this thread)")
    .addHelpText('after', examples(
      '$ d2 exp run --set model.preset=thorough',
      "$ d2 exp run -S 'preprocess.image=[{resize: {width: 32, height: 32}}, {channels: 1}]' -m 'upscale'",
      "$ d2 exp run --set 'dataset.split={seed: 7, train: 0.8, validation: 0.1, test: 0.1}' --name split-7",
      '$ d2 exp run --set model.timeBudget=   # remove a key',
    ))
    .action(action<RunFlags>(rt, async (ctx, _args, o) => {
      if (!ENGINES.includes(o.engine)) throw new InvalidArgument(`unknown engine '${o.engine}' (expected one of: ${ENGINES.join(', ')})`);
      let workers: number | 'auto' | undefined;
      if (o.workers !== undefined) {
        workers = o.workers === 'auto' ? 'auto' : Number(o.workers);
        if (workers !== 'auto' && (!Number.isInteger(workers) || workers < 0)) throw new InvalidArgument(`--workers expects 'auto' or a whole number >= 0, not '${o.workers}'`);
      }
      const result = await ctx.api.expRun({
        ...ctx.common(), lockTimeoutMs: ctx.flags.lockTimeoutMs, set: o.set ?? [], engine: o.engine as never,
        ...(o.message !== undefined ? { message: o.message } : {}),
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(o.force ? { force: true } : {}),
        ...(workers !== undefined ? { workers } : {}),
      });
      await ctx.emit('exp run', result, (r) => renderExpRun(r, ctx.style));
    }));
  exp
    .command('list', { isDefault: true })
    .description('the experiments with their metrics, best first')
    .option('--sort <by>', `order: ${SORTS.join(', ')} (metrics best first, created newest first)`, 'accuracy')
    .option('--md', 'a Markdown table, for pasting into a document')
    .addHelpText('after', examples('$ d2 exp list', '$ d2 exp list --sort macroF1', '$ d2 exp list --md >> journal.md'))
    .action(action<{ sort: string; md?: boolean }>(rt, async (ctx, _args, o) => {
      if (!SORTS.includes(o.sort)) throw new InvalidArgument(`unknown order '${o.sort}' (expected one of: ${SORTS.join(', ')})`);
      const result = await ctx.api.expList({ ...ctx.common(), sort: o.sort as never });
      for (const p of result.problems) ctx.warn(p);
      await ctx.emit('exp list', result, (r) => (o.md ? renderExpListMarkdown(r) : renderExpList(r, ctx.style)));
    }));
  exp
    .command('show')
    .description("an experiment's change, data, build, metrics and note")
    .argument('<name>', 'the experiment')
    .addHelpText('after', examples('$ d2 exp show exp-1a2b3c4', '$ d2 exp show exp-1a2b3c4 --json | tail -1 | jq .data.experiment.settings'))
    .action(action(rt, async (ctx, [name]) => {
      const result = await ctx.api.expShow({ ...ctx.common(), name: name! });
      await ctx.emit('exp show', result, (r) => renderExpShow(r, ctx.style));
    }));
  exp
    .command('apply')
    .description("write an experiment's change into d2.yaml (and its build into d2.lock), ready to commit")
    .argument('<name>', 'the experiment')
    .addHelpText('after', examples('$ d2 exp apply exp-1a2b3c4 && d2 commit -m "thorough preset: +2 points"'))
    .action(action(rt, async (ctx, [name]) => {
      const result = await ctx.api.expApply({ ...ctx.common(), name: name!, lockTimeoutMs: ctx.flags.lockTimeoutMs });
      await ctx.emit('exp apply', result, (r) => renderExpApply(r, ctx.style));
    }));
  exp
    .command('remove')
    .description('remove experiments (d2 gc --prune then frees what only they needed)')
    .argument('[names...]', 'the experiments')
    .option('--all', 'remove every experiment')
    .addHelpText('after', examples('$ d2 exp remove exp-1a2b3c4 split-7', '$ d2 exp remove --all'))
    .action(action<{ all?: boolean }>(rt, async (ctx, names, o) => {
      if (o.all && names.length) throw new InvalidArgument('give experiment names or --all, not both');
      const result = await ctx.api.expRemove({ ...ctx.common(), names, all: o.all === true });
      await ctx.emit('exp remove', result, renderExpRemove);
    }));
}
