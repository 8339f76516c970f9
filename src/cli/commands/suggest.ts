/** `d2 suggest`: which unlabelled items to label next */
import type { Command } from 'commander';
import { InvalidArgument, labelStudioConfig, labelStudioTasks, SUGGEST_STRATEGIES, suggestionsCsv } from '../../index.js';
import { action, examples, type Runtime } from '../action.js';
import { renderSuggest } from '../render/suggest.js';
import { parseLimit } from './status.js';

interface SuggestFlags {
  n: string;
  source?: string;
  strategy: string;
  checks: string;
  csv?: boolean;
  format?: string;
  imageUrl?: string;
  engine: string;
}

const FORMATS = ['text', 'csv', 'label-studio', 'label-studio-config'];

export function registerSuggest(program: Command, rt: Runtime): void {
  program
    .command('suggest')
    .description('which unlabelled items to label next: the ones the model is least sure of, spread over its feature space')
    .option('-n, --n <n>', 'how many items to suggest', '20')
    .option('-s, --source <name>', 'only the unlabelled items of this source')
    .option('--strategy <name>', `how to rank: ${SUGGEST_STRATEGIES.join(', ')} (random: the baseline)`, 'margin')
    .option('--checks <n>', 'confident predictions per class added as a sanity check', '2')
    .option('--csv', 'CSV on stdout: path,label,decision,predicted,confidence,why (for d2 label --from)')
    .option('--format <name>', `output: ${FORMATS.join(', ')}`)
    .option('--image-url <prefix>', "with --format label-studio: the URL before each file's path (default Label Studio's local files, /data/local-files/?d=)")
    .option('--engine <name>', 'engine that runs the model: auto, gpu, node, wasm, cpu', 'auto')
    .addHelpText('after', `${examples(
      '$ d2 suggest',
      '$ d2 suggest -n 100 --source new-photos',
      '$ d2 suggest --csv > to-label.csv          # fill in the label column, then d2 label --from to-label.csv',
      '$ d2 suggest --format label-studio > tasks.json',
      '$ d2 suggest --format label-studio-config > config.xml',
      '$ d2 suggest --strategy random -n 50      # the honest baseline',
    )}
Unlabelled items are the items of a source without a label (no row in its labels CSV); they are
never trained or evaluated on. The model is the working tree's last build (d2 build first).
`)
    .action(action<SuggestFlags>(rt, async (ctx, _args, o) => {
      const format = o.format ?? (o.csv ? 'csv' : 'text');
      if (!FORMATS.includes(format)) throw new InvalidArgument(`unknown format '${format}' (expected one of: ${FORMATS.join(', ')})`);
      if (format !== 'text' && ctx.flags.json) throw new InvalidArgument(`choose one of --format ${format} and --json`);
      const strategy = o.strategy as (typeof SUGGEST_STRATEGIES)[number];
      const result = await ctx.api.suggest({
        ...ctx.common(), n: parseLimit(o.n), strategy, checksPerClass: parseLimit(o.checks),
        ...(o.source !== undefined ? { source: o.source } : {}), engine: o.engine as never, lockTimeoutMs: ctx.flags.lockTimeoutMs,
      });
      await ctx.progress.finish();
      if (format === 'csv') return void ctx.io.stdout.write(suggestionsCsv(result));
      if (format === 'label-studio') {
        const prefix = o.imageUrl;
        return void ctx.io.stdout.write(labelStudioTasks(result, prefix === undefined ? undefined : (f) => `${prefix}${encodeURI(f)}`));
      }
      if (format === 'label-studio-config') {
        const classes = [...new Set(result.suggestions.map((s) => s.predicted))];
        return void ctx.io.stdout.write(labelStudioConfig(result.classes.length ? result.classes : classes));
      }
      await ctx.emit('suggest', result, (r) => renderSuggest(r, ctx.style));
    }));
}
