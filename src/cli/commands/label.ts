/** `d2 label PATH... --as CLASS`, `--keep`, `--as-model-test`, `--from FILE.csv` */
import type { Command } from 'commander';
import { action, examples, type Runtime } from '../action.js';
import { renderLabel } from '../render/review.js';

interface LabelFlags {
  as?: string;
  keep?: boolean;
  asModelTest?: boolean;
  from?: string;
  force?: boolean;
}

export function registerLabel(program: Command, rt: Runtime): void {
  program
    .command('label')
    .description("act on a review: relabel items, keep their labels, or make them model tests (each a one-line change of a committed file)")
    .argument('[paths...]', "items as 'd2 review' lists them ('<source>/<path in source>'), or paths of their files")
    .option('--as <class>', 'relabel the items as this class (with --as-model-test: the model tests\' label)')
    .option('--keep', "the labels are right: record it in d2.review/kept.csv, so 'd2 review' stops showing them")
    .option('--as-model-test', 'make the items model tests (held out of every split, checked at every build)')
    .option('--from <file>', "apply a reviewed decisions CSV (path,label,decision), e.g. from 'd2 review --csv'")
    .option('--force', 'allow relabelling model tests')
    .addHelpText('after', `${examples(
      '$ d2 label images/shirt/t10k-00040.png --as tshirt_top',
      '$ d2 label --keep images/coat/t10k-00006.png images/coat/t10k-00010.png',
      '$ d2 label images/bag/t10k-00018.png --as-model-test',
      '$ d2 review --csv > review.csv && d2 label --from review.csv',
      '$ git diff && d2 commit -m "review: 3 relabels"',
    )}
A relabel edits d2.sources/<source>.labels.csv (and the source's own labels CSV when it has
one), so it survives 'd2 add --all'. In a decisions CSV, 'decision' is relabel (or empty), keep
or model-test; a relabel to the label an item already has changes nothing. Model tests are
relabelled only with --force; test-split items are relabelled with a warning. See docs/review.md.
`)
    .action(action<LabelFlags>(rt, async (ctx, args, o) => {
      const result = await ctx.api.label({
        ...ctx.common(), lockTimeoutMs: ctx.flags.lockTimeoutMs, paths: args,
        ...(o.as !== undefined ? { as: o.as } : {}),
        ...(o.keep ? { keep: true } : {}),
        ...(o.asModelTest ? { asModelTest: true } : {}),
        ...(o.from !== undefined ? { from: o.from } : {}),
        ...(o.force ? { force: true } : {}),
      });
      await ctx.emit('label', result, (r) => renderLabel(r, ctx.style));
    }));
}
