/**
 * `d2 ci init github`: write the CI recipe — a GitHub Actions workflow that, on a pull
 * request touching d2's files, builds, diffs against the base with `--fail-on`, posts
 * `d2 report --md` as one comment updated in place, uploads the HTML report, and pushes the
 * built models (manifest/ci-workflow.ts holds the text; docs/ci.md explains it).
 *
 * Invariants: the workflow goes to `.github/workflows/d2.yml` at the root of the project's git
 * repository (GitHub reads it only there), with the project's folder as the steps' working
 * directory; an existing file is replaced only with `force`, atomically.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseFailOn } from '../core/fail-on.js';
import type { CommonOptions } from '../core/progress.js';
import { InvalidArgument, NotAGitRepository } from '../errors/index.js';
import { findGitRoot } from '../git/index.js';
import { DEFAULT_FAIL_ON, githubWorkflow } from '../manifest/index.js';
import { openProject } from '../project/project.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { VERSION } from '../util/version.js';
import { withCaller } from './verb.js';

export const CI_PROVIDERS = ['github'] as const;
export type CiProvider = (typeof CI_PROVIDERS)[number];

export interface CiInitOptions extends CommonOptions {
  provider: CiProvider;
  /** Replace an existing workflow file. */
  force?: boolean;
  /** `--fail-on` rules for the diff (default 'accuracy-drop=0.01,broken-model-tests'). */
  failOn?: string;
  /** The npm package spec that installs d2 in CI (default `d2@<this version>`). */
  d2Package?: string;
}

export interface CiInitResult {
  provider: CiProvider;
  /** The workflow file, relative to the git repository's root (POSIX). */
  path: string;
  /** True when an existing file was replaced. */
  replaced: boolean;
  /** What to do next. */
  next: string[];
}

/**
 * Write the CI workflow of a project.
 *
 * @example
 * const r = await ciInit({ dir: 'my-dataset', provider: 'github' });
 * console.log(r.path); // '.github/workflows/d2.yml'
 */
export async function ciInit(options: CiInitOptions): Promise<CiInitResult> {
  return withCaller('d2.ciInit', async () => {
    if (!(CI_PROVIDERS as readonly string[]).includes(options.provider)) {
      throw new InvalidArgument(`unknown CI provider '${String(options.provider)}' (known: ${CI_PROVIDERS.join(', ')})`, { data: { option: 'provider' } });
    }
    const failOn = options.failOn ?? DEFAULT_FAIL_ON;
    parseFailOn(failOn); // refuse a bad rule now, not in CI
    const project = openProject(options.dir);
    const gitRoot = await findGitRoot(project.root);
    if (!gitRoot) throw new NotAGitRepository(`'${project.root}' is not in a git repository`, { hint: "run 'git init' (or 'd2 init'), then 'd2 ci init github'" });
    const root = fs.realpathSync(gitRoot);
    const rel = '.github/workflows/d2.yml';
    const file = path.join(root, ...rel.split('/'));
    const replaced = fs.existsSync(file);
    if (replaced && !options.force) {
      throw new InvalidArgument(`'${rel}' exists`, { data: { path: rel, option: 'force' }, hint: 'give --force to replace it' });
    }
    const text = githubWorkflow({
      projectDir: path.relative(root, project.root).split(path.sep).join('/'),
      d2Package: options.d2Package ?? `d2@${VERSION}`,
      failOn,
      version: VERSION,
      ...(project.manifest.dataset.modelTests ? { modelTests: project.manifest.dataset.modelTests } : {}),
    });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomicSync(file, text);
    const hasRemote = fs.existsSync(path.join(project.root, 'd2.remotes.yaml'));
    return {
      provider: options.provider,
      path: rel,
      replaced,
      next: [
        `git add ${rel} && git commit -m "CI: d2 on pull requests"`,
        hasRemote
          ? 'add the remote\'s credentials as repository secrets: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_REGION)'
          : "without a remote ('d2 remote add'), CI needs the data in the repository and trains every model itself",
        'see docs/ci.md for what each step does',
      ],
    };
  });
}
