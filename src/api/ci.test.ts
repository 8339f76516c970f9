/**
 * `d2 ci init github`: the workflow it writes is valid GitHub Actions syntax (checked against
 * a strict schema of the workflow keys it uses, every `run` script through `bash -n`, every
 * expression's contexts), runs the steps the recipe promises in order, and its comment step,
 * run against a fake GitHub API, creates one comment and then updates that same comment.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { REPORT_MARKER } from '../core/report-markdown.js';
import { tempDir } from '../testing/index.js';
import { ciInit } from './ci.js';
import { init } from './init.js';

// The workflow syntax (docs.github.com, "Workflow syntax for GitHub Actions"), strict on every
// key d2's workflow may use: an unknown or misspelt key fails.
const expression = z.string();
const permissionLevel = z.enum(['read', 'write', 'none']);
const step = z.strictObject({
  id: z.string().regex(/^[A-Za-z_][\w-]*$/).optional(),
  name: z.string().optional(),
  if: z.string().optional(),
  uses: z.string().regex(/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[\w.-]+$/).optional(),
  run: z.string().optional(),
  shell: z.string().optional(),
  'working-directory': z.string().optional(),
  with: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  'continue-on-error': z.union([z.boolean(), expression]).optional(),
  'timeout-minutes': z.number().optional(),
}).refine((s) => (s.uses === undefined) !== (s.run === undefined), 'a step has exactly one of uses and run');
const job = z.strictObject({
  name: z.string().optional(),
  'runs-on': z.union([z.string(), z.array(z.string())]),
  'timeout-minutes': z.number().optional(),
  permissions: z.record(z.string(), permissionLevel).optional(),
  needs: z.union([z.string(), z.array(z.string())]).optional(),
  if: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  defaults: z.strictObject({ run: z.strictObject({ shell: z.string().optional(), 'working-directory': z.string().optional() }) }).optional(),
  steps: z.array(step).min(1),
});
const workflowSchema = z.strictObject({
  name: z.string(),
  on: z.strictObject({
    pull_request: z.strictObject({
      types: z.array(z.string()).optional(),
      branches: z.array(z.string()).optional(),
      paths: z.array(z.string()).min(1),
    }),
  }),
  permissions: z.partialRecord(z.enum(['actions', 'checks', 'contents', 'deployments', 'id-token', 'issues', 'packages', 'pages', 'pull-requests', 'statuses']), permissionLevel),
  concurrency: z.strictObject({ group: z.string(), 'cancel-in-progress': z.boolean() }).optional(),
  env: z.record(z.string(), z.string()).optional(),
  jobs: z.record(z.string().regex(/^[A-Za-z_][\w-]*$/), job),
});
type Workflow = z.infer<typeof workflowSchema>;
type Step = Workflow['jobs'][string]['steps'][number];

/** Every `${{ … }}` expression of a text. */
function expressions(text: string): string[] {
  return [...text.matchAll(/\$\{\{(.*?)\}\}/gs)].map((m) => m[1]!.trim());
}

function read(file: string): { text: string; workflow: Workflow; steps: Step[] } {
  const text = fs.readFileSync(file, 'utf8');
  const workflow = workflowSchema.parse(parse(text));
  return { text, workflow, steps: Object.values(workflow.jobs)[0]!.steps };
}

function stepIndex(steps: Step[], test: (s: Step) => boolean): number {
  const i = steps.findIndex(test);
  expect(i, 'step not found').toBeGreaterThanOrEqual(0);
  return i;
}

describe('d2 ci init github', () => {
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = path.join(tempDir(), 'p');
    await init({ dir });
    fs.writeFileSync(path.join(dir, 'd2.yaml'), fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8').replace('version: 1', 'version: 1\ndataset:\n  modelTests: tests/model-tests.csv'));
    const r = await ciInit({ dir, provider: 'github' });
    expect(r).toMatchObject({ provider: 'github', path: '.github/workflows/d2.yml', replaced: false });
    file = path.join(dir, '.github', 'workflows', 'd2.yml');
  });

  it('writes a workflow that satisfies the schema, triggered by the files d2 keeps in git', () => {
    const { workflow } = read(file);
    expect(workflow.on.pull_request.paths).toEqual(['d2.yaml', 'd2.lock', 'd2.remotes.yaml', 'd2.sources/**', 'tests/model-tests.csv', '.github/workflows/d2.yml']);
    expect(workflow.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' });
    expect(Object.values(workflow.jobs)[0]!.defaults?.run['working-directory']).toBe('.');
  });

  it('runs pull, build, diff --fail-on, report --md, upload, comment, push, then the verdict, in that order', () => {
    const { steps } = read(file);
    const run = (re: RegExp) => (s: Step) => s.run !== undefined && re.test(s.run);
    const uses = (name: string) => (s: Step) => s.uses?.startsWith(`${name}@`) === true;
    const order = [
      stepIndex(steps, uses('actions/checkout')),
      stepIndex(steps, run(/^npm install --global "\$D2_PACKAGE"$/m)),
      stepIndex(steps, run(/^d2 pull --with-models$/m)),
      stepIndex(steps, run(/^d2 build$/m)),
      stepIndex(steps, run(/^d2 diff "\$BASE\.\.HEAD" --build --fail-on "\$D2_FAIL_ON" --json/m)),
      stepIndex(steps, run(/^d2 report "\$BASE\.\.HEAD" --out d2-report\.html --md --link "\$RUN_URL" > d2-report\.md$/m)),
      stepIndex(steps, uses('actions/upload-artifact')),
      stepIndex(steps, uses('actions/github-script')),
      stepIndex(steps, run(/^d2 push$/m)),
      stepIndex(steps, (s) => s.if === "steps.diff.outputs.exit != '0'"),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // the history holds the base; the diff's exit code is kept for the last step
    expect(steps[order[0]!]!.with).toMatchObject({ 'fetch-depth': 0 });
    expect(steps[order[4]!]!.id).toBe('diff');
    expect(steps[order[4]!]!.run).toContain('echo "exit=$?" >> "$GITHUB_OUTPUT"');
    // the report is posted and uploaded even when an earlier step failed
    expect(steps[order[6]!]!.if).toMatch(/^always\(\) && /);
    expect(steps[order[7]!]!.if).toMatch(/^always\(\) && /);
    expect(steps[order[6]!]!.with).toMatchObject({ name: 'd2-report', path: 'd2-report.html' });
    // no pushes from forks (they get no secrets)
    expect(steps[order[8]!]!.if).toContain('github.event.pull_request.head.repo.full_name == github.repository');
  });

  it('has scripts bash can parse and expressions over the contexts GitHub gives', () => {
    const { text, steps } = read(file);
    for (const s of steps.filter((x) => x.run !== undefined)) {
      // expressions are replaced by GitHub before bash sees the script
      execFileSync('bash', ['-n'], { input: s.run!.replace(/\$\{\{.*?\}\}/g, 'X') });
    }
    const exprs = expressions(text);
    expect(exprs.length).toBeGreaterThan(5);
    for (const e of exprs) expect(e, e).toMatch(/^(github|secrets|steps)\.[\w.-]+$/);
    for (const s of steps.filter((x) => x.if !== undefined)) {
      for (const name of s.if!.match(/\b[a-zA-Z_][\w-]*(?=\s*\()/g) ?? []) expect(['always', 'hashFiles']).toContain(name);
    }
    // credentials only as references to repository secrets
    const { workflow } = read(file);
    for (const [k, v] of Object.entries(workflow.env ?? {})) if (k.startsWith('AWS_')) expect(v).toBe(`\${{ secrets.${k} }}`);
    expect(text).not.toMatch(/AKIA[0-9A-Z]{16}/);
  });

  it('posts one comment, then updates that same comment (found by its hidden marker)', async () => {
    const { steps } = read(file);
    const script = steps.find((s) => s.uses?.startsWith('actions/github-script@'))!;
    const env = script.env as Record<string, string>;
    expect(env.MARKER).toBe(REPORT_MARKER);
    const reportFile = path.join(dir, 'comment.md');
    // a fake GitHub: issue comments in memory, one from a person quoting the marker
    const comments: { id: number; body: string; user: { type: string } }[] = [{ id: 1, body: `see ${REPORT_MARKER}`, user: { type: 'User' } }];
    const github = {
      paginate: async (fn: (o: unknown) => Promise<{ data: unknown[] }>, o: unknown) => (await fn(o)).data,
      rest: {
        issues: {
          listComments: async () => ({ data: comments.map((c) => ({ ...c })) }),
          createComment: async ({ body }: { body: string }) => { comments.push({ id: comments.length + 1, body, user: { type: 'Bot' } }); },
          updateComment: async ({ comment_id, body }: { comment_id: number; body: string }) => { comments.find((c) => c.id === comment_id)!.body = body; },
        },
      },
    };
    const context = { repo: { owner: 'o', repo: 'r' }, payload: { pull_request: { number: 7 } } };
    const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...a: string[]) => (...x: unknown[]) => Promise<void>;
    const envText = `${['process', 'env'].join('.')}.`;
    const body = String(script.with!.script).replaceAll(envText, 'vars.');
    const run = new AsyncFunction('require', 'github', 'context', 'vars', body);
    const vars = { REPORT: reportFile, MARKER: env.MARKER };
    fs.writeFileSync(reportFile, `${REPORT_MARKER}\nfirst report\n`);
    await run((m: string) => (m === 'fs' ? fs : undefined), github, context, vars);
    fs.writeFileSync(reportFile, `${REPORT_MARKER}\nsecond report\n`);
    await run((m: string) => (m === 'fs' ? fs : undefined), github, context, vars);
    expect(comments).toEqual([
      { id: 1, body: `see ${REPORT_MARKER}`, user: { type: 'User' } },
      { id: 2, body: `${REPORT_MARKER}\nsecond report\n`, user: { type: 'Bot' } },
    ]);
  });

  it('puts the workflow at the git root for a project in a subfolder, with its paths', async () => {
    const root = tempDir();
    execFileSync('git', ['init', '-q', root]);
    const sub = path.join(root, 'data', 'fashion');
    await init({ dir: sub });
    const r = await ciInit({ dir: sub, provider: 'github', failOn: 'accuracy-drop=0.02' });
    expect(r.path).toBe('.github/workflows/d2.yml');
    const { workflow, steps } = read(path.join(root, '.github', 'workflows', 'd2.yml'));
    expect(workflow.on.pull_request.paths).toContain('data/fashion/d2.sources/**');
    expect(Object.values(workflow.jobs)[0]!.defaults?.run['working-directory']).toBe('data/fashion');
    expect(workflow.env?.D2_FAIL_ON).toBe('accuracy-drop=0.02');
    expect(steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!.with).toMatchObject({ path: 'data/fashion/d2-report.html' });
    expect(fs.existsSync(path.join(sub, '.github'))).toBe(false);
  });

  it('refuses to replace a workflow without force, an unknown provider, and a bad rule', async () => {
    fs.writeFileSync(file, 'mine\n');
    await expect(ciInit({ dir, provider: 'github' })).rejects.toMatchObject({ code: 'InvalidArgument', hint: 'give --force to replace it' });
    expect(fs.readFileSync(file, 'utf8')).toBe('mine\n');
    await expect(ciInit({ dir, provider: 'github', force: true })).resolves.toMatchObject({ replaced: true });
    expect(() => read(file)).not.toThrow();
    await expect(ciInit({ dir, provider: 'gitlab' as never })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(ciInit({ dir, provider: 'github', force: true, failOn: 'acuracy-drop=1' })).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});
