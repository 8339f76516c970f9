/** `d2 log [rev]`: the research journal (`--metrics`: the compact table; `--md`: Markdown) */
import type { Command } from 'commander';
import { InvalidArgument } from '../../index.js';
import { action, examples, type Runtime } from '../action.js';
import { renderLog, renderLogMarkdown, renderLogMetrics } from '../render/journal.js';
import { parseLimit } from './status.js';

export function registerLog(program: Command, rt: Runtime): void {
  program
    .command('log')
    .description('the research journal: commits, newest first, with their data change, metrics and notes')
    .argument('[rev]', 'start from this revision (default HEAD)')
    .option('-n, --limit <n>', 'at most this many commits (0 = all)', '0')
    .option('--metrics', 'a compact table: commit, date, items, accuracy, macro-F1, Δ accuracy, note')
    .option('--md', 'the journal as a Markdown table, for pasting into a document')
    .addHelpText('after', `${examples('$ d2 log', '$ d2 log --metrics -n 20', '$ d2 log --md > journal.md', '$ d2 log HEAD~3 --json | tail -1 | jq .data.commits[0].change')}
Each commit shows its data change against its parent (+N items, M relabels, sections of d2.yaml
changed), the test metrics its d2.lock records with the change from the previous build (in
points), model tests it broke, and its note (d2 note). See docs/journal.md.
`)
    .action(action<{ limit: string; metrics?: boolean; md?: boolean }>(rt, async (ctx, [rev], o) => {
      if (o.metrics && o.md) throw new InvalidArgument('give --metrics or --md, not both');
      const limit = parseLimit(o.limit);
      // the table shows no relabel counts: not counting them halves the work on a long history
      const result = await ctx.api.log({ dir: ctx.flags.dir, signal: ctx.signal, rev, limit: limit || undefined, ...(o.metrics ? { relabels: false } : {}) });
      await ctx.emit('log', result, (r) => (o.md ? renderLogMarkdown(r) : o.metrics ? renderLogMetrics(r, ctx.style) : renderLog(r, ctx.style)));
    }));
}
