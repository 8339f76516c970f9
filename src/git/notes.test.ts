/** Notes, refspecs and records of the git adapter, checked with the real git CLI. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, tempDir } from '../testing/index.js';
import { NOTES_REF, NoteIndex, readNote, removeNote, writeNote } from './notes.js';
import { deleteRecordRef, listRecordRefs, resolveRecordRef, setRecordRef, writeFilesTree } from './records.js';
import { commitPaths, initGitRepo, openGitRepo } from './repo.js';
import { configureSharing } from './sharing.js';

const who = { name: 't', email: 't@example.invalid', timestamp: 1700000000, timezoneOffset: 0 };

async function repoWithCommits(n: number): Promise<{ dir: string; commits: string[] }> {
  const dir = tempDir('d2-notes-');
  await initGitRepo(dir);
  const repo = await openGitRepo(dir);
  const commits: string[] = [];
  for (let i = 0; i < n; i++) {
    fs.writeFileSync(path.join(dir, 'd2.yaml'), `v${i}\n`);
    commits.push((await commitPaths(repo, ['d2.yaml'], `c${i}\n`, { ...who, timestamp: who.timestamp + i })).oid);
  }
  return { dir, commits };
}

describe('git notes under refs/notes/d2', () => {
  it('writes, replaces and removes a note that git itself reads, without touching the branch', async () => {
    const { dir, commits } = await repoWithCommits(2);
    const repo = await openGitRepo(dir);
    await writeNote(repo, commits[0]!, 'first try\n', who);
    expect(await readNote(repo, commits[0]!)).toBe('first try\n');
    expect((await git(['notes', '--ref=d2', 'show', commits[0]!], dir)).stdout.trim()).toBe('first try');
    await writeNote(repo, commits[0]!, 'second thoughts\n', who);
    expect((await git(['log', '--notes=d2', '--format=%H %N', '-1', commits[0]!], dir)).stdout).toContain('second thoughts');
    expect(await removeNote(repo, commits[0]!, who)).toBe(true);
    expect(await removeNote(repo, commits[0]!, who)).toBe(false);
    expect(await readNote(repo, commits[0]!)).toBeUndefined();
    expect((await git(['rev-parse', 'HEAD'], dir)).stdout.trim()).toBe(commits[1]);
    expect((await git(['fsck', '--strict'], dir)).exitCode).toBe(0);
  });

  it('shows fetched notes as a merge would, and merges them into its own on the next write (both texts kept)', async () => {
    const { dir, commits } = await repoWithCommits(3);
    const repo = await openGitRepo(dir);
    await writeNote(repo, commits[0]!, 'mine on c0\n', who);
    await writeNote(repo, commits[1]!, 'mine on c1\n', who);
    // as `git fetch` would leave them: a divergent notes history at the remote-tracking ref
    expect((await git(['notes', '--ref=remotes/origin/d2', 'add', '-m', 'theirs on c1', commits[1]!], dir)).exitCode).toBe(0);
    expect((await git(['notes', '--ref=remotes/origin/d2', 'add', '-m', 'theirs on c2', commits[2]!], dir)).exitCode).toBe(0);
    const index = await NoteIndex.read(repo);
    expect(await index.text(commits[2]!)).toBe('theirs on c2\n');
    expect(await index.text(commits[1]!)).toBe('mine on c1\n\ntheirs on c1\n'); // as the merge will leave it

    await writeNote(repo, commits[0]!, 'mine on c0, edited\n', who);
    const merged = await NoteIndex.read(repo);
    expect(await merged.text(commits[1]!)).toBe('mine on c1\n\ntheirs on c1\n');
    expect(await merged.text(commits[2]!)).toBe('theirs on c2\n');
    expect(await merged.text(commits[0]!)).toBe('mine on c0, edited\n');
    // the local ref now descends from the fetched one: pushing it is a fast-forward
    expect((await git(['merge-base', '--is-ancestor', 'refs/notes/remotes/origin/d2', NOTES_REF], dir)).exitCode).toBe(0);
    // a note removed after the merge stays removed
    await removeNote(repo, commits[2]!, who);
    expect(await (await NoteIndex.read(repo)).text(commits[2]!)).toBeUndefined();
    expect((await git(['fsck', '--strict'], dir)).exitCode).toBe(0);
  });
});

describe('refspecs for sharing notes and experiments', () => {
  it("adds them to every git remote once, keeping git push's current branch", async () => {
    const { dir } = await repoWithCommits(1);
    const repo = await openGitRepo(dir);
    expect(await configureSharing(repo)).toEqual([]);
    await git(['remote', 'add', 'origin', '/nowhere.git'], dir);
    const first = await configureSharing(repo);
    expect(first[0]!.added).toEqual([
      'remote.origin.fetch=+refs/notes/d2*:refs/notes/remotes/origin/d2*',
      'remote.origin.fetch=+refs/d2/exps/*:refs/d2/exps/*',
      'remote.origin.push=HEAD',
      'remote.origin.push=refs/notes/d2*:refs/notes/d2*',
      'remote.origin.push=+refs/d2/exps/*:refs/d2/exps/*',
    ]);
    expect((await configureSharing(repo))[0]!.added).toEqual([]);
    expect((await git(['config', '--get-all', 'remote.origin.fetch'], dir)).stdout.trim().split('\n')).toEqual([
      '+refs/heads/*:refs/remotes/origin/*', '+refs/notes/d2*:refs/notes/remotes/origin/d2*', '+refs/d2/exps/*:refs/d2/exps/*',
    ]);
  });
});

describe('commit-free records', () => {
  it('writes a tree of files under a ref that git checks and lists', async () => {
    const { dir } = await repoWithCommits(1);
    const repo = await openGitRepo(dir);
    const tree = await writeFilesTree(repo, new Map([['proj/d2.yaml', 'x\n'], ['proj/d2.sources/a.yaml', 'y\n'], ['top.json', '{}\n']]));
    await setRecordRef(repo, 'refs/d2/exps/', 'exp-1', tree);
    expect(await resolveRecordRef(repo, 'refs/d2/exps/', 'exp-1')).toBe(tree);
    expect([...(await listRecordRefs(repo, 'refs/d2/exps/')).keys()]).toEqual(['exp-1']);
    expect((await git(['ls-tree', '-r', '--name-only', 'refs/d2/exps/exp-1'], dir)).stdout.trim().split('\n')).toEqual(['proj/d2.sources/a.yaml', 'proj/d2.yaml', 'top.json']);
    expect((await git(['fsck', '--strict'], dir)).exitCode).toBe(0);
    await expect(setRecordRef(repo, 'refs/d2/exps/', '../x', tree)).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(await deleteRecordRef(repo, 'refs/d2/exps/', 'exp-1')).toBe(true);
    expect(await deleteRecordRef(repo, 'refs/d2/exps/', 'exp-1')).toBe(false);
    expect((await listRecordRefs(repo, 'refs/d2/exps/')).size).toBe(0);
  });
});
