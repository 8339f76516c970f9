import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/index.js';
import git from 'isomorphic-git';
import { commitPaths, initGitRepo, logCommits, openGitRepo, readFileAtCommit, resolveIdentity, resolveRev, workingChanges } from './repo.js';

const who = { name: 't', email: 't@example.invalid', timestamp: 1700000000, timezoneOffset: 0 };

describe('git adapter', () => {
  it('commits only the given paths and resolves revisions as git does', async () => {
    const dir = tempDir();
    await initGitRepo(dir);
    const repo = await openGitRepo(dir);
    fs.writeFileSync(path.join(dir, 'd2.yaml'), 'v1\n');
    fs.writeFileSync(path.join(dir, 'other.txt'), 'not mine\n');
    const c1 = await commitPaths(repo, ['d2.yaml'], 'one\n', who);
    expect(c1.changed).toEqual(['d2.yaml']);
    fs.writeFileSync(path.join(dir, 'd2.yaml'), 'v2\n');
    const c2 = await commitPaths(repo, ['d2.yaml', 'missing-dir'], 'two\n', { ...who, timestamp: who.timestamp + 1 });
    await expect(commitPaths(repo, ['d2.yaml'], 'three\n', who)).rejects.toMatchObject({ code: 'NothingToCommit' });

    expect(await resolveRev(repo, 'HEAD')).toBe(c2.oid);
    expect(await resolveRev(repo, 'HEAD~1')).toBe(c1.oid);
    expect(await resolveRev(repo, 'main^')).toBe(c1.oid);
    expect(await resolveRev(repo, c2.oid.slice(0, 7))).toBe(c2.oid);
    await expect(resolveRev(repo, 'HEAD~2')).rejects.toMatchObject({ code: 'RevNotFound' });
    await expect(resolveRev(repo, 'nope')).rejects.toMatchObject({ code: 'RevNotFound', message: "unknown revision 'nope'" });

    expect(await readFileAtCommit(repo, c1.oid, 'd2.yaml')).toBe('v1\n');
    expect(await readFileAtCommit(repo, c1.oid, 'other.txt')).toBeUndefined();
    expect((await logCommits(repo)).map((c) => c.message)).toEqual(['two', 'one']);
  });

  it('finds the author in the environment, then the configs, or says how to set it', async () => {
    const dir = tempDir();
    await initGitRepo(dir);
    const repo = await openGitRepo(dir);
    const emptyHome = tempDir();
    await expect(resolveIdentity(repo, { HOME: emptyHome, XDG_CONFIG_HOME: emptyHome })).rejects.toMatchObject({ code: 'AuthorUnknown' });
    fs.writeFileSync(path.join(emptyHome, '.gitconfig'), '[core]\n\tx = 1\n[user]\n\tname = "Ada L"\n\temail = ada@example.invalid\n');
    expect(await resolveIdentity(repo, { HOME: emptyHome, XDG_CONFIG_HOME: emptyHome })).toEqual({ name: 'Ada L', email: 'ada@example.invalid' });
    expect(await resolveIdentity(repo, { HOME: emptyHome, GIT_AUTHOR_NAME: 'B', GIT_AUTHOR_EMAIL: 'b@x', GIT_AUTHOR_DATE: '@1700000000 +0000' }))
      .toEqual({ name: 'B', email: 'b@x', timestamp: 1700000000, timezoneOffset: 0 });
  });

  it("commits only its paths when the user staged others, and leaves those staged", async () => {
    const dir = tempDir();
    await initGitRepo(dir);
    const repo = await openGitRepo(dir);
    fs.mkdirSync(path.join(dir, 'd2.sources'));
    fs.writeFileSync(path.join(dir, 'd2.yaml'), 'v1\n');
    fs.writeFileSync(path.join(dir, 'd2.sources', 'a.yaml'), 'a\n');
    fs.mkdirSync(path.join(dir, 'notes', 'deep'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'notes', 'deep', 'mine.md'), 'mine\n');
    const first = await commitPaths(repo, ['d2.yaml', 'd2.sources'], 'one\n', who);
    expect(first.leftStaged).toEqual([]);
    // the user stages a file of their own; d2 changes one of its files
    await git.add({ fs, dir, filepath: 'notes/deep/mine.md' });
    fs.writeFileSync(path.join(dir, 'd2.sources', 'a.yaml'), 'a2\n');
    expect(await workingChanges(repo, ['d2.yaml', 'd2.sources', 'd2.lock'])).toEqual([{ path: 'd2.sources/a.yaml', change: 'modified' }]);
    const second = await commitPaths(repo, ['d2.yaml', 'd2.sources'], 'two\n', { ...who, timestamp: who.timestamp + 1 });
    expect(second).toMatchObject({ changed: ['d2.sources/a.yaml'], leftStaged: ['notes/deep/mine.md'] });
    expect(await readFileAtCommit(repo, second.oid, 'notes/deep/mine.md')).toBeUndefined();
    expect(await readFileAtCommit(repo, second.oid, 'd2.sources/a.yaml')).toBe('a2\n');
    expect(await readFileAtCommit(repo, second.oid, 'd2.yaml')).toBe('v1\n');
    // still staged: a plain commit of the index records it next
    const matrix = await git.statusMatrix({ fs, dir, filepaths: ['notes'] });
    expect(matrix).toEqual([['notes/deep/mine.md', 0, 2, 2]]);
    expect(await workingChanges(repo, ['d2.yaml', 'd2.sources'])).toEqual([]);
  });
});
