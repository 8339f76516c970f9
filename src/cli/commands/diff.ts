/** `d2 diff [A] [B]` */
import type { Command } from 'commander';
import { checkFailOn, InvalidArgument, parseFailOn } from '../../index.js';
import { action, examples, type Runtime } from '../action.js';
import { renderDiff } from '../render/diff.js';
import { parseLimit } from './status.js';

interface DiffFlags {
  on?: string;
  build?: boolean;
  engine: string;
  limit: string;
  failOn?: string;
}

export function registerDiff(program: Command, rt: Runtime): void {
  program
    .command('diff')
    .description("what changed between two revisions: in the data, and in the model's behaviour on the same items")
    .argument('[a]', "the old side: a revision, or 'A..B' (default HEAD)")
    .argument('[b]', 'the new side: a revision (default: the working tree)')
    .option('--on <rev>', "evaluate both models on this revision's test split and model tests (default: B's)")
    .option('--build', 'build a side that has no model (d2.lock is not written)')
    .option('--engine <name>', 'engine for builds and inference: auto, gpu, node, wasm, cpu', 'auto')
    .option('--limit <n>', 'flips and examples listed per kind (0 = all)', '20')
    .option('--fail-on <rules>', 'exit 3 when a rule is crossed: accuracy-drop=X, f1-drop=X, recall-drop=X (any class), broken-model-tests, broken=N, moved (X in fractions: 0.01 = 1 point)')
    .addHelpText('after', `${examples(
      '$ d2 diff                       # the last commit against the working tree',
      '$ d2 diff HEAD~1 HEAD           # or: d2 diff HEAD~1..HEAD',
      '$ d2 diff main feature --on main',
      '$ d2 diff HEAD~1 --build --fail-on accuracy-drop=0.01,recall-drop=0.05,broken-model-tests',
      '$ d2 diff HEAD~1 HEAD --json | tail -1 | jq .data.behaviour.accuracy',
    )}
Predictions stored by 'd2 build' are reused; a model is run (with its own preprocessing) only on
items it was never evaluated on, and those predictions are cached. See docs/diff.md.
`)
    .action(action<DiffFlags>(rt, async (ctx, args, o) => {
      let [a, b] = args as [string | undefined, string | undefined];
      if (a?.includes('..')) {
        if (b !== undefined) throw new InvalidArgument(`give either 'A..B' or two revisions, not both ('${a}' and '${b}')`);
        const [x, y] = a.split('..', 2) as [string, string];
        a = x || 'HEAD';
        b = y || 'HEAD';
      }
      const rules = o.failOn !== undefined ? parseFailOn(o.failOn) : [];
      const limit = parseLimit(o.limit);
      const result = await ctx.api.diff({
        ...ctx.common(), a: a ?? 'HEAD', b, on: o.on, build: o.build === true, engine: o.engine as never, limit, lockTimeoutMs: ctx.flags.lockTimeoutMs,
      });
      const checks = rules.length ? checkFailOn(result, rules) : [];
      if (checks.some((c) => c.failed)) ctx.checkFailed();
      await ctx.emit('diff', checks.length ? { ...result, checks } : result, (r) => renderDiff(r, ctx.style, checks));
    }));
}
