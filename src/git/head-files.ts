/**
 * git's HEAD as files, read without isomorphic-git: `.git/HEAD` and, when HEAD is symbolic,
 * the branch's loose ref. The clean-status stamp compares these texts to know that HEAD did
 * not move, before d2 (and isomorphic-git) load. Light on purpose: node's fs only.
 *
 * Invariant: answers only for a plain repository (a `.git` folder) whose branch has a loose
 * ref; anything else (a `.git` file of a worktree or submodule, a packed ref) is undefined, so
 * the caller falls back to the full path.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface LooseHead {
  /** The folder holding `.git`. */
  root: string;
  /** `.git/HEAD`'s text. */
  head: string;
  /** The branch's loose ref, when HEAD is symbolic. */
  ref?: { path: string; text: string };
}

function readText(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

/** HEAD of the repository whose `.git` is in `repoRoot`, as file texts. */
export function readLooseHead(repoRoot: string): LooseHead | undefined {
  const gitDir = path.join(repoRoot, '.git');
  const head = readText(path.join(gitDir, 'HEAD'));
  if (head === undefined) return undefined; // a .git file (worktree, submodule): no answer
  const symbolic = /^ref: (refs\/[^\n]+)\n?$/.exec(head);
  if (!symbolic) return { root: repoRoot, head };
  const refPath = path.join(gitDir, ...symbolic[1]!.split('/'));
  const text = readText(refPath);
  return text === undefined ? undefined : { root: repoRoot, head, ref: { path: refPath, text } };
}
