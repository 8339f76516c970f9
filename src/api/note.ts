/**
 * `d2 note [REV]`: the research journal's notes — what was tried, what was learned — attached to
 * a commit as a git note under `refs/notes/d2`, so it can be added, appended to, replaced or
 * removed later without rewriting the commit. `d2 log` shows it under its commit.
 *
 * Invariants: a write never touches the working tree, the index or a branch (only
 * `refs/notes/d2`, through git/notes.ts); fetched remote notes are merged before a write;
 * every write also makes sure the repository's git remotes carry the notes (git/sharing.ts).
 */
import type { CommonOptions } from '../core/progress.js';
import { InvalidArgument, NoteExists, NoteNotFound } from '../errors/index.js';
import { configureSharing, readNote, removeNote, resolveIdentity, writeNote, type RemoteSharing } from '../git/index.js';

export type { RemoteSharing };
import { RevisionReader } from '../project/revision.js';
import { runVerb } from './verb.js';

export interface NoteOptions extends CommonOptions {
  /** The commit to annotate (default HEAD). */
  rev?: string;
  /** The note's text: added (NoteExists when the commit has one, unless `append` or `replace`). */
  message?: string;
  /** Add `message` to the existing note as a new paragraph (or start one). */
  append?: boolean;
  /** Replace the existing note with `message` (what `d2 note --edit` saves). */
  replace?: boolean;
  /** Remove the note. */
  remove?: boolean;
  /** Environment for the notes commit's author (GIT_AUTHOR_NAME, …); the CLI passes its own. */
  env?: NodeJS.ProcessEnv;
}

export interface NoteResult {
  commit: string;
  /** What the call did. */
  action: 'shown' | 'added' | 'appended' | 'replaced' | 'removed' | 'unchanged';
  /** The note now (null: none). */
  note: string | null;
  /** The note before the call (null: none). */
  previous: string | null;
  /** git remotes given d2's refspecs by this call (so `git push` carries the notes). */
  sharing: RemoteSharing[];
}

function normalise(text: string): string {
  return `${text.replace(/\r\n/g, '\n').trim()}\n`;
}

/**
 * Show, add, append to, replace or remove the note of a commit.
 *
 * @example
 * await note({ dir: 'my-dataset', message: 'thorough preset: +2 points, shirts still confused with tops' });
 * await note({ dir: 'my-dataset', rev: 'HEAD~2', message: 'label noise in coats?', append: true });
 * console.log((await note({ dir: 'my-dataset' })).note);
 */
export async function note(options: NoteOptions = {}): Promise<NoteResult> {
  return runVerb('d2.note', options, {}, async (project) => {
    const writes = [options.message !== undefined, options.remove === true].filter(Boolean).length;
    if (writes > 1) throw new InvalidArgument("give either a note (option 'message') or option 'remove', not both", { data: { option: 'remove' } });
    if ((options.append || options.replace) && options.message === undefined) {
      throw new InvalidArgument(`option '${options.append ? 'append' : 'replace'}' needs the text in option 'message'`, { data: { option: 'message' } });
    }
    if (options.append && options.replace) throw new InvalidArgument("give option 'append' or option 'replace', not both", { data: { option: 'replace' } });
    if (options.message !== undefined && !options.message.trim()) throw new InvalidArgument('empty note', { data: { option: 'message' }, hint: "to remove a note, use option 'remove'" });
    const reader = await RevisionReader.open(project);
    const commit = await reader.resolve(options.rev ?? 'HEAD');
    const previous = (await readNote(reader.repo, commit))?.trimEnd() ?? null;
    if (options.message === undefined && !options.remove) return { commit, action: 'shown', note: previous, previous, sharing: [] };

    const author = await resolveIdentity(reader.repo, options.env ?? {});
    const sharing = (await configureSharing(reader.repo)).filter((s) => s.added.length);
    const short = commit.slice(0, 7);
    if (options.remove) {
      if (!(await removeNote(reader.repo, commit, author))) {
        throw new NoteNotFound(`commit '${short}' has no note`, { data: { commit } });
      }
      return { commit, action: 'removed', note: null, previous, sharing };
    }
    const message = normalise(options.message!);
    if (previous !== null && !options.append && !options.replace) {
      throw new NoteExists(`commit '${short}' already has a note`, {
        data: { commit, note: previous },
        hint: `add to it with 'd2 note ${options.rev ?? 'HEAD'} --append -m …', or replace it with 'd2 note ${options.rev ?? 'HEAD'} --edit'`,
      });
    }
    const text = options.append && previous !== null ? `${previous}\n\n${message}` : message;
    if (previous !== null && normalise(previous) === text) return { commit, action: 'unchanged', note: previous, previous, sharing };
    await writeNote(reader.repo, commit, text, author);
    const action = previous === null ? 'added' : options.append ? 'appended' : 'replaced';
    return { commit, action, note: text.trimEnd(), previous, sharing };
  });
}
