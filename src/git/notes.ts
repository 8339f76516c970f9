/**
 * Notes on commits: git notes under `refs/notes/d2` (`git log --notes=d2` shows them), so a
 * note can be written, edited and removed later without rewriting any commit.
 *
 * Notes travel with `git push` / `git fetch` once the refspecs of sharing.ts are configured:
 * a fetch puts a remote's notes at `refs/notes/remotes/<remote>/d2` (forced: it never clobbers
 * the local ref), reads show the union, and every write first merges what was fetched into
 * `refs/notes/d2` with a merge commit (both notes kept when they differ), so the next push is a
 * fast-forward.
 *
 * Invariants: `refs/notes/d2` only ever moves to a commit that descends from its previous value
 * (or from a fetched remote's); a note is text (UTF-8), stored as git stores it (one blob, named
 * by the annotated commit, in a flat notes tree — git reads flat and fanned-out trees alike).
 */
import fs from 'node:fs';
import git from 'isomorphic-git';
import { readFs } from './read-fs.js';
import type { GitRepo, Identity } from './repo.js';

export const NOTES_REF = 'refs/notes/d2';
/** Where a remote's notes are fetched to (sharing.ts configures it). */
export function remoteNotesRef(remote: string): string {
  return `refs/notes/remotes/${remote}/d2`;
}

async function resolveOrUndefined(repo: GitRepo, ref: string): Promise<string | undefined> {
  try {
    return await git.resolveRef({ fs, dir: repo.dir, ref });
  } catch {
    return undefined;
  }
}

/** Note blob oids by annotated commit, from one notes ref ([] when the ref does not exist). */
async function notesOf(repo: GitRepo, ref: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if ((await resolveOrUndefined(repo, ref)) === undefined) return out;
  for (const { target, note } of await git.listNotes({ fs: readFs, dir: repo.dir, ref, cache: repo.cache })) out.set(target, note);
  return out;
}

async function remoteNotesRefs(repo: GitRepo): Promise<string[]> {
  let refs: string[] = [];
  try {
    refs = await git.listRefs({ fs, dir: repo.dir, filepath: 'refs/notes/remotes' });
  } catch {
    return [];
  }
  return refs.filter((r) => r.endsWith('/d2')).map((r) => `refs/notes/remotes/${r}`);
}

async function blobText(repo: GitRepo, oid: string): Promise<string> {
  const { blob } = await git.readBlob({ fs: readFs, dir: repo.dir, oid, cache: repo.cache });
  return Buffer.from(blob).toString('utf8');
}

/**
 * Every note, by annotated commit, as the next write would leave them: the local ref's, moved
 * forward to a fetched remote's when the local ref is behind it, and joined with a divergent
 * remote's (a commit annotated on both sides with different texts shows both, as after a merge).
 */
export class NoteIndex {
  private constructor(private readonly repo: GitRepo, private readonly blobs: Map<string, string[]>) {}

  static async read(repo: GitRepo): Promise<NoteIndex> {
    let ours = await resolveOrUndefined(repo, NOTES_REF);
    let blobs = new Map([...(await notesOf(repo, NOTES_REF))].map(([t, b]) => [t, [b]]));
    for (const ref of await remoteNotesRefs(repo)) {
      const theirs = await resolveOrUndefined(repo, ref);
      if (theirs === undefined || theirs === ours) continue;
      // merged already: what the local ref lacks was removed on purpose
      if (ours !== undefined && (await git.isDescendent({ fs, dir: repo.dir, oid: ours, ancestor: theirs, depth: -1, cache: repo.cache }))) continue;
      const fetched = await notesOf(repo, ref);
      if (ours === undefined || (await git.isDescendent({ fs, dir: repo.dir, oid: theirs, ancestor: ours, depth: -1, cache: repo.cache }))) {
        blobs = new Map([...fetched].map(([t, b]) => [t, [b]])); // the local ref is behind: a fast-forward
        ours = theirs;
        continue;
      }
      for (const [target, blob] of fetched) {
        const mine = blobs.get(target);
        if (!mine) blobs.set(target, [blob]);
        else if (!mine.includes(blob)) mine.push(blob);
      }
    }
    return new NoteIndex(repo, blobs);
  }

  get size(): number {
    return this.blobs.size;
  }

  has(commit: string): boolean {
    return this.blobs.has(commit);
  }

  /** The note of a commit, or undefined. */
  async text(commit: string): Promise<string | undefined> {
    const list = this.blobs.get(commit);
    if (!list) return undefined;
    if (list.length === 1) return blobText(this.repo, list[0]!);
    const texts = await Promise.all(list.map((b) => blobText(this.repo, b)));
    return `${texts.map((t) => t.trimEnd()).join('\n\n')}\n`;
  }
}

/** The note of one commit (local or fetched), or undefined. */
export async function readNote(repo: GitRepo, commit: string): Promise<string | undefined> {
  return (await NoteIndex.read(repo)).text(commit);
}

function who(author: Identity): { name: string; email: string; timestamp?: number; timezoneOffset?: number } {
  return { name: author.name, email: author.email, ...(author.timestamp !== undefined ? { timestamp: author.timestamp } : {}), ...(author.timezoneOffset !== undefined ? { timezoneOffset: author.timezoneOffset } : {}) };
}

/**
 * Bring fetched remote notes into `refs/notes/d2`: fast-forward when the local ref is behind
 * (or absent), else a merge commit whose tree is the union (a commit annotated on both sides
 * with different texts keeps both, local first, as `git notes merge -s cat_sort_uniq` would).
 */
export async function mergeFetchedNotes(repo: GitRepo, author: Identity): Promise<number> {
  let merged = 0;
  for (const ref of await remoteNotesRefs(repo)) {
    const theirs = await resolveOrUndefined(repo, ref);
    const ours = await resolveOrUndefined(repo, NOTES_REF);
    if (theirs === undefined || theirs === ours) continue;
    if (ours === undefined || (await git.isDescendent({ fs, dir: repo.dir, oid: theirs, ancestor: ours, depth: -1, cache: repo.cache }))) {
      await git.writeRef({ fs, dir: repo.dir, ref: NOTES_REF, value: theirs, force: true });
      merged++;
      continue;
    }
    if (await git.isDescendent({ fs, dir: repo.dir, oid: ours, ancestor: theirs, depth: -1, cache: repo.cache })) continue;
    const a = await notesOf(repo, NOTES_REF);
    const b = await notesOf(repo, ref);
    for (const [target, blob] of b) {
      const mine = a.get(target);
      if (mine === undefined) a.set(target, blob);
      else if (mine !== blob) {
        const text = `${(await blobText(repo, mine)).trimEnd()}\n\n${(await blobText(repo, blob)).trimEnd()}\n`;
        a.set(target, await git.writeBlob({ fs, dir: repo.dir, blob: Buffer.from(text, 'utf8') }));
      }
    }
    const tree = await git.writeTree({ fs, dir: repo.dir, tree: [...a].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([path, oid]) => ({ mode: '100644', path, oid, type: 'blob' as const })) });
    const sig = { ...who(author), timestamp: author.timestamp ?? Math.floor(Date.now() / 1000), timezoneOffset: author.timezoneOffset ?? 0 };
    const commit = await git.writeCommit({ fs, dir: repo.dir, commit: { tree, parent: [ours, theirs], author: sig, committer: sig, message: `Notes merged by 'd2' from '${ref}'\n` } });
    await git.writeRef({ fs, dir: repo.dir, ref: NOTES_REF, value: commit, force: true });
    merged++;
  }
  return merged;
}

/** Set the note of a commit (replacing any); returns the new notes commit. Merges fetched notes first. */
export async function writeNote(repo: GitRepo, commit: string, text: string, author: Identity): Promise<string> {
  await mergeFetchedNotes(repo, author);
  return git.addNote({ fs, dir: repo.dir, ref: NOTES_REF, oid: commit, note: text, force: true, author: who(author), committer: who(author), cache: repo.cache });
}

/** Remove the note of a commit; false when it had none. Merges fetched notes first. */
export async function removeNote(repo: GitRepo, commit: string, author: Identity): Promise<boolean> {
  await mergeFetchedNotes(repo, author);
  if (!(await notesOf(repo, NOTES_REF)).has(commit)) return false;
  await git.removeNote({ fs, dir: repo.dir, ref: NOTES_REF, oid: commit, author: who(author), committer: who(author), cache: repo.cache });
  return true;
}
