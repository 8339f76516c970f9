/**
 * A project's declared state — manifest, source snapshots, labels, model tests — either as it
 * is in the working tree or as it was at a commit. Dataset resolution, builds and diffs read
 * through this, so "the dataset at HEAD~3" and "the dataset now" are computed the same way.
 *
 * Invariant: a state at a commit reads nothing from the working tree (only git and the store).
 */
import fs from 'node:fs';
import path from 'node:path';
import { resolveDataset, type ModelTestRow, type ResolvedDataset, type SourceInput } from '../core/dataset.js';
import { LabelsInvalid, ObjectNotFound } from '../errors/index.js';
import { openGitRepo, readFileAtCommit, resolveRev, type GitRepo } from '../git/index.js';
import { formatIssue, MANIFEST_FILE, parseLabelsCsv, type Manifest } from '../manifest/index.js';
import { relativePosix } from '../util/paths.js';
import { loadManifest, parseSourceTexts, readListing, readWorkingSourceTexts, type Project, type SourceState } from './project.js';
import { labelsPath, snapshotPath } from '../manifest/index.js';

export interface ProjectState {
  /** The commit this state was read from; null for the working tree. */
  commit: string | null;
  manifest: Manifest;
  manifestText: string;
  /** Declared sources that have been added (a declared source never added has no entry). */
  sources: Map<string, SourceState>;
  /** A file of the project (relative to its root) as it is in this state. */
  readText(rel: string): Promise<string | undefined>;
}

export async function loadWorkingState(project: Project): Promise<ProjectState> {
  const sources = new Map<string, SourceState>();
  for (const name of Object.keys(project.manifest.sources)) {
    const s = parseSourceTexts(name, readWorkingSourceTexts(project, name));
    if (s) sources.set(name, s);
  }
  return {
    commit: null,
    manifest: project.manifest,
    manifestText: project.manifestText,
    sources,
    readText: async (rel) => {
      try {
        return fs.readFileSync(path.join(project.root, rel), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
  };
}

export async function loadStateAtRev(project: Project, rev: string, repo?: GitRepo): Promise<ProjectState> {
  const git = repo ?? (await openGitRepo(project.root));
  const commit = await resolveRev(git, rev);
  const prefix = relativePosix(git.dir, project.root);
  const readText = (rel: string): Promise<string | undefined> => readFileAtCommit(git, commit, prefix === '.' ? rel : `${prefix}/${rel}`);
  const where = ` (at ${commit.slice(0, 7)})`;
  const manifestText = await readText(MANIFEST_FILE);
  if (manifestText === undefined) {
    throw new ObjectNotFound(`'${MANIFEST_FILE}' is not in commit '${rev}'`, { data: { rev, commit }, hint: 'that commit predates d2 in this repository' });
  }
  const manifest = loadManifest(manifestText, `${MANIFEST_FILE}${where}`);
  const sources = new Map<string, SourceState>();
  for (const name of Object.keys(manifest.sources)) {
    const snapshot = await readText(snapshotPath(name));
    const labels = await readText(labelsPath(name));
    const s = parseSourceTexts(name, { ...(snapshot !== undefined ? { snapshot } : {}), ...(labels !== undefined ? { labels } : {}) }, where);
    if (s) sources.set(name, s);
  }
  return { commit, manifest, manifestText, sources, readText };
}

/** Working tree when `rev` is undefined, else the commit `rev` names. */
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
        hint: state.commit ? 'fetch the store objects of that commit (d2 pull) first' : "run 'd2 add --all'",
      });
    }
    inputs.push({ name, entries: readListing(project.store, s.snapshot.listing), labels: s.labels, ...(decl.split ? { pin: decl.split } : {}) });
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
