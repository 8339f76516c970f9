/** `d2 report [REV | A..B]`: the model's behaviour as one HTML page, and `--md` for pull requests */
import path from 'node:path';
import type { Command } from 'commander';
import { ENGINE_REQUESTS, MAP_METHODS, parseFailOn } from '../../index.js';
import { action, examples, type Runtime } from '../action.js';
import { renderReport } from '../render/report.js';

interface ReportFlags {
  out: string;
  md?: boolean;
  link?: string;
  on?: string;
  build?: boolean;
  engine: string;
  map: string;
  failOn?: string;
}

export function registerReport(program: Command, rt: Runtime): void {
  program
    .command('report')
    .description("the model's behaviour as one HTML page (metrics, confusion matrix, flips, feature-space map with thumbnails)")
    .argument('[rev]', "a revision (its model), or 'A..B' (two models compared); default: the working tree")
    .argument('[b]', 'the new side, when [rev] is the old one')
    .option('-o, --out <file>', 'where to write the page', 'report.html')
    .option('--md', 'print a Markdown summary on stdout (for a pull-request comment); the page is written too')
    .option('--link <url>', 'where the page will be found (a CI run), for the Markdown')
    .option('--map <method>', `the feature-space map: ${MAP_METHODS.join(' or ')} (umap: slower, cached)`, 'pca')
    .option('--on <rev>', "compare both models on this revision's test split and model tests (default: B's)")
    .option('--build', 'build a side that has no model (d2.lock is not written)')
    .option('--engine <name>', `engine for builds and inference: ${ENGINE_REQUESTS.join(', ')}`, 'auto')
    .option('--fail-on <rules>', "exit 3 when a rule is crossed, as 'd2 diff --fail-on' (shown in the page)")
    .addHelpText('after', `${examples(
      '$ d2 report                          # the working tree\'s model: report.html',
      '$ d2 report HEAD~1..HEAD --out review.html',
      '$ d2 report main..HEAD --md --link "$RUN_URL" > comment.md',
      '$ d2 report v1 --map umap',
    )}
The page is one file that opens offline in any browser: click a confusion-matrix cell to see
its items; hover the feature-space map to see an item, drag a box to list the items in it.
Predictions, feature vectors, thumbnails and UMAP maps are cached. See docs/report.md.
`)
    .action(action<ReportFlags>(rt, async (ctx, args, o) => {
      const failOn = o.failOn !== undefined ? parseFailOn(o.failOn) : undefined;
      const result = await ctx.api.report({
        ...ctx.common(), rev: args[0], b: args[1], out: path.resolve(ctx.io.cwd, o.out), markdown: o.md === true,
        on: o.on, build: o.build === true, engine: o.engine as never, map: o.map as never, lockTimeoutMs: ctx.flags.lockTimeoutMs,
        ...(o.link !== undefined ? { link: o.link } : {}), ...(failOn ? { failOn } : {}),
      });
      if (result.checks?.some((c) => c.failed)) ctx.checkFailed();
      if (o.md && !ctx.flags.json) {
        await ctx.progress.finish();
        if (!ctx.flags.quiet) ctx.io.stderr.write(renderReport(result, ctx.errStyle));
        ctx.io.stdout.write(result.markdown ?? '');
        return;
      }
      await ctx.emit('report', result, (r) => renderReport(r, ctx.style));
    }));
}
