/** `d2 diff [A] [B]`, `d2 diff A..B` */
import type { Command } from 'commander';
import { ENGINE_REQUESTS, FAIL_RULES, InvalidArgument, parseFailOn, parseRange } from '../../index.js';
import { action, examples, type Runtime } from '../action.js';
import { parseLimit } from './status.js';

interface DiffFlags {
  on?: string;
  build?: boolean;
  engine: string;
  limit: string;
  failOn?: string;
}

/** 'A..B' → [A, B] (an empty side is HEAD, as in git); two revisions pass through. */
export function splitRange(a: string | undefined, b: string | undefined): [string | undefined, string | undefined] {
  const range = a === undefined ? undefined : parseRange(a);
  if (!range) return [a, b];
  if (b !== undefined) throw new InvalidArgument(`give either 'A..B' or two revisions, not both ('${a}' and '${b}')`);
  return [range.from, range.to];
}

const RULES_HELP = Object.entries(FAIL_RULES).map(([name, r]) => `  ${`${name}${r.value === 'count' ? '[=N]' : r.value === 'p-value' ? '[=P]' : '=X'}`.padEnd(22)} ${r.help}`).join('\n');

export function registerDiff(program: Command, rt: Runtime): void {
  program
    .command('diff')
    .description("what changed between two revisions: in the data, and in the model's behaviour on the same items")
    .argument('[a]', "the old side: a revision, or 'A..B' (default HEAD)")
    .argument('[b]', 'the new side: a revision (default: the working tree)')
    .option('--on <rev>', "evaluate both models on this revision's test split and model tests (default: B's)")
    .option('--build', 'build a side that has no model (d2.lock is not written)')
    .option('--engine <name>', `engine for builds and inference: ${ENGINE_REQUESTS.join(', ')}`, 'auto')
    .option('--limit <n>', 'items listed per kind: flips, added, removed… (0 = all; counts are always complete)', '20')
    .option('--fail-on <rules>', 'exit 3 when any rule is crossed (comma-separated; see below)')
    .addHelpText('after', `${examples(
      '$ d2 diff                       # the last commit against the working tree',
      '$ d2 diff HEAD~1 HEAD           # or: d2 diff HEAD~1..HEAD',
      '$ d2 diff main feature --on main',
      '$ d2 diff HEAD~1 --build --fail-on accuracy-drop=0.01,recall-drop=0.05,broken-model-tests',
      '$ d2 diff HEAD~1 HEAD --json | tail -1 | jq .data.behaviour.accuracy',
    )}
--fail-on rules (X: a fraction, 0.01 = one point; a rule about behaviour also fails when a side
has no model):
${RULES_HELP}

Predictions stored by 'd2 build' are reused; a model is run (with its own preprocessing) only on
items it was never evaluated on, and those predictions are cached. See docs/diff.md.
`)
    .action(action<DiffFlags>(rt, async (ctx, args, o) => {
      const [a, b] = splitRange(args[0], args[1]);
      const failOn = o.failOn !== undefined ? parseFailOn(o.failOn) : undefined;
      const limit = parseLimit(o.limit);
      // Load the view (Ink) while the diff runs; --json never needs it.
      const view = ctx.flags.json ? undefined : import('../render/diff.js');
      const result = await ctx.api.diff({
        ...ctx.common(), a: a ?? 'HEAD', b, on: o.on, build: o.build === true, engine: o.engine as never, limit,
        lockTimeoutMs: ctx.flags.lockTimeoutMs, ...(failOn ? { failOn } : {}),
      });
      if (result.checks?.some((c) => c.failed)) ctx.checkFailed();
      const render = view ? (await view).renderDiff : () => '';
      await ctx.emit('diff', result, (r) => render(r, ctx.style));
    }));
}
