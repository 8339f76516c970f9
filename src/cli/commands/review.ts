/** `d2 review [REV]` */
import type { Command } from 'commander';
import { ENGINE_REQUESTS, InvalidArgument, LABEL_ISSUE_FILTERS } from '../../index.js';
import { action, examples, type Runtime } from '../action.js';
import { renderReview, renderReviewCsv } from '../render/review.js';
import { parseLimit } from './status.js';

interface ReviewFlags {
  since?: string | false;
  limit?: string;
  class?: string[];
  all?: boolean;
  csv?: boolean;
  folds: string;
  foldSeed: string;
  filter: string;
  engine: string;
  workers?: string;
}

function wholeNumber(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgument(`${flag} '${value}' must be a whole number >= ${min}`);
  return n;
}

export function registerReview(program: Command, rt: Runtime): void {
  program
    .command('review')
    .description('the labels most likely wrong: k-fold out-of-sample predictions and confident learning, new suspects first')
    .argument('[rev]', 'review this revision (default: the working tree)')
    .option('--since <rev>', 'mark suspects new or relabelled since this revision (default: the previous commit)')
    .option('--no-since', 'mark nothing as new')
    .option('--limit <n>', 'suspects listed (0 = all; counts are always complete; --csv: all by default)')
    .option('--class <class...>', 'only suspects labelled or suggested as this class (repeatable)')
    .option('--all', 'also list the suspects a reviewer kept (d2 label --keep)')
    .option('--csv', 'print the suspects as a decisions CSV (path,label,decision,…) for d2 label --from')
    .option('--folds <k>', 'number of folds', '5')
    .option('--fold-seed <n>', 'seed of the fold assignment', '0')
    .option('--filter <name>', `confident learning's filter: ${LABEL_ISSUE_FILTERS.join(', ')}`, 'prune_by_noise_rate')
    .option('--engine <name>', `training engine of the fold models: ${ENGINE_REQUESTS.join(', ')}`, 'auto')
    .option('--workers <n>', "training threads: 'auto' or a number (0 = this thread); results do not depend on it")
    .addHelpText('after', `${examples(
      '$ d2 review                         # the working tree; new and relabelled suspects first',
      '$ d2 review HEAD --since HEAD~3 --limit 50',
      '$ d2 review --class shirt --class tshirt_top',
      '$ d2 review --csv > review.csv       # fill the decision column, then: d2 label --from review.csv',
      '$ d2 review --json | tail -1 | jq .data.crossValidation.accuracy',
    )}
Every labelled item but the model tests gets a probability from a model that never saw it: the
items are cut into k folds by content hash, and each fold is predicted by a model trained on the
others (the 'fast' network; each fold a cached build, so a second review trains nothing).
Confident learning (Northcutt et al., 2021) then flags the labels most likely wrong. Act on them
with 'd2 label PATH --as CLASS' or 'd2 label --keep PATH'. See docs/review.md.
`)
    .action(action<ReviewFlags>(rt, async (ctx, args, o) => {
      if (o.csv && ctx.flags.json) throw new InvalidArgument('give either --csv or --json, not both');
      if (!ENGINE_REQUESTS.includes(o.engine as never)) throw new InvalidArgument(`unknown engine '${o.engine}' (expected one of: ${ENGINE_REQUESTS.join(', ')})`);
      if (!LABEL_ISSUE_FILTERS.includes(o.filter as never)) throw new InvalidArgument(`unknown filter '${o.filter}' (expected one of: ${LABEL_ISSUE_FILTERS.join(', ')})`);
      let workers: number | 'auto' | undefined;
      if (o.workers !== undefined) workers = o.workers === 'auto' ? 'auto' : wholeNumber('--workers', o.workers, 0);
      const limit = o.limit !== undefined ? parseLimit(o.limit) : o.csv ? 0 : 20;
      const result = await ctx.api.review({
        ...ctx.common(), lockTimeoutMs: ctx.flags.lockTimeoutMs, limit,
        ...(args[0] !== undefined ? { rev: args[0] } : {}),
        ...(o.since === false ? { since: null } : o.since !== undefined ? { since: o.since } : {}),
        ...(o.class?.length ? { classes: o.class } : {}),
        ...(o.all ? { all: true } : {}),
        k: wholeNumber('--folds', o.folds, 2),
        foldSeed: wholeNumber('--fold-seed', o.foldSeed, 0),
        filter: o.filter as never,
        engine: o.engine as never,
        ...(workers !== undefined ? { workers } : {}),
      });
      if (o.csv) {
        await ctx.progress.finish();
        ctx.io.stdout.write(renderReviewCsv(result, ctx.api.serializeDecisionsCsv));
        return;
      }
      await ctx.emit('review', result, (r) => renderReview(r, ctx.style));
    }));
}
