/**
 * The clean-status stamp: what the last clean `d2 status` depended on, so that the next one
 * can answer "clean" without loading git, the manifest's parser or the rest of d2 (git's index
 * does the same for the files it tracks). `.d2/state/status-clean`, JSON:
 *   format · d2 version · project root · git (root, HEAD's text, the branch's loose ref) ·
 *   inputs: [path, {size, mtimeMs, ctimeMs, ino} or null when absent] for d2.yaml, the store's
 *   format file, d2.sources/ and each file in it, d2's other committed files (d2.lock,
 *   .gitignore, d2.remotes.yaml, the model-tests file), and every CSV a source reads (labels,
 *   tables, a table's stat cache) · folders: each folder source's stat cache (its stat, the listing it
 *   vouches for) · writtenAt · the status result.
 *
 * Invariants:
 * - Each input's stat and git's texts are taken before status reads them, and a stamp is
 *   written only when the status was clean, covered every source, answered every folder
 *   source through the fast path (workspace/unchanged.ts) and no input was racy (changed
 *   within a timestamp tick of the write), so a stat that still matches means the same bytes.
 * - `statusFromStamp` answers only when every input keeps its stat, HEAD and the ref their
 *   text, no nearer .git appeared, and every folder source's fast-path check against the
 *   same stat cache passes now; anything else, and status runs in full.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MANIFEST_FILE, SOURCES_DIR } from '../manifest/manifest-file.js';
import { readLooseHead, type LooseHead } from '../git/head-files.js';
import { formatFileOf } from '../store/layout.js';
import { StateFiles } from '../store/state-files.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { VERSION } from '../util/version.js';
import { peekPrefetched } from '../workspace/prefetch.js';
import { racyWindow, sameStat, StatCache, type StatFields } from '../workspace/stat-cache.js';
import { beginUnchangedCheck } from '../workspace/unchanged.js';
import { findProjectRoot, findUpwards } from './project-root.js';
import type { FileChanges, Relabel } from '../core/changes.js';
import type { WalkProblem } from '../workspace/walk.js';
import type { PathChange } from '../git/repo.js';

/** What `d2 status` returns (api/status.ts); a clean one is what the stamp records. */
export interface SourceStatus {
  source: string;
  path: string | null;
  /** new: added since the last commit; removed: in the last commit, gone now; untracked: declared, never added. */
  state: 'tracked' | 'new' | 'removed' | 'untracked';
  staged: { files: FileChanges; relabels: Relabel[] };
  notAdded: FileChanges;
  /** Labels that `d2 add` would change: rows of a table, or the rows of a source's labels CSV, edited since. */
  notAddedRelabels: Relabel[];
  problems: WalkProblem[];
  /** Set when a listing of the last commit or of the working tree is not in the local store (a fresh clone: `d2 pull` fetches it). */
  missingListing?: string;
  /** Items `d2 add` recorded for the source (null: none recorded, or a removed source). */
  items: number | null;
  /** Of them, items with no label (never trained on; `d2 suggest` ranks them). */
  unlabelled: number | null;
  /** Declared a pool to label later (`unlabelled: true` in d2.yaml). */
  pool: boolean;
}

export interface StatusResult {
  head: string | null;
  branch: string | null;
  manifestChanged: boolean;
  /**
   * d2's files (d2.yaml, d2.lock, d2.sources/…, label CSVs: what `d2 commit` records) that
   * differ from the last commit, paths relative to the git root; `clean` implies none.
   */
  d2Files: PathChange[];
  sources: SourceStatus[];
  clean: boolean;
  filesChecked: number;
  /** Files whose content was read because the stat cache could not vouch for them. */
  filesHashed: number;
}


const STAMP_FORMAT = 4;

type GitState = LooseHead;

interface StampFolder {
  cacheFile: string;
  folder: string;
  listing: string;
  cache: StatFields;
}

interface Stamp {
  format: number;
  version: string;
  root: string;
  git: GitState;
  inputs: [string, StatFields | null][];
  folders: StampFolder[];
  writtenAt: number;
  result: StatusResult;
}

function stampPath(root: string): string {
  return StateFiles.of(root).path('status-clean');
}

/** An input's stat, through links (status reads through them too); null when absent. */
function statOf(p: string): StatFields | null {
  try {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    return st ? { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino } : null;
  } catch {
    return null;
  }
}

function same(a: StatFields | null, b: StatFields | null): boolean {
  return a && b ? sameStat(a, b) : a === b;
}


/** The repository as git finds it from `root` (the nearest .git upwards), if it is a plain one with a loose ref. */
function gitState(root: string): GitState | undefined {
  const dir = findUpwards(root, '.git');
  return dir ? readLooseHead(dir) : undefined;
}

/** What one `d2 status` saw, stat'ed before it was read; `write` turns it into a stamp. */
export class StampCapture {
  private readonly inputs = new Map<string, StatFields | null>();
  private readonly folders: StampFolder[] = [];
  private readonly git: GitState | undefined;
  private ruledOut = false;

  /** Call before the project is opened: d2.yaml, the store's format, d2.sources/, git. */
  constructor(readonly root: string) {
    this.input(path.join(root, MANIFEST_FILE));
    this.input(formatFileOf(root));
    const sources = path.join(root, SOURCES_DIR);
    this.input(sources);
    let names: string[] = [];
    try {
      names = fs.readdirSync(sources);
    } catch {
      // no sources yet
    }
    for (const name of names) this.input(path.join(sources, name));
    this.git = gitState(root);
  }

  /** A file status reads (stat it before reading it). */
  input(p: string): void {
    if (!this.inputs.has(p)) this.inputs.set(p, statOf(p));
  }

  /** A folder source answered by the fast path against this stat cache. */
  folder(cacheFile: string, folder: string, cache: StatCache): void {
    if (!cache.fileStat || cache.listing === undefined) this.ruledOut = true;
    else this.folders.push({ cacheFile, folder, listing: cache.listing, cache: cache.fileStat });
  }

  /** Something this status did cannot be replayed from a stamp (a folder walked, say). */
  ruleOut(): void {
    this.ruledOut = true;
  }

  /** Write the stamp if `result` may be replayed; `gitRoot` is where status found the repository. */
  write(result: StatusResult, gitRoot: string, folderSources: number, now: number): void {
    const git = this.git;
    if (this.ruledOut || !result.clean || !git || git.root !== gitRoot || this.folders.length !== folderSources) return;
    if (result.sources.some((s) => s.missingListing !== undefined || s.problems.length > 0)) return;
    const stats = [...this.inputs.values(), ...this.folders.map((f) => f.cache)];
    if (stats.some((s) => s !== null && s.mtimeMs + racyWindow(s.mtimeMs) >= now)) return;
    const stamp: Stamp = { format: STAMP_FORMAT, version: VERSION, root: this.root, git, inputs: [...this.inputs], folders: this.folders, writtenAt: now, result };
    const file = stampPath(this.root);
    try {
      if (fs.existsSync(path.dirname(file))) writeFileAtomicSync(file, JSON.stringify(stamp));
    } catch {
      // a read-only store: the stamp is only an accelerator
    }
  }
}

/** Begin capturing for a status of the project found from `dir` (none found: nothing to capture). */
export function beginStampCapture(dir: string): StampCapture | undefined {
  const found = findProjectRoot(dir);
  return found ? new StampCapture(fs.realpathSync(found)) : undefined;
}

/** The result of the last clean status of the project at `root` (real path), if nothing it depended on has changed since. */
export async function statusFromStamp(root: string): Promise<StatusResult | undefined> {
  let stamp: Stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(stampPath(root), 'utf8')) as Stamp;
  } catch {
    return undefined;
  }
  if (stamp.format !== STAMP_FORMAT || stamp.version !== VERSION || stamp.root !== root) return undefined;
  if (!stamp.inputs.every(([p, s]) => same(statOf(p), s))) return undefined;
  const git = gitState(root);
  if (!git || git.root !== stamp.git.root || git.head !== stamp.git.head || git.ref?.path !== stamp.git.ref?.path || git.ref?.text !== stamp.git.ref?.text) return undefined;
  for (const f of stamp.folders) {
    // A prefetched check stays for status to take, its answer remembered; a small folder's is made here.
    const early = peekPrefetched(f.cacheFile, f.folder);
    const cache = early?.cache ?? StatCache.read(f.cacheFile);
    if (!cache.fileStat || !sameStat(cache.fileStat, f.cache) || cache.listing !== f.listing || cache.root !== f.folder) return undefined;
    const check = early?.check ?? beginUnchangedCheck(f.folder, cache);
    if (!check || !(await check.result())) return undefined;
  }
  return stamp.result;
}
