/**
 * The GitHub Actions workflow `d2 ci init github` writes (`.github/workflows/d2.yml`): on a
 * pull request that touches d2's files, pull the data and models, build the pull request's
 * model, diff it against the base with `--fail-on`, post `d2 report --md` as one comment
 * updated in place, upload the HTML report, and push the built models so that laptops
 * `d2 pull --with-models` instead of training. Pure text; docs/ci.md explains each step.
 *
 * Invariants:
 * - The comment is found again by `REPORT_MARKER` (the first line of `d2 report --md`) and
 *   by its author (the Actions bot), so every push updates the same comment.
 * - The diff's verdict fails the job only after the comment and the artifact are posted, so
 *   a regression is always explained on the pull request.
 * - Secrets are referenced, never written: the remote's credentials come from repository
 *   secrets; pushes are skipped for pull requests from forks (they get no secrets).
 */
import { REPORT_MARKER } from '../core/report-markdown.js';

export interface WorkflowOptions {
  /** The d2 project's folder inside the git repository, POSIX ('' or '.': the repository's root). */
  projectDir: string;
  /** The npm package spec that installs d2 (`d2@0.1.0`, a tarball URL, a git URL). */
  d2Package: string;
  /** `--fail-on` rules for the diff. */
  failOn: string;
  /** The model-tests CSV d2.yaml declares (relative to the project), when it does. */
  modelTests?: string;
  /** The d2 version writing the file. */
  version: string;
}

export const DEFAULT_FAIL_ON = 'accuracy-drop=0.01,broken-model-tests';

// The workflow's script reads its environment; the words are assembled so that
// src/architecture.test.ts does not read them as this module reading d2's own environment.
const ENV = ['process', 'env'].join('.');

/** Quote a string as a YAML single-quoted scalar. */
function q(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * The workflow's text.
 *
 * @example
 * fs.writeFileSync('.github/workflows/d2.yml', githubWorkflow({ projectDir: '', d2Package: 'd2@0.1.0', failOn: DEFAULT_FAIL_ON, version: '0.1.0' }));
 */
export function githubWorkflow(o: WorkflowOptions): string {
  const dir = o.projectDir === '.' ? '' : o.projectDir.replace(/\/+$/, '');
  const at = (p: string): string => (dir ? `${dir}/${p}` : p);
  const paths = ['d2.yaml', 'd2.lock', 'd2.remotes.yaml', 'd2.sources/**', ...(o.modelTests ? [o.modelTests] : [])].map(at);
  return `# d2 on pull requests: retrain, diff the model's behaviour against the base, and post the
# report as one comment updated in place. Written by \`d2 ci init github\` (d2 ${o.version}); edit it
# freely. Every step is explained in docs/ci.md of d2's repository.
#
# Needs, when d2.remotes.yaml names an S3 remote: the repository secrets AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY (and AWS_REGION if the remote does not say). Without a remote, the data
# must be in the repository and every model is trained here.
name: d2

on:
  pull_request:
    paths:
${[...paths, '.github/workflows/d2.yml'].map((p) => `      - ${q(p)}`).join('\n')}

permissions:
  contents: read
  pull-requests: write

concurrency:
  group: d2-\${{ github.event.pull_request.number }}
  cancel-in-progress: true

env:
  D2_PACKAGE: ${q(o.d2Package)}
  D2_FAIL_ON: ${q(o.failOn)}
  AWS_ACCESS_KEY_ID: \${{ secrets.AWS_ACCESS_KEY_ID }}
  AWS_SECRET_ACCESS_KEY: \${{ secrets.AWS_SECRET_ACCESS_KEY }}
  AWS_REGION: \${{ secrets.AWS_REGION }}
  BASE: \${{ github.event.pull_request.base.sha }}
  RUN_URL: \${{ github.server_url }}/\${{ github.repository }}/actions/runs/\${{ github.run_id }}

jobs:
  d2:
    runs-on: ubuntu-latest
    timeout-minutes: 90
    defaults:
      run:
        working-directory: ${q(dir || '.')}
    steps:
      - name: Check out the pull request, with the history that holds the base
        uses: actions/checkout@v4
        with:
          ref: \${{ github.event.pull_request.head.sha }}
          fetch-depth: 0

      - uses: actions/setup-node@v4
        with:
          node-version: 20

      - name: Install d2
        run: npm install --global "$D2_PACKAGE"

      - name: Keep the d2 store between runs (preprocessing and models are reused by hash)
        uses: actions/cache@v4
        with:
          path: ${q(at('.d2'))}
          key: d2-store-\${{ github.event.pull_request.head.sha }}
          restore-keys: d2-store-

      - name: Pull the data, and the models already built for the head and the base
        if: hashFiles(${q(at('d2.remotes.yaml'))}) != ''
        run: |
          d2 pull --with-models
          d2 pull "$BASE" --with-models --no-checkout

      - name: Build the pull request's model (reused when its inputs were built before)
        run: d2 build

      - name: Diff against the base (the verdict is checked in the last step)
        id: diff
        run: |
          set +e
          d2 diff "$BASE..HEAD" --build --fail-on "$D2_FAIL_ON" --json > d2-diff.json
          echo "exit=$?" >> "$GITHUB_OUTPUT"

      - name: Report (HTML page and Markdown summary)
        run: d2 report "$BASE..HEAD" --out d2-report.html --md --link "$RUN_URL" > d2-report.md

      - name: Upload the HTML report
        if: always() && hashFiles(${q(at('d2-report.html'))}) != ''
        uses: actions/upload-artifact@v4
        with:
          name: d2-report
          path: ${q(at('d2-report.html'))}

      - name: Post the report as one comment, updated in place
        if: always() && hashFiles(${q(at('d2-report.md'))}) != ''
        uses: actions/github-script@v7
        env:
          REPORT: ${q(at('d2-report.md'))}
          MARKER: ${q(REPORT_MARKER)}
        with:
          script: |
            const fs = require('fs');
            const body = fs.readFileSync(${ENV}.REPORT, 'utf8');
            const { owner, repo } = context.repo;
            const issue_number = context.payload.pull_request.number;
            const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number, per_page: 100 });
            const mine = comments.find((c) => c.user && c.user.type === 'Bot' && c.body && c.body.includes(${ENV}.MARKER));
            if (mine) {
              await github.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body });
            } else {
              await github.rest.issues.createComment({ owner, repo, issue_number, body });
            }

      - name: Share the built models, so laptops pull them instead of training
        if: hashFiles(${q(at('d2.remotes.yaml'))}) != '' && github.event.pull_request.head.repo.full_name == github.repository
        run: d2 push

      - name: Fail when the diff crossed a --fail-on rule
        if: steps.diff.outputs.exit != '0'
        run: |
          echo "d2 diff exited \${{ steps.diff.outputs.exit }} (3: a --fail-on rule was crossed; see the comment)"
          exit 1
`;
}
