/**
 * `d2 commit`: record d2's tracked files in git: d2.yaml, d2.lock, d2.remotes.yaml, .gitignore, d2.sources/
 * (snapshots and labels), d2.review/ (review decisions) and the label CSVs the manifest refers to. Other files of the
 * repository are left to the user's own git workflow.
 *
 * Invariant: only a valid manifest is committed, and only snapshots whose listings are in the
 * store (so the commit can always be checked out and resolved on this machine).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommonOptions } from '../core/progress.js';
import { InvalidArgument, ObjectNotFound } from '../errors/index.js';
import { commitPaths, currentBranch, openGitRepo, resolveIdentity } from '../git/index.js';
import { LOCK_FILE, MANIFEST_FILE, REMOTES_FILE, REVIEW_DIR, SOURCES_DIR } from '../manifest/index.js';
import { relativePosix } from '../util/paths.js';
import { openProject, withStoreLock } from '../project/project.js';
import { readWorkingSource } from '../project/sources.js';
import { withCaller } from './verb.js';

export interface CommitOptions extends CommonOptions {
  message: string;
  /** Environment for the author identity (GIT_AUTHOR_NAME, …); default: none (the CLI passes its environment). */
  env?: NodeJS.ProcessEnv;
  lockTimeoutMs?: number;
}

export interface CommitResult {
  commit: string;
  branch: string | null;
  /** Files of the commit that differ from its parent (paths relative to the git root). */
  changed: string[];
}


export async function commit(options: CommitOptions): Promise<CommitResult> {
  return withCaller('d2.commit', async () => {
    if (!options.message || !options.message.trim()) throw new InvalidArgument('empty commit message', { hint: 'd2 commit -m "what this change does"' });
    const project = openProject(options.dir);
    const repo = await openGitRepo(project.root);
    return withStoreLock(project, 'd2 commit', options, async () => {
      for (const name of Object.keys(project.manifest.sources)) {
        const working = readWorkingSource(project, name);
        if (working && !project.store.has(working.snapshot.listing)) {
          throw new ObjectNotFound(`listing of source '${name}' is not in the store`, { data: { source: name, oid: working.snapshot.listing }, hint: `run 'd2 add --all' to record the sources again` });
        }
      }
      const paths = [MANIFEST_FILE, '.gitignore', SOURCES_DIR, LOCK_FILE, REMOTES_FILE];
      if (fs.existsSync(path.join(project.root, REVIEW_DIR))) paths.push(REVIEW_DIR); // d2 label --keep decisions
      for (const decl of Object.values(project.manifest.sources)) {
        if (decl.labels && decl.labels !== 'dirname' && fs.existsSync(path.join(project.root, decl.labels))) paths.push(decl.labels);
      }
      // The model tests file is a labels file too: a commit without it could not be resolved.
      const tests = project.manifest.dataset.modelTests;
      if (tests && fs.existsSync(path.join(project.root, tests))) paths.push(tests);
      const prefix = relativePosix(repo.dir, project.root);
      const gitPaths = paths.map((p) => (prefix === '.' ? p : `${prefix}/${p}`));
      const author = await resolveIdentity(repo, options.env ?? {});
      const { oid, changed } = await commitPaths(repo, gitPaths, `${options.message.trim()}\n`, author);
      return { commit: oid, branch: (await currentBranch(repo)) ?? null, changed };
    });
  });
}
