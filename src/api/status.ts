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
import { diffFiles, diffLabels, isEmptyFileChanges, type Relabel } from '../core/changes.js';
import type { CommonOptions } from '../core/progress.js';
import { SourceNotFound, throwIfAborted } from '../errors/index.js';
import { blobOidsAtCommit, currentBranch, hashBlob, headCommit, openGitRepo, readFileAtCommit, workingChanges } from '../git/index.js';
import { isTableSource, labelsPath, MANIFEST_FILE, SOURCES_DIR, snapshotPath, type Snapshot } from '../manifest/index.js';
import { relativePosix } from '../util/paths.js';
import { beginUnchangedCheck, cancelPrefetched, nowMs, StatCache, takePrefetched } from '../workspace/index.js';
import { beginStampCapture, type SourceStatus, type StampCapture, type StatusResult } from '../project/status-stamp.js';
import { openProject, type Project } from '../project/project.js';
import { EMPTY, scanSourceFolder, scanTable, type EarlyCheck, type FolderScan } from '../project/working-tree-scan.js';
import { committedPaths } from '../project/d2-files.js';
import { parseLabelsText, parseSnapshotText, parseSourceTexts, readListing, readWorkingSourceTexts, statCachePath, type SourceTexts } from '../project/sources.js';
import { checkOptions, COMMON_OPTIONS, withCaller } from './verb.js';

export interface StatusOptions extends CommonOptions {
  /** Only these sources (default: all). */
  sources?: string[];
}

export type { SourceStatus, StatusResult } from '../project/status-stamp.js';
export type { PathChange } from '../git/index.js';

export async function status(options: StatusOptions = {}): Promise<StatusResult> {
  return withCaller('d2.status', async () => {
    checkOptions(options, { ...COMMON_OPTIONS, sources: true }, ['sources']);
    // Stat'ed before anything is read: what a clean result may be replayed from (status-stamp.ts).
    const capture = options.sources?.length ? undefined : beginStampCapture(options.dir ?? '.');
    const project = openProject(options.dir);
    if (capture && capture.root !== project.root) capture.ruleOut();
    // d2's other committed files: a change to any of them is something to commit.
    for (const rel of committedPaths(project.root, project.manifest)) capture?.input(path.join(project.root, rel));
    for (const [name, decl] of Object.entries(project.manifest.sources)) {
      capture?.input(statCachePath(project, name));
      if (isTableSource(decl)) capture?.input(path.resolve(project.root, decl.path));
      else if (decl.labels && decl.labels !== 'dirname') capture?.input(path.join(project.root, decl.labels));
    }
    // Folder sources' fast-path checks start first: their files are stat'ed on a helper
    // thread while this one reads git.
    const early = beginFolderChecks(project, options.sources);
    try {
      return await statusOf(project, early, options, capture);
    } finally {
      for (const e of early.values()) await e.check?.cancel();
      await cancelPrefetched();
    }
  });
}

function beginFolderChecks(project: Project, only: readonly string[] | undefined): Map<string, EarlyCheck> {
  const early = new Map<string, EarlyCheck>();
  for (const [name, decl] of Object.entries(project.manifest.sources)) {
    if (isTableSource(decl) || (only?.length && !only.includes(name))) continue;
    const file = statCachePath(project, name);
    const folder = path.resolve(project.root, decl.path);
    const prefetched = takePrefetched(file, folder);
    if (prefetched) {
      early.set(name, prefetched);
      continue;
    }
    const cache = StatCache.read(file);
    const check = cache.listing !== undefined ? beginUnchangedCheck(folder, cache) : undefined;
    early.set(name, check ? { cache, check } : { cache });
  }
  return early;
}

async function statusOf(project: Project, early: Map<string, EarlyCheck>, options: StatusOptions, capture: StampCapture | undefined): Promise<StatusResult> {
  const repo = await openGitRepo(project.root);
  const head = (await headCommit(repo)) ?? null;
  const prefix = relativePosix(repo.dir, project.root);
  const gitPath = (p: string): string => (prefix === '.' ? p : `${prefix}/${p}`);

  const headManifest = head ? await readFileAtCommit(repo, head, gitPath(MANIFEST_FILE)) : undefined;
  const manifestChanged = headManifest !== project.manifestText;

  const declared = Object.keys(project.manifest.sources);
  // Blob oids of HEAD's d2.sources/ files: a source whose files hash the same as in HEAD has
  // nothing staged, and its (possibly large) blobs are never inflated.
  const headBlobs = head ? await blobOidsAtCommit(repo, head, gitPath(SOURCES_DIR)) : new Map<string, string>();
  const inHead = [...headBlobs.keys()].filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length));
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
    const workTexts = decl ? readWorkingSourceTexts(project, name) : {};
    const snapFile = snapshotPath(name);
    const labelsFile = labelsPath(name);
    const headSnapOid = headBlobs.get(path.posix.basename(snapFile));
    const headLabelsOid = headBlobs.get(path.posix.basename(labelsFile));
    const working = workTexts.snapshot !== undefined ? parseSnapshotText(workTexts.snapshot, snapFile) : undefined;
    const unchanged = workTexts.snapshot !== undefined && headSnapOid !== undefined
      && (await hashBlob(workTexts.snapshot)) === headSnapOid
      && (workTexts.labels === undefined ? headLabelsOid === undefined : headLabelsOid !== undefined && (await hashBlob(workTexts.labels)) === headLabelsOid);
    const headTexts: SourceTexts = {};
    if (!unchanged && headSnapOid !== undefined) {
      const snap = await readFileAtCommit(repo, head!, gitPath(snapFile));
      const labels = await readFileAtCommit(repo, head!, gitPath(labelsFile));
      if (snap !== undefined) headTexts.snapshot = snap;
      if (labels !== undefined) headTexts.labels = labels;
    }
    const st: SourceStatus = {
      source: name,
      path: decl?.path ?? null,
      state: !decl ? 'removed' : !working ? 'untracked' : headSnapOid ? 'tracked' : 'new',
      staged: { files: EMPTY, relabels: [] },
      notAdded: EMPTY,
      notAddedRelabels: [],
      problems: [],
      // The snapshot's counts (d2 add and d2 label keep them); exact from the files when they are read below.
      items: decl && working ? working.items : null,
      unlabelled: decl && working ? Math.max(0, working.items - working.labelled) : null,
      pool: decl?.unlabelled === true,
    };
    if (!unchanged) {
      const headSide = parseSourceTexts(name, headTexts, ' (HEAD)');
      if (headSide && !project.store.has(headSide.snapshot.listing)) {
        st.missingListing = headSide.snapshot.listing;
      } else if (working && !project.store.has(working.listing)) {
        st.missingListing = working.listing;
      } else {
        const workingSide = parseSourceTexts(name, workTexts);
        const headListing = headSide ? readListing(project.store, headSide.snapshot.listing) : [];
        const workingListing = working ? readListing(project.store, working.listing) : [];
        const files = diffFiles(headListing, workingListing);
        if (decl && working && workingSide) st.unlabelled = workingListing.filter((e) => !workingSide.labels.has(e.path)).length;
        const before = new Set(headListing.map((e) => e.path));
        const common = workingListing.filter((e) => before.has(e.path)).map((e) => e.path);
        st.staged = { files, relabels: diffLabels(headSide?.labels ?? new Map(), workingSide?.labels ?? new Map(), common, files.renamed) };
      }
    }
    if (decl && working && !project.store.has(working.listing)) {
      // A fresh clone (or a store without this source's data): nothing to compare the folder
      // with until `d2 pull` fetches the listing.
      st.missingListing = working.listing;
      capture?.ruleOut();
    } else if (decl) {
      const abs = path.resolve(project.root, decl.path);
      const scan = isTableSource(decl)
        ? scanTable(project, name, abs, decl, working)
        : await scanFolder(project, name, abs, working?.listing, options, early.get(name), capture);
      filesChecked += scan.checked;
      filesHashed += scan.hashed;
      st.problems = scan.problems;
      st.notAdded = scan.notAdded;
      st.notAddedRelabels = scan.relabels ?? (working && decl.labels && decl.labels !== 'dirname'
        ? await csvRelabels(project, name, decl.labels, workTexts.labels, working)
        : []);
    }
    sources.push(st);
  }
  // What `d2 commit` would record, file by file (an untracked d2.lock, a labels file edited by
  // hand in a way that changes no label…): status is clean only when there is none.
  const d2Files = await workingChanges(repo, committedPaths(project.root, project.manifest).map(gitPath));
  const clean = !manifestChanged && d2Files.length === 0 && sources.every((s) =>
    s.state !== 'untracked' && s.state !== 'removed' && isEmptyFileChanges(s.staged.files) && s.staged.relabels.length === 0 && isEmptyFileChanges(s.notAdded) && s.notAddedRelabels.length === 0);
  const result: StatusResult = { head, branch: (await currentBranch(repo)) ?? null, manifestChanged, d2Files, sources, clean, filesChecked, filesHashed };
  const folderSources = Object.values(project.manifest.sources).filter((d) => !isTableSource(d)).length;
  capture?.write(result, repo.dir, folderSources, nowMs());
  return result;
}

/** A folder source labelled by a CSV: the labels `d2 add` would take from the CSV now, against the recorded ones. */
async function csvRelabels(project: Project, name: string, csvPath: string, labelsText: string | undefined, working: Snapshot): Promise<Relabel[]> {
  let text: string;
  try {
    text = fs.readFileSync(path.join(project.root, csvPath), 'utf8');
  } catch {
    return [];
  }
  const fromCsv = parseLabelsText(text, csvPath);
  const recorded = labelsText ? parseLabelsText(labelsText, labelsPath(name)) : new Map<string, string>();
  const paths = readListing(project.store, working.listing).map((e) => e.path);
  const now = new Map<string, string>();
  for (const p of paths) {
    const l = fromCsv.get(p);
    if (l !== undefined) now.set(p, l);
  }
  return diffLabels(recorded, now, paths);
}

/** A folder source's scan (project/working-tree-scan.ts), noting for the stamp whether the fast path answered. */
async function scanFolder(project: Project, name: string, abs: string, listingOid: string | undefined, options: StatusOptions, early: EarlyCheck | undefined, capture: StampCapture | undefined): Promise<FolderScan> {
  const scan = await scanSourceFolder(project, name, abs, listingOid, options, early);
  if (scan.fast) capture?.folder(statCachePath(project, name), abs, scan.fast);
  else capture?.ruleOut();
  return scan;
}

