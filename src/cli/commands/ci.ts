/** `d2 ci init github`: write the CI workflow (build, diff --fail-on, report as one PR comment, push) */
import type { Command } from 'commander';
import { CI_PROVIDERS } from '../../index.js';
import { action, examples, type Runtime } from '../action.js';
import { renderCiInit } from '../render/report.js';

export function registerCi(program: Command, rt: Runtime): void {
  const ci = program.command('ci')
    .description('continuous integration: write the workflow that runs d2 on pull requests')
    .addHelpText('after', `${examples('$ d2 ci init github')}
See 'd2 ci init --help' and docs/ci.md.
`);
  ci.command('init')
    .description("write the workflow: on a pull request touching d2's files, build, diff against the base, comment the report, push the models")
    .argument('<provider>', `CI service: ${CI_PROVIDERS.join(', ')}`)
    .option('--force', 'replace an existing workflow file')
    .option('--fail-on <rules>', "the diff's --fail-on rules (see 'd2 diff --help')", 'accuracy-drop=0.01,broken-model-tests')
    .option('--d2-package <spec>', 'what npm installs as d2 in CI (default: this version of d2)')
    .addHelpText('after', `${examples(
      '$ d2 ci init github && git add .github && git commit -m "CI: d2 on pull requests"',
      '$ d2 ci init github --force --fail-on accuracy-drop=0.005,recall-drop=0.05,broken-model-tests',
    )}
GitHub: writes .github/workflows/d2.yml at the root of the git repository. See docs/ci.md.
`)
    .action(action<{ force?: boolean; failOn: string; d2Package?: string }>(rt, async (ctx, args, o) => {
      const result = await ctx.api.ciInit({
        ...ctx.common(), provider: args[0] as never, force: o.force === true, failOn: o.failOn,
        ...(o.d2Package !== undefined ? { d2Package: o.d2Package } : {}),
      });
      await ctx.emit('ci', result, (r) => renderCiInit(r, ctx.style));
    }));
}
