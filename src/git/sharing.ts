/**
 * What makes `git push` and `git fetch` carry d2's own refs — the notes (`refs/notes/d2`) and
 * the experiments (`refs/d2/exps/*`) — besides the branches: refspecs added to every remote of
 * the repository's `.git/config` (docs/journal.md shows the lines).
 *
 * - fetch: `+refs/notes/d2*:refs/notes/remotes/<remote>/d2*` (a remote's notes never overwrite
 *   the local ones; notes.ts merges them on the next write) and `+refs/d2/exps/*:refs/d2/exps/*`;
 * - push: `refs/notes/d2*:refs/notes/d2*` and `+refs/d2/exps/*:refs/d2/exps/*`, after `HEAD` when
 *   the remote had no push refspec (a configured push refspec replaces git's default of pushing
 *   the current branch, so `HEAD` keeps `git push` pushing it).
 *
 * The notes refspecs are patterns on purpose: a pattern that matches nothing is skipped, while
 * an exact `refs/notes/d2` makes `git fetch` fail on a remote without notes ("couldn't find
 * remote ref") and `git push` fail in a repository without them.
 *
 * Invariants: idempotent (a refspec already there is not added twice); only `remote.<name>.fetch`
 * and `remote.<name>.push` are ever added to, nothing is removed or rewritten.
 */
import fs from 'node:fs';
import git from 'isomorphic-git';
import { NOTES_REF, remoteNotesRef } from './notes.js';
import type { GitRepo } from './repo.js';

export const EXPS_REF_PREFIX = 'refs/d2/exps/';

/** The refspecs d2 wants on a remote. */
export function sharingRefspecs(remote: string): { fetch: string[]; push: string[] } {
  const exps = `+${EXPS_REF_PREFIX}*:${EXPS_REF_PREFIX}*`;
  return {
    fetch: [`+${NOTES_REF}*:${remoteNotesRef(remote)}*`, exps],
    push: [`${NOTES_REF}*:${NOTES_REF}*`, exps],
  };
}

export interface RemoteSharing {
  remote: string;
  /** Config lines added now, as `remote.<name>.fetch=<refspec>`. */
  added: string[];
}

/** Add d2's refspecs to every git remote that lacks them (`remotes` narrows to some). */
export async function configureSharing(repo: GitRepo, remotes?: readonly string[]): Promise<RemoteSharing[]> {
  const out: RemoteSharing[] = [];
  const all = (await git.listRemotes({ fs, dir: repo.dir })).map((r) => r.remote);
  for (const remote of all) {
    if (remotes && !remotes.includes(remote)) continue;
    if (!/^[A-Za-z0-9._-]+$/.test(remote)) continue; // a name git config cannot hold as a plain section
    const want = sharingRefspecs(remote);
    const added: string[] = [];
    for (const kind of ['fetch', 'push'] as const) {
      const key = `remote.${remote}.${kind}`;
      const have = ((await git.getConfigAll({ fs, dir: repo.dir, path: key })) as unknown[]).map(String);
      const missing = want[kind].filter((r) => !have.includes(r));
      if (kind === 'push' && have.length === 0 && missing.length) missing.unshift('HEAD');
      for (const refspec of missing) {
        await git.setConfig({ fs, dir: repo.dir, path: key, value: refspec, append: true });
        added.push(`${key}=${refspec}`);
      }
    }
    out.push({ remote, added });
  }
  return out;
}
