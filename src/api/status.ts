/**
 * `d2 status`: what changed, in two layers as in git:
 * - staged: what `d2 add` recorded in d2.sources/ (and edits of d2.yaml) against the last
 *   commit: files added, modified, deleted, renamed per source; changed labels;
 * - not added: files in the source folders against what `d2 add` last recorded.
 *
 * Invariants: read-only apart from the stat cache (replaced atomically); a file whose stat
 * matches the stat cache is not read, so a status with nothing changed reads no file content.
 */
import fs from 'node:fs';
import path from 'node:path';
import { diffFiles, diffLabels, isEmptyFileChanges, type FileChanges, type Relabel } from '../core/changes.js';
import type { ListingEntry } from '../core/listing.js';
import type { CommonOptions } from '../core/progress.js';
import { SourceNotFound, throwIfAborted } from '../errors/index.js';
import { currentBranch, headCommit, listFilesAtCommit, openGitRepo, readFileAtCommit, type GitRepo } from '../git/index.js';
import { labelsPath, MANIFEST_FILE, SOURCES_DIR, snapshotPath, type Labels } from '../manifest/index.js';
import { hashFileSync } from '../util/hash.js';
import { isInside, relativePosix } from '../util/paths.js';
import { nowNs, StatCache, walk, type WalkProblem } from '../workspace/index.js';
import { openProject, parseLabelsText, parseSnapshotText, readListing, readWorkingSource, withCaller, type Project } from './project.js';

export interface StatusOptions extends CommonOptions {
  /** Only these sources (default: all). */
  sources?: string[];
}

export interface SourceStatus {
  source: string;
  path: string | null;
  /** new: added since the last commit; removed: in the last commit, gone now; untracked: declared, never added. */
  state: 'tracked' | 'new' | 'removed' | 'untracked';
  staged: { files: FileChanges; relabels: Relabel[] };
  notAdded: FileChanges;
  problems: WalkProblem[];
  /** Set when a listing of the last commit is not in the local store (pull it). */
  missingListing?: string;
}

export interface StatusResult {
  head: string | null;
  branch: string | null;
  manifestChanged: boolean;
  sources: SourceStatus[];
  clean: boolean;
  filesChecked: number;
  /** Files whose content was read because the stat cache could not vouch for them. */
  filesHashed: number;
}

const EMPTY: FileChanges = { added: [], modified: [], deleted: [], renamed: [] };

export async function status(options: StatusOptions = {}): Promise<StatusResult> {
  return withCaller('d2.status', async () => {
    const project = openProject(options.dir);
    const repo = await openGitRepo(project.root);
    const head = (await headCommit(repo)) ?? null;
    const prefix = relativePosix(repo.dir, project.root);
    const gitPath = (p: string): string => (prefix === '.' ? p : `${prefix}/${p}`);

    const headManifest = head ? await readFileAtCommit(repo, head, gitPath(MANIFEST_FILE)) : undefined;
    const manifestChanged = headManifest !== project.manifestText;

    const declared = Object.keys(project.manifest.sources);
    const inHead = head ? (await listFilesAtCommit(repo, head, gitPath(SOURCES_DIR)))
      .map((f) => path.posix.basename(f))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -'.yaml'.length)) : [];
    let names = [...new Set([...declared, ...inHead])].sort();
    if (options.sources?.length) {
      for (const s of options.sources) {
        if (!names.includes(s)) throw new SourceNotFound(`unknown source '${s}'`, { data: { source: s }, hint: `known sources: ${names.join(', ') || 'none'}` });
      }
      names = names.filter((n) => options.sources!.includes(n));
    }

    let filesChecked = 0;
    let filesHashed = 0;
    const sources: SourceStatus[] = [];
    for (const name of names) {
      throwIfAborted(options.signal);
      const decl = project.manifest.sources[name];
      const working = decl ? readWorkingSource(project, name) : undefined;
      const headSide = head && inHead.includes(name) ? await readHeadSource(project, repo, head, gitPath, name) : undefined;
      const st: SourceStatus = {
        source: name,
        path: decl?.path ?? null,
        state: !decl ? 'removed' : !working ? 'untracked' : headSide ? 'tracked' : 'new',
        staged: { files: EMPTY, relabels: [] },
        notAdded: EMPTY,
        problems: [],
      };
      if (headSide?.missing) st.missingListing = headSide.missing;
      const workingListing = working ? readListing(project.store, working.snapshot.listing) : [];
      if (working && headSide && !headSide.missing) {
        if (working.snapshot.listing !== headSide.snapshot.listing || !sameLabels(working.labels, headSide.labels)) {
          st.staged = stagedChanges(headSide.listing, headSide.labels, workingListing, working.labels);
        }
      } else if (working && !headSide) {
        st.staged = { files: { ...EMPTY, added: workingListing.map((e) => e.path) }, relabels: [] };
      } else if (!working && headSide && !headSide.missing) {
        st.staged = { files: { ...EMPTY, deleted: headSide.listing.map((e) => e.path) }, relabels: [] };
      }
      if (decl) {
        const scan = await scanFolder(project, name, path.resolve(project.root, decl.path), options);
        filesChecked += scan.checked;
        filesHashed += scan.hashed;
        st.problems = scan.problems;
        st.notAdded = scan.missingFolder ? { ...EMPTY, deleted: workingListing.map((e) => e.path) } : diffFiles(workingListing, scan.entries);
      }
      sources.push(st);
    }
    const clean = !manifestChanged && sources.every((s) =>
      s.state !== 'untracked' && s.state !== 'removed' && isEmptyFileChanges(s.staged.files) && s.staged.relabels.length === 0 && isEmptyFileChanges(s.notAdded));
    return { head, branch: (await currentBranch(repo)) ?? null, manifestChanged, sources, clean, filesChecked, filesHashed };
  });
}

function sameLabels(a: Labels, b: Labels): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function stagedChanges(beforeListing: ListingEntry[], beforeLabels: Labels, afterListing: ListingEntry[], afterLabels: Labels): SourceStatus['staged'] {
  const files = diffFiles(beforeListing, afterListing);
  const before = new Set(beforeListing.map((e) => e.path));
  const common = afterListing.filter((e) => before.has(e.path)).map((e) => e.path);
  return { files, relabels: diffLabels(beforeLabels, afterLabels, common, files.renamed) };
}

async function readHeadSource(project: Project, repo: GitRepo, head: string, gitPath: (p: string) => string, name: string):
  Promise<{ snapshot: ReturnType<typeof parseSnapshotText>; labels: Labels; listing: ListingEntry[]; missing?: string } | undefined> {
  const snapText = await readFileAtCommit(repo, head, gitPath(snapshotPath(name)));
  if (snapText === undefined) return undefined;
  const snapshot = parseSnapshotText(snapText, `${snapshotPath(name)} (HEAD)`);
  const labelsText = await readFileAtCommit(repo, head, gitPath(labelsPath(name)));
  const labels = labelsText ? parseLabelsText(labelsText, `${labelsPath(name)} (HEAD)`) : new Map<string, string>();
  if (!project.store.has(snapshot.listing)) return { snapshot, labels, listing: [], missing: snapshot.listing };
  return { snapshot, labels, listing: readListing(project.store, snapshot.listing) };
}

async function scanFolder(project: Project, name: string, abs: string, options: StatusOptions):
  Promise<{ entries: ListingEntry[]; problems: WalkProblem[]; checked: number; hashed: number; missingFolder: boolean }> {
  if (!fs.existsSync(abs)) return { entries: [], problems: [], checked: 0, hashed: 0, missingFolder: true };
  const walked = await walk(abs, {
    projectRoot: project.root,
    external: !isInside(project.root, fs.realpathSync(abs)),
    signal: options.signal,
    onProgress: (n) => options.onProgress?.({ phase: 'walk', loaded: n, detail: { source: name } }),
  });
  const cacheFile = path.join(project.store.stateDir(), `stat-${name}.tsv`);
  const cache = StatCache.read(cacheFile);
  const entries: ListingEntry[] = [];
  const problems = [...walked.problems];
  let hashed = 0;
  for (const f of walked.files) {
    let oid = cache.lookup(f);
    if (oid === undefined) {
      try {
        const h = hashFileSync(f.abs);
        oid = h.oid;
      } catch (e) {
        problems.push({ kind: 'unreadable', path: f.path, message: `cannot read '${f.path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, severity: 'error' });
        continue;
      }
      hashed++;
      cache.set(f.path, f, oid);
      if (hashed % 1000 === 0) options.onProgress?.({ phase: 'hash', loaded: hashed, detail: { source: name } });
    }
    entries.push({ path: f.path, oid, size: f.size });
  }
  const now = nowNs();
  if (cache.needsWrite(now) && fs.existsSync(project.store.stateDir())) {
    try {
      cache.write(cacheFile, now);
    } catch {
      // a read-only store: the cache is only an accelerator
    }
  }
  return { entries, problems, checked: walked.files.length, hashed, missingFolder: false };
}
