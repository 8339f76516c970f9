/**
 * `d2 commit`: record d2's tracked files in git: d2.yaml, d2.lock, d2.remotes.yaml, .gitignore, d2.sources/
 * (snapshots and labels), d2.review/ (review decisions) and the label CSVs the manifest refers to
 * (project/d2-files.ts). Other files of the repository are left to the user's own git
 * workflow: staged ones stay staged and out of the commit.
 *
 * Invariant: only a valid manifest is committed, and only snapshots whose listings are in the
 * store (so the commit can always be checked out and resolved on this machine).
 */
import type { CommonOptions } from '../core/progress.js';
import { InvalidArgument, ObjectNotFound } from '../errors/index.js';
import { commitPaths, currentBranch, openGitRepo, resolveIdentity } from '../git/index.js';
import { relativePosix } from '../util/paths.js';
import { openProject, withStoreLock } from '../project/project.js';
import { committedPaths } from '../project/d2-files.js';
import { readWorkingSource } from '../project/sources.js';
import { checkOptions, COMMON_OPTIONS, withCaller } from './verb.js';

export interface CommitOptions extends CommonOptions {
  message: string;
  /** Environment for the author identity (GIT_AUTHOR_NAME, …); default: none (the CLI passes its environment). */
  env?: NodeJS.ProcessEnv;
  lockTimeoutMs?: number;
}

export interface CommitResult {
  commit: string;
  branch: string | null;
  /** Files of the commit that differ from its parent (paths relative to the git root): all the commit changes. */
  changed: string[];
  /**
   * Files the user staged with git that are not d2's: left staged and out of the commit (as
   * `git commit -- <paths>` leaves them), for the user's own `git commit`.
   */
  leftStaged: string[];
}


export async function commit(options: CommitOptions): Promise<CommitResult> {
  return withCaller('d2.commit', async () => {
    checkOptions(options, { ...COMMON_OPTIONS, message: true, env: true, lockTimeoutMs: true });
    if (!options.message || !options.message.trim()) throw new InvalidArgument('empty commit message', { hint: 'd2 commit -m "what this change does"' });
    const project = openProject(options.dir);
    const repo = await openGitRepo(project.root);
    return withStoreLock(project, 'd2 commit', options, async () => {
      for (const name of Object.keys(project.manifest.sources)) {
        const working = readWorkingSource(project, name);
        if (working && !project.store.has(working.snapshot.listing)) {
          throw new ObjectNotFound(`listing of source '${name}' is not in the store`, { data: { source: name, oid: working.snapshot.listing }, hint: "run 'd2 pull' (a fresh clone has no data yet), or 'd2 add --all' to record the sources again" });
        }
      }
      const paths = committedPaths(project.root, project.manifest);
      const prefix = relativePosix(repo.dir, project.root);
      const gitPaths = paths.map((p) => (prefix === '.' ? p : `${prefix}/${p}`));
      const author = await resolveIdentity(repo, options.env ?? {});
      const { oid, changed, leftStaged } = await commitPaths(repo, gitPaths, `${options.message.trim()}\n`, author);
      return { commit: oid, branch: (await currentBranch(repo)) ?? null, changed, leftStaged };
    });
  });
}
