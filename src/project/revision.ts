/**
 * The revision reader: the one place that reads d2's files — d2.yaml, the source snapshots and
 * labels, d2.lock, the model-tests file — as they are in the working tree or at a commit,
 * scoped to the project's folder inside its git repository. Dataset resolution, builds,
 * diffs, logs, status and the reachability walk all read through it, so "the dataset at
 * HEAD~3" and "the dataset now" are computed the same way.
 *
 * Invariants:
 * - a state at a commit reads nothing from the working tree (only git and the store);
 * - each distinct blob is parsed once per reader (most commits share most files);
 * - paths handed to git are the project's own files, prefixed by the project's folder in the
 *   repository; nothing outside the project is read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { resolveDataset, type ModelTestRow, type ResolvedDataset, type SourceInput } from '../core/dataset.js';
import { LabelsInvalid, ObjectNotFound, RevNotFound } from '../errors/index.js';
import { EXPS_REF_PREFIX, headCommit, listRecordRefs, openGitRepo, readBlobText, readTreeEntries, resolveRecordRef, resolveRev, revisionCommits, type GitRepo, type TreeEntry } from '../git/index.js';
import type { ProgressHandler } from '../core/progress.js';
import { formatIssue, labelsPath, LOCK_FILE, MANIFEST_FILE, parseLabelsCsv, parseLock, parseManifest, snapshotPath, SOURCES_DIR, type Labels, type Lock, type Manifest, type Snapshot } from '../manifest/index.js';
import { relativePosix } from '../util/paths.js';
import { loadManifest, type Project } from './project.js';
import { parseSnapshotText, parseSourceTexts, readListing, readWorkingSourceTexts, type SourceState } from './sources.js';

export interface ProjectState {
  /** The commit this state was read from; null for the working tree (and for an experiment). */
  commit: string | null;
  /** Set when the state is an experiment's (`d2 exp run`): its name and the tree it records. */
  experiment?: { name: string; tree: string };
  manifest: Manifest;
  manifestText: string;
  /** Declared sources that have been added (a declared source never added has no entry). */
  sources: Map<string, SourceState>;
  /** A file of the project (relative to its root) as it is in this state. */
  readText(rel: string): Promise<string | undefined>;
}

/** A project file's text in the working tree, or undefined when it does not exist. */
export function readWorkingText(project: Project, rel: string): string | undefined {
  try {
    return fs.readFileSync(path.join(project.root, rel), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * The working tree's state. With `manifest`, the sources and settings are that manifest's
 * instead of d2.yaml's (an experiment's change applied in memory; nothing is written).
 */
export async function loadWorkingState(project: Project, override?: { manifest: Manifest; manifestText: string }): Promise<ProjectState> {
  const manifest = override?.manifest ?? project.manifest;
  const sources = new Map<string, SourceState>();
  for (const name of Object.keys(manifest.sources)) {
    const s = parseSourceTexts(name, readWorkingSourceTexts(project, name));
    if (s) sources.set(name, s);
  }
  return {
    commit: null,
    manifest,
    manifestText: override?.manifestText ?? project.manifestText,
    sources,
    readText: async (rel) => readWorkingText(project, rel),
  };
}

/** The state recorded in a commit or in an experiment's tree (`oid` is either). */
async function loadStateAt(reader: RevisionReader, rev: string, oid: string, experiment?: string): Promise<ProjectState> {
  const readText = (rel: string): Promise<string | undefined> => reader.readText(oid, rel);
  const where = experiment !== undefined ? ` (in experiment '${experiment}')` : ` (at ${oid.slice(0, 7)})`;
  const manifestText = await readText(MANIFEST_FILE);
  if (manifestText === undefined) {
    throw new ObjectNotFound(`'${MANIFEST_FILE}' is not in ${experiment !== undefined ? 'experiment' : 'commit'} '${rev}'`, { data: { rev, commit: oid }, hint: 'that commit predates d2 in this repository' });
  }
  const manifest = loadManifest(manifestText, `${MANIFEST_FILE}${where}`);
  const sources = new Map<string, SourceState>();
  for (const name of Object.keys(manifest.sources)) {
    const snapshot = await readText(snapshotPath(name));
    const labels = await readText(labelsPath(name));
    const s = parseSourceTexts(name, { ...(snapshot !== undefined ? { snapshot } : {}), ...(labels !== undefined ? { labels } : {}) }, where);
    if (s) sources.set(name, s);
  }
  if (experiment !== undefined) return { commit: null, experiment: { name: experiment, tree: oid }, manifest, manifestText, sources, readText };
  return { commit: oid, manifest, manifestText, sources, readText };
}

/**
 * The state a revision names: a commit (anything git resolves), else an experiment of that name
 * (`refs/d2/exps/<rev>`, see project/experiments.ts): `d2 diff NAME`, `d2 build --rev NAME` and
 * every other verb that takes a revision accept an experiment where git knows no such revision.
 */
export async function loadStateAtRev(project: Project, rev: string, repo?: GitRepo): Promise<ProjectState> {
  const reader = new RevisionReader(project, repo ?? (await openGitRepo(project.root)));
  let commit: string;
  try {
    commit = await reader.resolve(rev);
  } catch (e) {
    const tree = e instanceof RevNotFound ? await resolveRecordRef(reader.repo, EXPS_REF_PREFIX, rev) : undefined;
    if (tree === undefined) throw e;
    return loadStateAt(reader, rev, tree, rev);
  }
  return loadStateAt(reader, rev, commit);
}

/** Working tree when `rev` is undefined, else the commit (or experiment) `rev` names. */
export async function loadState(project: Project, rev?: string, repo?: GitRepo): Promise<ProjectState> {
  return rev === undefined ? loadWorkingState(project) : loadStateAtRev(project, rev, repo);
}

export async function readModelTests(state: ProjectState): Promise<ModelTestRow[]> {
  const file = state.manifest.dataset.modelTests;
  if (!file) return [];
  const text = await state.readText(file);
  if (text === undefined) {
    throw new LabelsInvalid(`model tests file '${file}' does not exist`, { data: { file }, hint: "create it (columns path,label; path as '<source>/<path in source>') or remove 'dataset.modelTests' from d2.yaml" });
  }
  const { labels, issues, lines } = parseLabelsCsv(text, { lines: true });
  if (issues.length) {
    const msgs = issues.map((i) => formatIssue(file, i));
    throw new LabelsInvalid(msgs.length > 1 ? `${msgs[0]} (and ${msgs.length - 1} more)` : msgs[0]!, { data: { file, issues: msgs } });
  }
  return [...labels].map(([p, label]) => ({ path: p, label, line: lines?.get(p) ?? 0 }));
}

/** Resolve the state's dataset (listings come from the store). */
export async function resolveStateDataset(project: Project, state: ProjectState): Promise<ResolvedDataset> {
  const inputs: SourceInput[] = [];
  for (const [name, s] of state.sources) {
    const decl = state.manifest.sources[name]!;
    if (!project.store.has(s.snapshot.listing)) {
      throw new ObjectNotFound(`listing of source '${name}' (object ${s.snapshot.listing.slice(0, 12)}) is not in the store`, {
        data: { source: name, oid: s.snapshot.listing },
        hint: state.commit
          ? `run 'd2 pull ${state.commit.slice(0, 7)}' to fetch that commit's data from the remote`
          : state.experiment
            ? "fetch that experiment's data first: 'd2 pull --exps'"
            : "run 'd2 pull' (a fresh clone has no data yet), or 'd2 add --all' if the files are here",
      });
    }
    inputs.push({ name, entries: readListing(project.store, s.snapshot.listing), labels: s.labels, ...(decl.split ? { pin: decl.split } : {}), ...(decl.unlabelled ? { pool: true } : {}) });
  }
  const d = state.manifest.dataset;
  return resolveDataset(inputs, {
    ...(d.include ? { include: d.include } : {}),
    exclude: d.exclude,
    filter: d.filter,
    labelMap: d.labelMap,
    split: d.split,
    allowLeakage: d.allowLeakage,
  }, await readModelTests(state));
}

/** The d2 files of one revision that reference objects. */
export interface RevisionFiles {
  /** null: the working tree. For an experiment, the tree it records. */
  commit: string | null;
  /** Set for an experiment's files (`commit` is then its tree). */
  experiment?: string;
  /** Blob oids of the project's root files and of `d2.sources/` files, by name (commits only). */
  blobs?: { root: Map<string, string>; sources: Map<string, string> };
  snapshots: { name: string; snapshot: Snapshot }[];
  lock?: Lock;
  /** Set when the revision has a d2.lock that fails its checks (what it names is unknown). */
  lockProblems?: string[];
}

export function revisionLabel(commit: string | null, experiment?: string): string {
  if (experiment !== undefined) return `in experiment '${experiment}'`;
  return commit ? `at ${commit.slice(0, 7)}` : 'in the working tree';
}

/** Reads the d2 files of commits, parsing each distinct blob once (most commits share most files). */
export class RevisionReader {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly locks = new Map<string, { lock?: Lock; problems: string[] } | undefined>();
  private readonly manifests = new Map<string, Manifest | undefined>();
  private readonly labels = new Map<string, Labels | undefined>();
  private readonly trees = new Map<string, Promise<Map<string, TreeEntry>>>();
  /** Root trees of commits whose log entry was read already (saves reading the commit again). */
  private readonly rootTrees = new Map<string, string>();
  private readonly prefix: string;

  constructor(readonly project: Project, readonly repo: GitRepo) {
    const p = relativePosix(repo.dir, project.root);
    this.prefix = p === '.' ? '' : `${p}/`;
  }

  /** A reader over the project's git repository. */
  static async open(project: Project): Promise<RevisionReader> {
    return new RevisionReader(project, await openGitRepo(project.root));
  }

  /** The repository path of a project file (`rel` is relative to the project's root). */
  gitPath(rel: string): string {
    return rel === '' ? this.prefix.slice(0, -1) : `${this.prefix}${rel}`;
  }

  /** The commit a revision names (RevNotFound otherwise). */
  resolve(rev: string): Promise<string> {
    return resolveRev(this.repo, rev);
  }

  /** HEAD's commit, or undefined before the first commit. */
  head(): Promise<string | undefined> {
    return headCommit(this.repo);
  }

  /** The entries of a tree (a commit's oid: its root tree), read once per reader. */
  private tree(oid: string): Promise<Map<string, TreeEntry>> {
    let t = this.trees.get(oid);
    if (!t) {
      t = readTreeEntries(this.repo, oid).catch((e: unknown) => {
        if ((e as { code?: string }).code === 'NotFoundError') return new Map<string, TreeEntry>();
        throw e;
      });
      this.trees.set(oid, t);
    }
    return t;
  }

  /** Tell the reader a commit's root tree (from a log entry), so it need not read the commit. */
  knowTree(commit: string, tree: string): void {
    this.rootTrees.set(commit, tree);
  }

  /** The entries of a project folder at a commit (or in an experiment's tree); undefined when absent. */
  private async folder(commit: string, rel: string): Promise<Map<string, TreeEntry> | undefined> {
    let entries = await this.tree(this.rootTrees.get(commit) ?? commit);
    for (const part of this.gitPath(rel).split('/').filter(Boolean)) {
      const e = entries.get(part);
      if (!e || e.type !== 'tree') return undefined;
      entries = await this.tree(e.oid);
    }
    return entries;
  }

  /** A project file's text at a commit, or undefined when the commit has no such file. */
  async readText(commit: string, rel: string): Promise<string | undefined> {
    const dir = path.posix.dirname(rel);
    const e = (await this.folder(commit, dir === '.' ? '' : dir))?.get(path.posix.basename(rel));
    return e && e.type === 'blob' ? readBlobText(this.repo, e.oid) : undefined;
  }

  /** Blob oids of the files in a project folder at a commit, by name. */
  async blobs(commit: string, rel: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const [name, e] of (await this.folder(commit, rel)) ?? []) if (e.type === 'blob') out.set(name, e.oid);
    return out;
  }

  /** The d2.lock of a commit, parsed (undefined when absent or unreadable). */
  async lockAt(commit: string): Promise<Lock | undefined> {
    const text = await this.readText(commit, LOCK_FILE);
    return text === undefined ? undefined : parseLock(text).lock;
  }

  /** A blob's text, by its oid. */
  blobText(oid: string): Promise<string> {
    return readBlobText(this.repo, oid);
  }

  /** A blob's text, parsed once per distinct blob. */
  private async parsedBlob<T>(cache: Map<string, T | undefined>, blob: string | undefined, parse: (text: string) => T | undefined): Promise<T | undefined> {
    if (blob === undefined) return undefined;
    if (!cache.has(blob)) {
      let value: T | undefined;
      try {
        value = parse(await readBlobText(this.repo, blob));
      } catch {
        value = undefined; // a damaged file reads as absent here; the verbs that need it report it
      }
      cache.set(blob, value);
    }
    return cache.get(blob);
  }

  /** The d2.yaml of a revision's files (from `at`), parsed once per blob; undefined when absent or invalid. */
  manifestOf(files: RevisionFiles): Promise<Manifest | undefined> {
    return this.parsedBlob(this.manifests, files.blobs?.root.get(MANIFEST_FILE), (t) => parseManifest(t).manifest);
  }

  /** A source's committed labels in a revision's files (from `at`), parsed once per blob. */
  labelsOf(files: RevisionFiles, source: string): Promise<Labels | undefined> {
    const rel = labelsPath(source);
    return this.parsedBlob(this.labels, files.blobs?.sources.get(rel.slice(SOURCES_DIR.length + 1)), (t) => {
      const { labels, issues } = parseLabelsCsv(t, { emptyLabels: 'unlabelled' });
      return issues.length ? undefined : labels;
    });
  }

  async at(commit: string, experiment?: string): Promise<RevisionFiles> {
    const out: RevisionFiles = { commit, snapshots: [], ...(experiment !== undefined ? { experiment } : {}) };
    const sources = await this.blobs(commit, SOURCES_DIR);
    for (const [file, blob] of [...sources].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (!file.endsWith('.yaml')) continue;
      let s = this.snapshots.get(blob);
      if (!s) {
        const text = await readBlobText(this.repo, blob);
        s = parseSnapshotText(text, `${SOURCES_DIR}/${file} (${revisionLabel(commit, experiment)})`);
        this.snapshots.set(blob, s);
      }
      out.snapshots.push({ name: s.source, snapshot: s });
    }
    const root = await this.blobs(commit, '');
    out.blobs = { root, sources };
    const lockBlob = root.get(LOCK_FILE);
    if (lockBlob !== undefined) {
      if (!this.locks.has(lockBlob)) {
        const text = await readBlobText(this.repo, lockBlob);
        this.locks.set(lockBlob, parseLock(text, `${LOCK_FILE} (${revisionLabel(commit, experiment)})`));
      }
      const parsed = this.locks.get(lockBlob);
      if (parsed?.lock) out.lock = parsed.lock;
      else if (parsed) out.lockProblems = parsed.problems;
    }
    return out;
  }
}

/** The working tree's d2 files (snapshots written by `d2 add`, d2.lock written by `d2 build`). */
export function workingFiles(project: Project): RevisionFiles {
  const out: RevisionFiles = { commit: null, snapshots: [] };
  const dir = path.join(project.root, SOURCES_DIR);
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort();
  } catch {
    // no source added yet
  }
  for (const n of names) {
    const s = parseSnapshotText(fs.readFileSync(path.join(dir, n), 'utf8'), `${SOURCES_DIR}/${n}`);
    out.snapshots.push({ name: s.source, snapshot: s });
  }
  try {
    const parsed = parseLock(fs.readFileSync(path.join(project.root, LOCK_FILE), 'utf8'));
    if (parsed.lock) out.lock = parsed.lock;
    else out.lockProblems = parsed.problems;
  } catch {
    // no d2.lock
  }
  return out;
}


/** The d2 files of every experiment (`refs/d2/exps/*`): what they need is kept, pushed and pulled like a commit's. */
export async function experimentFiles(reader: RevisionReader, names?: readonly string[]): Promise<RevisionFiles[]> {
  const out: RevisionFiles[] = [];
  for (const [name, tree] of await listRecordRefs(reader.repo, EXPS_REF_PREFIX)) {
    if (names && !names.includes(name)) continue;
    out.push(await reader.at(tree, name));
  }
  return out;
}

/**
 * The d2 files of the working tree and of every revision of every branch and tag (fsck and
 * gc walk them all). A folder that is not in a git repository has the working tree only.
 */
export async function allRevisionFiles(project: Project, onProgress?: ProgressHandler): Promise<RevisionFiles[]> {
  const revisions: RevisionFiles[] = [workingFiles(project)];
  try {
    const reader = await RevisionReader.open(project);
    const commits = await revisionCommits(reader.repo);
    for (let i = 0; i < commits.length; i++) {
      revisions.push(await reader.at(commits[i]!));
      if (i % 50 === 49) onProgress?.({ phase: 'revisions', loaded: i + 1, total: commits.length });
    }
    revisions.push(...(await experimentFiles(reader)));
  } catch (e) {
    if ((e as { code?: string }).code !== 'NotAGitRepository') throw e;
  }
  return revisions;
}
