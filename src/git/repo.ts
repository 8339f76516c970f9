/**
 * The git side of a d2 project, and the only importer of isomorphic-git: every git operation
 * d2 performs goes through here (no shelling out to git).
 *
 * Invariants: the repository stays an ordinary git repository (the real `git` CLI reads it and
 * `git fsck` is clean); d2 commits only the paths it is given; a revision the user types is
 * resolved here or rejected with RevNotFound.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import { AuthorUnknown, NotAGitRepository, NothingToCommit, RevNotFound } from '../errors/index.js';
import { readFs } from './read-fs.js';

/**
 * The file system isomorphic-git reads through when d2 walks history: Node's synchronous calls
 * behind promises. Each object read costs isomorphic-git a few stats, opens and a folder listing;
 * through the thread pool each is a round trip, and walking a thousand commits spent more time
 * waiting for those than reading. Used for reads only (writes keep Node's asynchronous `fs`).
 */
export interface GitRepo {
  /** Working-tree root of the git repository (may be above the d2 project). */
  dir: string;
  cache: object;
}

export interface Identity {
  name: string;
  email: string;
  /** Seconds since the epoch; defaults to now. */
  timestamp?: number;
  timezoneOffset?: number;
}

export interface CommitInfo {
  oid: string;
  /** The commit's root tree. */
  tree: string;
  message: string;
  author: { name: string; email: string; time: string };
  parents: string[];
}

export async function findGitRoot(dir: string): Promise<string | undefined> {
  try {
    return await git.findRoot({ fs, filepath: dir });
  } catch {
    return undefined;
  }
}

export async function openGitRepo(projectRoot: string): Promise<GitRepo> {
  const root = await findGitRoot(projectRoot);
  if (!root) {
    throw new NotAGitRepository(`'${projectRoot}' is not inside a git repository`, { hint: "run 'd2 init' (it creates one) or 'git init'" });
  }
  return { dir: root, cache: {} };
}

export async function initGitRepo(dir: string): Promise<void> {
  await git.init({ fs, dir, defaultBranch: 'main' });
}

export async function headCommit(repo: GitRepo): Promise<string | undefined> {
  try {
    return await git.resolveRef({ fs, dir: repo.dir, ref: 'HEAD' });
  } catch {
    return undefined; // unborn branch: no commit yet
  }
}

export async function currentBranch(repo: GitRepo): Promise<string | undefined> {
  return (await git.currentBranch({ fs, dir: repo.dir, fullname: false })) ?? undefined;
}

/**
 * Resolve a revision to a commit oid: HEAD, a branch, a tag, a full or abbreviated oid, each
 * optionally followed by `~N` and `^` steps (first parents), as in git.
 */
export async function resolveRev(repo: GitRepo, rev: string): Promise<string> {
  const m = /^(.*?)((?:[~^]\d*)*)$/.exec(rev.trim());
  const base = m?.[1] || 'HEAD';
  const steps = m?.[2] ?? '';
  let oid: string | undefined;
  try {
    oid = await git.resolveRef({ fs, dir: repo.dir, ref: base });
  } catch {
    if (/^[0-9a-f]{4,40}$/i.test(base)) {
      try {
        oid = await git.expandOid({ fs, dir: repo.dir, oid: base.toLowerCase(), cache: repo.cache });
      } catch {
        oid = undefined;
      }
    }
  }
  if (!oid) throw new RevNotFound(`unknown revision '${rev}'`, { data: { rev }, hint: "see 'd2 log' for the commits of this project" });
  oid = await peelToCommit(repo, oid, rev);
  for (const step of steps.match(/[~^]\d*/g) ?? []) {
    const n = step.length > 1 ? Number(step.slice(1)) : 1;
    const count = step[0] === '~' ? n : 1;
    const parentIndex = step[0] === '^' ? Math.max(n, 1) - 1 : 0;
    for (let i = 0; i < count; i++) {
      const { commit } = await git.readCommit({ fs, dir: repo.dir, oid, cache: repo.cache });
      const parent = commit.parent[i === 0 ? parentIndex : 0];
      if (!parent) throw new RevNotFound(`unknown revision '${rev}': '${oid.slice(0, 7)}' has no such parent`, { data: { rev } });
      oid = parent;
    }
  }
  return oid;
}

async function peelToCommit(repo: GitRepo, oid: string, rev: string): Promise<string> {
  for (let i = 0; i < 5; i++) {
    const obj = await git.readObject({ fs, dir: repo.dir, oid, cache: repo.cache });
    if (obj.type === 'commit') return oid;
    if (obj.type === 'tag') {
      oid = (obj.object as { object: string }).object;
      continue;
    }
    break;
  }
  throw new RevNotFound(`'${rev}' does not name a commit`, { data: { rev } });
}

/** The content of a file at a commit, or undefined when the file is not in that commit. */
export async function readFileAtCommit(repo: GitRepo, commit: string, filepath: string): Promise<string | undefined> {
  try {
    const { blob } = await git.readBlob({ fs: readFs, dir: repo.dir, oid: commit, filepath, cache: repo.cache });
    return Buffer.from(blob).toString('utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'NotFoundError') return undefined;
    throw e;
  }
}

/** Files under a folder at a commit (paths relative to the git root). */
export async function listFilesAtCommit(repo: GitRepo, commit: string, folder: string): Promise<string[]> {
  try {
    const { tree } = await git.readTree({ fs: readFs, dir: repo.dir, oid: commit, filepath: folder, cache: repo.cache });
    return tree.filter((e) => e.type === 'blob').map((e) => `${folder}/${e.path}`);
  } catch (e) {
    if ((e as { code?: string }).code === 'NotFoundError') return [];
    throw e;
  }
}

/** The blob oids of the files directly in a folder at a commit (file name → oid). */
export async function blobOidsAtCommit(repo: GitRepo, commit: string, folder: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  try {
    const { tree } = await git.readTree({ fs: readFs, dir: repo.dir, oid: commit, ...(folder && folder !== '.' ? { filepath: folder } : {}), cache: repo.cache });
    for (const e of tree) if (e.type === 'blob') out.set(e.path, e.oid);
  } catch (e) {
    if ((e as { code?: string }).code !== 'NotFoundError') throw e;
  }
  return out;
}

/** A tree entry: a file (blob) or a folder (tree) with its object oid. */
export interface TreeEntry {
  oid: string;
  type: 'blob' | 'tree' | 'commit';
}

/**
 * The entries of a tree object, by name; a commit's oid reads its root tree. Reading by oid
 * (rather than by path from the commit) reads each object once: what makes walking a long
 * history cheap.
 */
export async function readTreeEntries(repo: GitRepo, oid: string): Promise<Map<string, TreeEntry>> {
  const { tree } = await git.readTree({ fs: readFs, dir: repo.dir, oid, cache: repo.cache });
  return new Map(tree.map((e) => [e.path, { oid: e.oid, type: e.type }]));
}

/** A blob's content as text, by its oid. */
export async function readBlobText(repo: GitRepo, oid: string): Promise<string> {
  const { blob } = await git.readBlob({ fs: readFs, dir: repo.dir, oid, cache: repo.cache });
  return Buffer.from(blob).toString('utf8');
}

/** The oid git gives this content as a blob (compare with `blobOidsAtCommit` without reading the blob). */
export async function hashBlob(content: string | Uint8Array): Promise<string> {
  return (await git.hashBlob({ object: content })).oid;
}

/** A file of d2's that differs between the working tree and HEAD. */
export interface PathChange {
  /** Relative to the git root. */
  path: string;
  change: 'added' | 'modified' | 'deleted';
}

/**
 * Files under `paths` (relative to the git root) whose working-tree content differs from
 * HEAD's: what `commitPaths` would record. Ignored files that HEAD does not track are left out,
 * as git leaves them out.
 */
export async function workingChanges(repo: GitRepo, paths: readonly string[]): Promise<PathChange[]> {
  const rows = await git.statusMatrix({ fs, dir: repo.dir, filepaths: [...paths], cache: repo.cache });
  const wanted = new Set(paths);
  const out: PathChange[] = [];
  for (const [filepath, head, workdir] of rows) {
    if (!isWanted(filepath, wanted)) continue;
    if (head === 0 && workdir === 2) out.push({ path: filepath, change: 'added' });
    else if (head === 1 && workdir === 0) out.push({ path: filepath, change: 'deleted' });
    else if (head === 1 && workdir === 2) out.push({ path: filepath, change: 'modified' });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

interface TreeLeaf {
  mode: string;
  oid: string;
}

/**
 * The files of HEAD's tree and of the index (path → mode and blob oid), read in one walk that
 * never touches the working tree.
 */
async function headAndIndex(repo: GitRepo, head: string | undefined): Promise<{ head: Map<string, TreeLeaf>; index: Map<string, TreeLeaf> }> {
  const inHead = new Map<string, TreeLeaf>();
  const inIndex = new Map<string, TreeLeaf>();
  const leaf = async (e: Awaited<ReturnType<typeof git.STAGE>> | null): Promise<TreeLeaf | undefined> => {
    const w = e as unknown as { type(): Promise<string>; mode(): Promise<number>; oid(): Promise<string> } | null;
    if (!w || (await w.type()) !== 'blob') return undefined;
    return { mode: (await w.mode()).toString(8), oid: await w.oid() };
  };
  const trees = head ? [git.TREE({ ref: head }), git.STAGE()] : [git.STAGE()];
  await git.walk({
    fs, dir: repo.dir, cache: repo.cache, trees,
    map: async (filepath, entries) => {
      if (filepath === '.') return true;
      const [h, s] = head ? entries : [null, entries[0]];
      const hl = await leaf(h as never);
      const sl = await leaf(s as never);
      if (hl) inHead.set(filepath, hl);
      if (sl) inIndex.set(filepath, sl);
      return true;
    },
  });
  return { head: inHead, index: inIndex };
}

/** Write the nested tree objects of a flat file map (path → mode and oid); returns the root tree's oid. */
async function writeTrees(repo: GitRepo, files: ReadonlyMap<string, TreeLeaf>): Promise<string> {
  type Entry = { mode: string; path: string; oid: string; type: 'blob' | 'tree' };
  const parentOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
  const nameOf = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
  const dirs = new Map<string, Entry[]>([['', []]]);
  for (const [p, f] of files) {
    for (let d = parentOf(p); !dirs.has(d); d = parentOf(d)) dirs.set(d, []);
    dirs.get(parentOf(p))!.push({ mode: f.mode, path: nameOf(p), oid: f.oid, type: 'blob' });
  }
  // Deepest folders first, so each parent gets its children's tree oids.
  const order = [...dirs.keys()].filter((d) => d !== '').sort((a, b) => b.split('/').length - a.split('/').length);
  for (const d of order) {
    const oid = await git.writeTree({ fs, dir: repo.dir, tree: dirs.get(d)! });
    dirs.get(parentOf(d))!.push({ mode: '040000', path: nameOf(d), oid, type: 'tree' });
  }
  return git.writeTree({ fs, dir: repo.dir, tree: dirs.get('')! });
}

/**
 * Stage exactly `paths` (relative to the git root): new and modified files are added, deleted
 * ones removed; then commit them, and only them: whatever else is staged (a `git add` of the
 * user's own) stays staged and out of the commit, as `git commit -- <paths>` does, and is
 * returned as `leftStaged`. Throws NothingToCommit when the commit would have the same tree as
 * HEAD.
 */
export async function commitPaths(repo: GitRepo, paths: readonly string[], message: string, author: Identity): Promise<{ oid: string; changed: string[]; leftStaged: string[] }> {
  if (paths[0] !== undefined && (await git.isIgnored({ fs, dir: repo.dir, filepath: paths[0] }))) {
    throw new NotAGitRepository(`'${paths[0]}' is ignored by the git repository at '${repo.dir}', so d2 cannot commit it`, {
      data: { gitRoot: repo.dir, path: paths[0] },
      hint: "remove the .gitignore rule that matches it, or run 'git init' in the project folder to give it a repository of its own",
    });
  }
  const rows = await git.statusMatrix({ fs, dir: repo.dir, filepaths: [...paths], cache: repo.cache });
  const wanted = new Set(paths);
  for (const [filepath, head, workdir, stage] of rows) {
    if (!isWanted(filepath, wanted)) continue;
    if (workdir === 0) {
      if (head !== 0 || stage !== 0) await git.remove({ fs, dir: repo.dir, filepath, cache: repo.cache });
    } else if (!((workdir === 1 && stage === 1) || (workdir === 2 && stage === 2))) {
      await git.add({ fs, dir: repo.dir, filepath, cache: repo.cache });
    }
  }
  const head = await headCommit(repo);
  const after = await git.statusMatrix({ fs, dir: repo.dir, filepaths: [...paths], cache: repo.cache });
  const changed = after
    .filter(([filepath, h, , s]) => isWanted(filepath, wanted) && !(h === 1 && s === 1) && !(h === 0 && s === 0))
    .map(([filepath]) => filepath);
  if (head && changed.length === 0) {
    throw new NothingToCommit('nothing to commit: d2.yaml, d2.lock and the source snapshots match the last commit', {
      hint: "change the data and run 'd2 add', or edit d2.yaml, first",
    });
  }
  const { head: headFiles, index } = await headAndIndex(repo, head);
  const leftStaged: string[] = [];
  for (const p of new Set([...headFiles.keys(), ...index.keys()])) {
    if (isWanted(p, wanted)) continue;
    const h = headFiles.get(p);
    const i = index.get(p);
    if (h?.oid !== i?.oid || h?.mode !== i?.mode) leftStaged.push(p);
  }
  leftStaged.sort();
  let tree: string | undefined;
  if (leftStaged.length) {
    // HEAD's files, with d2's paths as they are staged now.
    const files = new Map<string, TreeLeaf>();
    for (const [p, f] of headFiles) if (!isWanted(p, wanted)) files.set(p, f);
    for (const [p, f] of index) if (isWanted(p, wanted)) files.set(p, f);
    tree = await writeTrees(repo, files);
  }
  const who = { name: author.name, email: author.email, timestamp: author.timestamp, timezoneOffset: author.timezoneOffset };
  const oid = await git.commit({ fs, dir: repo.dir, message, author: who, committer: who, cache: repo.cache, ...(tree ? { tree } : {}) });
  return { oid, changed, leftStaged };
}

function isWanted(filepath: string, wanted: ReadonlySet<string>): boolean {
  if (wanted.has(filepath)) return true;
  for (const w of wanted) if (filepath.startsWith(`${w}/`)) return true;
  return false;
}

export async function logCommits(repo: GitRepo, options: { ref?: string; depth?: number } = {}): Promise<CommitInfo[]> {
  let entries;
  try {
    entries = await git.log({ fs: readFs, dir: repo.dir, ref: options.ref ?? 'HEAD', depth: options.depth, cache: repo.cache });
  } catch (e) {
    if ((e as { code?: string }).code === 'NotFoundError' && !options.ref) return [];
    throw e;
  }
  return entries.map((e) => ({
    oid: e.oid,
    tree: e.commit.tree,
    message: e.commit.message.trimEnd(),
    author: { name: e.commit.author.name, email: e.commit.author.email, time: new Date(e.commit.author.timestamp * 1000).toISOString() },
    parents: e.commit.parent,
  }));
}

/**
 * The commit identity, as git finds it: GIT_AUTHOR_* variables, then user.name/user.email of
 * the repository's config, then of the user's global config files.
 */
export async function resolveIdentity(repo: GitRepo, env: NodeJS.ProcessEnv): Promise<Identity> {
  let name = env.GIT_AUTHOR_NAME;
  let email = env.GIT_AUTHOR_EMAIL;
  if (!name) name = (await git.getConfig({ fs, dir: repo.dir, path: 'user.name' })) as string | undefined;
  if (!email) email = (await git.getConfig({ fs, dir: repo.dir, path: 'user.email' })) as string | undefined;
  if (!name || !email) {
    const global = readGlobalIdentity(env);
    name ||= global.name;
    email ||= global.email;
  }
  if (!name || !email) {
    throw new AuthorUnknown('no author identity for the commit', {
      hint: 'set it with: git config --global user.name "Your Name" && git config --global user.email you@example.com',
    });
  }
  const id: Identity = { name, email };
  const date = env.GIT_AUTHOR_DATE;
  if (date) {
    const t = /^@?(\d+)(?:\s+([+-]\d{4}))?$/.exec(date.trim());
    const seconds = t ? Number(t[1]) : Math.floor(Date.parse(date) / 1000);
    if (Number.isFinite(seconds)) {
      id.timestamp = seconds;
      id.timezoneOffset = 0;
    }
  }
  return id;
}

/** user.name / user.email from ~/.gitconfig or $XDG_CONFIG_HOME/git/config (isomorphic-git reads only the repository's). */
function readGlobalIdentity(env: NodeJS.ProcessEnv): { name?: string; email?: string } {
  const home = env.HOME ?? os.homedir();
  const files = [path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'git', 'config'), path.join(home, '.gitconfig')];
  const out: { name?: string; email?: string } = {};
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    let inUser = false;
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      const section = /^\[([^\]\s"]+)(?:\s+"[^"]*")?\]$/.exec(line);
      if (section) {
        inUser = section[1]!.toLowerCase() === 'user';
        continue;
      }
      const kv = inUser ? /^(name|email)\s*=\s*(.*)$/i.exec(line) : null;
      if (kv) {
        const value = kv[2]!.replace(/^"(.*)"$/, '$1').trim();
        if (kv[1]!.toLowerCase() === 'name') out.name = value;
        else out.email = value;
      }
    }
  }
  return out;
}

/**
 * Every commit reachable from HEAD, the branches (local and remote-tracking) and the tags: the
 * revisions of the repository, whose objects `d2 push` sends and `d2 gc` keeps. Newest first
 * along each history; each commit once.
 */
export async function revisionCommits(repo: GitRepo): Promise<string[]> {
  const starts: string[] = [];
  const tryRef = async (ref: string): Promise<void> => {
    try {
      let oid = await git.resolveRef({ fs, dir: repo.dir, ref });
      // peel annotated tags to their commit
      for (let i = 0; i < 8; i++) {
        const o = await git.readObject({ fs, dir: repo.dir, oid, cache: repo.cache });
        if (o.type !== 'tag') break;
        oid = (o.object as { object: string }).object;
      }
      starts.push(oid);
    } catch {
      // unborn HEAD, or a ref to something that is not there
    }
  };
  await tryRef('HEAD');
  for (const b of await git.listBranches({ fs, dir: repo.dir })) await tryRef(`refs/heads/${b}`);
  for (const { remote } of await git.listRemotes({ fs, dir: repo.dir })) {
    for (const b of await git.listBranches({ fs, dir: repo.dir, remote })) if (b !== 'HEAD') await tryRef(`refs/remotes/${remote}/${b}`);
  }
  for (const t of await git.listTags({ fs, dir: repo.dir })) await tryRef(`refs/tags/${t}`);
  const seen = new Set<string>();
  const out: string[] = [];
  const stack = [...starts].reverse();
  while (stack.length) {
    const oid = stack.pop()!;
    if (seen.has(oid)) continue;
    seen.add(oid);
    let parents: string[];
    try {
      parents = (await git.readCommit({ fs, dir: repo.dir, oid, cache: repo.cache })).commit.parent;
    } catch {
      continue; // a tag of a tree or blob, or a shallow clone's missing parent
    }
    out.push(oid);
    for (let i = parents.length - 1; i >= 0; i--) stack.push(parents[i]!);
  }
  return out;
}

/** The blob oid of a file at a commit, or undefined when the file is not in that commit. */
export async function blobOidAtCommit(repo: GitRepo, commit: string, filepath: string): Promise<string | undefined> {
  const dir = path.posix.dirname(filepath);
  const name = path.posix.basename(filepath);
  const oids = await blobOidsAtCommit(repo, commit, dir === '.' ? '' : dir);
  return oids.get(name);
}
