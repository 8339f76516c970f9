/**
 * Commit-free records in the repository: a tree of files written as git objects and named by a
 * ref outside `refs/heads/` (d2's experiments live at `refs/d2/exps/<name>`). Such a ref shows in
 * no branch's history, yet `git push`/`git fetch` carry it (sharing.ts), `git gc` keeps what it
 * names and `git fsck` checks it.
 *
 * Invariants: a record's tree is written completely (every blob and subtree) before its ref
 * points at it; a ref is changed only through `setRecordRef` / `deleteRecordRef`, below the prefix
 * the caller owns; names are checked to be plain (no '..', no separator at the ends).
 */
import fs from 'node:fs';
import git from 'isomorphic-git';
import { InvalidArgument } from '../errors/index.js';
import type { GitRepo } from './repo.js';

const REF_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** True when `name` can be the last segment of a record's ref. */
export function isRecordName(name: string): boolean {
  return REF_NAME.test(name) && !name.includes('..') && !name.endsWith('.lock') && !name.endsWith('.');
}

function refOf(prefix: string, name: string): string {
  if (!isRecordName(name)) throw new InvalidArgument(`'${name}' is not a usable name: use letters, digits, '.', '_' and '-' (at most 100)`, { data: { name } });
  return `${prefix}${name}`;
}

interface TreeNode {
  files: Map<string, string>;
  dirs: Map<string, TreeNode>;
}

/** Write `files` (path → content, POSIX paths) as blobs and trees; returns the root tree's oid. */
export async function writeFilesTree(repo: GitRepo, files: ReadonlyMap<string, string | Uint8Array>): Promise<string> {
  const root: TreeNode = { files: new Map(), dirs: new Map() };
  for (const [p, content] of files) {
    const parts = p.split('/');
    let node = root;
    for (const dir of parts.slice(0, -1)) {
      let next = node.dirs.get(dir);
      if (!next) node.dirs.set(dir, (next = { files: new Map(), dirs: new Map() }));
      node = next;
    }
    const blob = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    node.files.set(parts[parts.length - 1]!, await git.writeBlob({ fs, dir: repo.dir, blob }));
  }
  const write = async (node: TreeNode): Promise<string> => {
    const entries: { mode: string; path: string; oid: string; type: 'blob' | 'tree' }[] = [];
    for (const [name, oid] of node.files) entries.push({ mode: '100644', path: name, oid, type: 'blob' });
    for (const [name, sub] of node.dirs) entries.push({ mode: '040000', path: name, oid: await write(sub), type: 'tree' });
    return git.writeTree({ fs, dir: repo.dir, tree: entries });
  };
  return write(root);
}

/** Point `<prefix><name>` at an object (replacing what it named). */
export async function setRecordRef(repo: GitRepo, prefix: string, name: string, oid: string): Promise<void> {
  await git.writeRef({ fs, dir: repo.dir, ref: refOf(prefix, name), value: oid, force: true });
}

/** Remove `<prefix><name>`; false when it did not exist. */
export async function deleteRecordRef(repo: GitRepo, prefix: string, name: string): Promise<boolean> {
  const ref = refOf(prefix, name);
  if ((await resolveRecordRef(repo, prefix, name)) === undefined) return false;
  await git.deleteRef({ fs, dir: repo.dir, ref });
  return true;
}

/** The object `<prefix><name>` names, or undefined. */
export async function resolveRecordRef(repo: GitRepo, prefix: string, name: string): Promise<string | undefined> {
  if (!isRecordName(name)) return undefined;
  try {
    return await git.resolveRef({ fs, dir: repo.dir, ref: `${prefix}${name}` });
  } catch {
    return undefined;
  }
}

/** Every record under `prefix`: name → object oid (loose and packed refs alike). */
export async function listRecordRefs(repo: GitRepo, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let names: string[];
  try {
    names = await git.listRefs({ fs, dir: repo.dir, filepath: prefix.replace(/\/$/, '') });
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const oid = await resolveRecordRef(repo, prefix, name);
    if (oid !== undefined) out.set(name, oid);
  }
  return out;
}
