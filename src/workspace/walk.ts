/**
 * Walking a source folder in the working tree.
 *
 * Invariants:
 * - Terminates on any tree: a symbolic link to a folder that is one of its own ancestors (a
 *   loop) is reported and not entered; every folder is entered at most once per path chain.
 * - Never silently drops a file it could not take: hidden entries (name starting with '.') are
 *   skipped and counted; sockets, FIFOs and devices, broken links, loops, unreadable folders
 *   and links leading outside the project are returned as problems with their path.
 * - Returns files sorted by path (POSIX, relative to the walked folder).
 * - `folders` is returned only for a plain tree (regular files, plain folders and hidden entries,
 *   nothing else): each folder's stat taken before it was read, so a later change of its
 *   entries (a file added, removed or renamed) shows as a newer mtime. See unchanged.ts.
 * Uses synchronous calls on purpose: for tens of thousands of small stats they cost a third of
 * the asynchronous ones here. readdir's entry types decide what needs a stat during the walk
 * (links, unknown types); regular files are stat'ed afterwards on both cores.
 */
import fs from 'node:fs';
import path from 'node:path';
import { compareStrings } from '../util/compare.js';
import { isInside, toPosix } from '../util/paths.js';
import { KIND_FILE, KIND_MISSING, PARALLEL_MIN, STRIDE, startStatHelper, statAll } from './parallel-stat.js';

export interface WalkedFile {
  /** POSIX path relative to the walked folder. */
  path: string;
  abs: string;
  size: number;
  /** Milliseconds with sub-millisecond fraction, as Node reports them (exact to well under 1 µs). */
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

export type WalkProblemKind = 'symlink-loop' | 'special-file' | 'broken-symlink' | 'outside-project' | 'unreadable';

export interface WalkProblem {
  kind: WalkProblemKind;
  /** POSIX path relative to the walked folder. */
  path: string;
  message: string;
  /** Errors stop an add; warnings are reported and the entry is left out. */
  severity: 'error' | 'warning';
}

/** A folder's stat as the walk saw it before reading it; `path` is '' for the walked folder. */
export interface WalkedFolder {
  path: string;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

export interface WalkResult {
  files: WalkedFile[];
  problems: WalkProblem[];
  hiddenSkipped: number;
  /** Every folder walked, when the tree was plain (no links, special files or problems). */
  folders?: WalkedFolder[];
}

export interface WalkOptions {
  /** Real path of the project root: links that lead outside it are refused unless `external`. */
  projectRoot: string;
  external?: boolean;
  signal?: AbortSignal;
  onProgress?: (filesSoFar: number) => void;
  /** How many files the caller expects (e.g. from the stat cache): a large walk starts its helper thread early. */
  expectedFiles?: number;
}

function specialKind(st: fs.Stats): string | undefined {
  if (st.isSocket()) return 'socket';
  if (st.isFIFO()) return 'FIFO';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  return undefined;
}

export async function walk(dir: string, options: WalkOptions): Promise<WalkResult> {
  const files: WalkedFile[] = [];
  const problems: WalkProblem[] = [];
  // Regular files found by readdir; stat'ed afterwards, in parallel (parallel-stat.ts).
  const pendingRel: string[] = [];
  const pendingAbs: string[] = [];
  let hiddenSkipped = 0;
  let foldersSinceYield = 0;
  const rootReal = fs.realpathSync(dir);
  // Stat'ed before it is read (see `folders`); a link or an odd entry anywhere makes it undefined.
  const rootStat = fs.statSync(dir);
  let folders: WalkedFolder[] | undefined = [{ path: '', mtimeMs: rootStat.mtimeMs, ctimeMs: rootStat.ctimeMs, ino: rootStat.ino }];
  const helper = (options.expectedFiles ?? 0) >= PARALLEL_MIN ? startStatHelper() : undefined;

  const problem = (kind: WalkProblemKind, rel: string, message: string, severity: 'error' | 'warning'): void => {
    folders = undefined;
    problems.push({ kind, path: rel, message, severity });
  };

  const visit = async (absDir: string, relDir: string, realDir: string, ancestors: ReadonlySet<string>): Promise<void> => {
    options.signal?.throwIfAborted();
    if (++foldersSinceYield >= 64) {
      foldersSinceYield = 0;
      options.onProgress?.(pendingAbs.length + files.length);
      await new Promise((r) => setImmediate(r));
    }
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(absDir, { withFileTypes: true });
    } catch (e) {
      problem('unreadable', relDir || '.', `cannot read folder: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'error');
      return;
    }
    for (const ent of entries) {
      const name = ent.name;
      if (name.startsWith('.')) {
        hiddenSkipped++;
        continue;
      }
      const abs = `${absDir}${path.sep}${name}`;
      const rel = relDir ? `${relDir}/${name}` : toPosix(name);
      // readdir's type is free; only links and unknown types need a stat now.
      if (ent.isFile()) {
        pendingRel.push(rel);
        pendingAbs.push(abs);
        continue;
      }
      let st: fs.Stats;
      try {
        st = fs.lstatSync(abs);
      } catch (e) {
        problem('unreadable', rel, `cannot stat: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'error');
        continue;
      }
      if (st.isSymbolicLink()) {
        folders = undefined;
        let real: string;
        let target: fs.Stats;
        try {
          real = fs.realpathSync(abs);
          target = fs.statSync(real);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ELOOP') problem('symlink-loop', rel, `symbolic link loop at '${rel}' (not followed)`, 'warning');
          else problem('broken-symlink', rel, `symbolic link '${rel}' points to '${safeReadlink(abs)}', which does not exist`, 'error');
          continue;
        }
        if (!options.external && !isInside(options.projectRoot, real)) {
          problem('outside-project', rel, `symbolic link '${rel}' leads outside the project, to '${real}' (add that folder explicitly with --external to take it)`, 'error');
          continue;
        }
        if (target.isDirectory()) {
          if (ancestors.has(real)) {
            problem('symlink-loop', rel, `symbolic link loop: '${rel}' leads back to its ancestor '${real}' (not followed)`, 'warning');
            continue;
          }
          await visit(abs, rel, real, new Set([...ancestors, real]));
          continue;
        }
        if (!target.isFile()) {
          problem('special-file', rel, `'${rel}' is a link to a ${specialKind(target) ?? 'special file'} (skipped)`, 'warning');
          continue;
        }
        files.push({ path: rel, abs, size: target.size, mtimeMs: target.mtimeMs, ctimeMs: target.ctimeMs, ino: target.ino });
        continue;
      }
      if (st.isDirectory()) {
        // A plain folder cannot be its own ancestor (only links create loops), so its real path
        // is derived from its parent's without a realpath call.
        const childReal = `${realDir}${path.sep}${name}`;
        folders?.push({ path: rel, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino });
        await visit(abs, rel, childReal, new Set([...ancestors, childReal]));
        continue;
      }
      if (st.isFile()) {
        // readdir could not tell the type (some filesystems): fine, but not a plain tree
        folders = undefined;
        files.push({ path: rel, abs, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino });
        continue;
      }
      problem('special-file', rel, `'${rel}' is a ${specialKind(st) ?? 'special file'} (skipped)`, 'warning');
    }
  };

  try {
    await visit(dir, '', rootReal, new Set([rootReal]));
    options.signal?.throwIfAborted();
  } catch (e) {
    await helper?.release();
    throw e;
  }
  const stats = await statAll(pendingAbs, helper);
  for (let i = 0; i < pendingAbs.length; i++) {
    const k = i * STRIDE;
    const kind = stats[k + 4];
    if (kind === KIND_FILE) {
      files.push({ path: pendingRel[i]!, abs: pendingAbs[i]!, size: stats[k]!, mtimeMs: stats[k + 1]!, ctimeMs: stats[k + 2]!, ino: stats[k + 3]! });
    } else if (kind !== KIND_MISSING) {
      // Replaced by something else between readdir and stat.
      problem('unreadable', pendingRel[i]!, `'${pendingRel[i]}' changed while the folder was scanned (run the command again)`, 'error');
    }
  }
  files.sort((a, b) => compareStrings(a.path, b.path));
  problems.sort((a, b) => compareStrings(a.path, b.path));
  options.onProgress?.(files.length);
  return folders ? { files, problems, hiddenSkipped, folders } : { files, problems, hiddenSkipped };
}

function safeReadlink(p: string): string {
  try {
    return fs.readlinkSync(p);
  } catch {
    return '?';
  }
}
