/** `d2 predict PATH...` and `d2 export --out DIR` */
import type { Command } from 'commander';
import { ENGINE_REQUESTS, InvalidArgument, type PredictionRow } from '../../index.js';
import { action, examples, type Runtime } from '../action.js';
import { createPredictionTable, renderPredictSummary, csvHeader, csvRow } from '../render/predict.js';

interface PredictFlags {
  rev?: string;
  top: string;
  csv?: boolean;
  engine: string;
  stdin?: boolean;
  textColumn?: string;
}

export function registerPredict(program: Command, rt: Runtime): void {
  program
    .command('predict')
    .description("predict image files, folders of images or CSV rows with a built model (default: the working tree's last build)")
    .argument('[paths...]', 'image files, folders (searched recursively) or, for table models, CSV files; for text models, text files, folders of them, or CSV/JSON Lines files')
    .option('-r, --rev <rev>', 'use the model of this revision')
    .option('--top <k>', 'classes shown per input, most probable first', '3')
    .option('--csv', 'CSV on stdout: input,rank,label,probability')
    .option('--stdin', 'text models: also predict each line read from standard input')
    .option('--text-column <column>', "text models: the column of a CSV/JSON Lines input holding the text (default: the model's)")
    .option('--engine <name>', `engine: ${ENGINE_REQUESTS.join(', ')}`, 'auto')
    .addHelpText('after', `${examples('$ d2 predict new-photos/', '$ d2 predict shirt.png --top 1 --rev HEAD~1', '$ d2 predict houses.csv --csv > predictions.csv', '$ echo "printer jammed again" | d2 predict --stdin --top 1', '$ d2 predict photos --json | jq -c \'select(.type=="prediction")\'')}
Inputs go through the model's own preprocessing (the steps recorded when it was built). Output
streams: one line per input as soon as its batch is predicted.
`)
    .action(action<PredictFlags>(rt, async (ctx, paths, o) => {
      const top = Number(o.top);
      if (!Number.isInteger(top) || top < 1) throw new InvalidArgument(`--top expects a whole number >= 1, not '${o.top}'`);
      if (o.csv && ctx.flags.json) throw new InvalidArgument('choose one of --csv and --json');
      let first = true;
      const table = createPredictionTable(ctx.style, (text) => ctx.io.stdout.write(text));
      const onPrediction = (row: PredictionRow) => {
        if (ctx.flags.json) ctx.io.stdout.write(`${JSON.stringify({ type: 'prediction', ...row })}\n`);
        else if (o.csv) {
          if (first) ctx.io.stdout.write(csvHeader());
          ctx.io.stdout.write(csvRow(row));
        } else table.push(row);
        first = false;
      };
      const texts = o.stdin ? await ctx.readStdinLines() : undefined;
      if (!paths.length && !texts) throw new InvalidArgument('give at least one file or folder to predict (or --stdin for lines of text)');
      let result;
      try {
        result = await ctx.api.predict({
          ...ctx.common(), paths, ...(texts ? { texts } : {}), ...(o.textColumn !== undefined ? { textColumn: o.textColumn } : {}), rev: o.rev, top, engine: o.engine as never, lockTimeoutMs: ctx.flags.lockTimeoutMs, onPrediction, collect: false,
        });
      } finally {
        if (!ctx.flags.json && !o.csv) table.end(); // rows held back are still results
      }
      if (result.failed > 0) ctx.checkFailed();
      if (o.csv) return;
      await ctx.emit('predict', result, (r) => renderPredictSummary(r, ctx.style));
    }));
}
