/** `d2 add [paths...]` */
import type { Command } from 'commander';
import { action, examples, type Runtime } from '../action.js';
import { renderAdd } from '../render/text.js';

interface AddFlags {
  source?: string;
  labels?: string;
  labelColumn?: string;
  idColumn?: string;
  textColumn?: string;
  all?: boolean;
  external?: boolean;
  unlabelled?: boolean;
}

export function registerAdd(program: Command, rt: Runtime): void {
  program
    .command('add')
    .description('record folders of raw files (or CSV tables) as sources: store their content, list them, take their labels')
    .argument('[paths...]', 'folders, .csv or .jsonl files to add (a folder of .txt/.md files is a text source); a path inside a known source re-adds that source')
    .option('-s, --source <name>', "name of the source (default: the folder's name)")
    .option('-l, --labels <rule>', "'dirname' (label = parent folder) or a CSV file with columns path,label")
    .option('--label-column <column>', 'for a .csv table whose rows are items: the column holding the label')
    .option('--id-column <column>', "for a .csv table: a column naming each row (default: the row's content hash)")
    .option('--unlabelled', "a pool to label later: no labels (not even from folder names) until 'd2 label' gives them")
    .option('--text-column <column>', 'for a .csv or .jsonl table of texts: the column holding each text (rows become text items)')
    .option('-A, --all', 'add every source declared in d2.yaml again')
    .option('--external', 'accept a folder outside the project')
    .addHelpText('after', examples(
      '$ d2 add data/fashion --labels dirname      # ImageFolder layout: data/fashion/<label>/<file>',
      '$ d2 add data/scans --labels scans.csv     # labels from a CSV: path,label (paths in the folder)',
      '$ d2 add data/houses.csv --label-column price_band   # a table: each row is an item',
      '$ d2 add new-photos --unlabelled           # a pool to label later (d2 suggest ranks it)',
      '$ d2 add data/tickets.csv --text-column body --label-column team   # each row is a text',
      '$ d2 add --all                             # record what changed in every source',
    ))
    .action(action<AddFlags>(rt, async (ctx, paths, o) => {
      const result = await ctx.api.add({
        ...ctx.common(),
        paths,
        all: o.all,
        source: o.source,
        labels: o.labels,
        labelColumn: o.labelColumn,
        idColumn: o.idColumn,
        textColumn: o.textColumn,
        external: o.external,
        unlabelled: o.unlabelled,
        lockTimeoutMs: ctx.flags.lockTimeoutMs,
      });
      await ctx.emit('add', result, (r) => renderAdd(r, ctx.style));
    }));
}
