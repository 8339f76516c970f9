/**
 * `d2 restore [PATH…]`: bring sources' working files back from the local store, as `git
 * restore` does for tracked files: files deleted since `d2 add` recorded them (or, with `rev`,
 * as a revision recorded them), and with `force` files changed since. No remote is needed:
 * the bytes of every file `d2 add` recorded are in `.d2/`.
 *
 * Invariants: nothing but the sources' working files changes (not d2.sources/, not labels,
 * not d2.yaml); a file that exists is replaced only with `force`, and only when its content
 * differs from the recorded one; every write is checked and atomic (project/working-files.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommonOptions } from '../core/progress.js';
import { PathNotFound } from '../errors/index.js';
import type { Snapshot } from '../manifest/index.js';
import { isInside, relativePosix } from '../util/paths.js';
import type { Project } from '../project/project.js';
import { RevisionReader, workingFiles } from '../project/revision.js';
import { writeWorkingFiles, type SourceFile } from '../project/working-files.js';
import { COMMON_OPTIONS, runVerb } from './verb.js';

export interface RestoreOptions extends CommonOptions {
  /** Files or folders to restore, relative to `dir` (default: every source). A source's name names the whole source. */
  paths?: string[];
  /** Restore the files as this revision recorded them (default: as `d2 add` last recorded them). */
  rev?: string;
  /** Also replace files whose content changed (their current content is lost). */
  force?: boolean;
  lockTimeoutMs?: number;
}

export interface RestoreResult {
  /** The commit restored from; null: the working tree's snapshots (what `d2 add` recorded). */
  commit: string | null;
  /** Files written, by source and path in the source. */
  restored: SourceFile[];
  /** Files that exist with other content, left as they are (restore them with `force`). */
  keptModified: SourceFile[];
  /** Files whose content is not in the local store (`d2 pull` fetches it). */
  notInStore: SourceFile[];
}

/** Which files of which source a path names: a whole source, or a file or folder in it. */
interface Selection {
  source: string;
  /** '' for the whole source, else a path in the source (a file, or a folder: every file below it). */
  prefix: string;
  given: string;
}

function selectionsOf(project: Project, cwd: string, paths: readonly string[]): Selection[] {
  const out: Selection[] = [];
  for (const given of paths) {
    const abs = path.resolve(cwd, given);
    const owner = Object.entries(project.manifest.sources).find(([, d]) => isInside(path.resolve(project.root, d.path), abs));
    if (owner) {
      const rel = relativePosix(path.resolve(project.root, owner[1].path), abs);
      out.push({ source: owner[0], prefix: rel === '.' ? '' : rel, given });
    } else if (project.manifest.sources[given]) {
      out.push({ source: given, prefix: '', given });
    } else {
      throw new PathNotFound(`'${given}' is not inside any source`, {
        data: { path: given },
        hint: `sources: ${Object.entries(project.manifest.sources).map(([n, d]) => `${n} (${d.path})`).join(', ') || 'none yet'}`,
      });
    }
  }
  return out;
}

/**
 * Bring back deleted (with `force`, also changed) working files of the sources from the local
 * store.
 *
 * @example
 * const r = await restore({ dir: 'my-dataset', paths: ['images/shirt'] });
 * console.log(`${r.restored.length} files restored`);
 */
export async function restore(options: RestoreOptions = {}): Promise<RestoreResult> {
  return runVerb('d2.restore', options, { lock: 'd2 restore', options: { ...COMMON_OPTIONS, paths: true, rev: true, force: true, lockTimeoutMs: true }, lists: ['paths'] }, async (project) => {
    const cwd = fs.realpathSync(path.resolve(options.dir ?? '.'));
    const selections = selectionsOf(project, cwd, options.paths ?? []);
    let commit: string | null = null;
    let snapshots: { name: string; snapshot: Snapshot }[];
    if (options.rev !== undefined) {
      const reader = await RevisionReader.open(project);
      commit = await reader.resolve(options.rev);
      snapshots = (await reader.at(commit)).snapshots;
    } else {
      snapshots = workingFiles(project).snapshots;
    }
    const matched = new Set<Selection>();
    const only = selections.length === 0 ? undefined : (source: string, itemPath: string): boolean => {
      let hit = false;
      for (const s of selections) {
        if (s.source === source && (s.prefix === '' || itemPath === s.prefix || itemPath.startsWith(`${s.prefix}/`))) {
          matched.add(s);
          hit = true;
        }
      }
      return hit;
    };
    // A path that names no recorded file is an error, found before anything is written.
    const beforeWrite = (): void => {
      const unmatched = selections.filter((s) => !matched.has(s));
      if (!unmatched.length) return;
      const where = commit ? `revision '${options.rev}'` : "what 'd2 add' recorded";
      throw new PathNotFound(`'${unmatched[0]!.given}' matches no file of source '${unmatched[0]!.source}' in ${where}`, {
        data: { paths: unmatched.map((s) => s.given) },
        hint: "a file never added cannot be restored: 'd2 status' shows what was recorded",
      });
    };
    const written = writeWorkingFiles(project, project.store, snapshots, {
      compareContent: true, overwrite: options.force === true, beforeWrite, ...(only ? { only } : {}),
    });
    return { commit, ...written };
  });
}
