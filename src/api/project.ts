/**
 * Opening a project: find its root (the folder holding d2.yaml, searched upwards like git
 * searches for .git), load and validate the manifest, and read the committed source files.
 * Every api verb but `init` starts here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseListing, type ListingEntry } from '../core/listing.js';
import { D2Error, LabelsInvalid, ManifestInvalid, NotAProject, SnapshotInvalid } from '../errors/index.js';
import {
  formatIssue, labelsPath, MANIFEST_FILE, parseLabelsCsv, parseManifest, parseSnapshot, snapshotPath,
  type Labels, type Manifest, type Snapshot,
} from '../manifest/index.js';
import { ObjectStore } from '../store/index.js';
import { findProjectRoot } from './project-root.js';

export { findProjectRoot };

export interface Project {
  /** Absolute, real path of the folder holding d2.yaml. */
  root: string;
  manifest: Manifest;
  manifestText: string;
  store: ObjectStore;
}

/** Parse manifest text or throw ManifestInvalid listing every problem with its position. */
export function loadManifest(text: string, file = MANIFEST_FILE): Manifest {
  const { manifest, issues } = parseManifest(text);
  if (manifest) return manifest;
  const lines = issues.map((i) => formatIssue(file, i));
  throw new ManifestInvalid(lines.length > 1 ? `${lines[0]} (and ${lines.length - 1} more)` : lines[0]!, {
    data: { file, issues: issues.map((i) => ({ file, ...i })) },
    hint: `fix ${file} (every key is described in docs/manifest.md)`,
  });
}

export function openProject(dir: string = process.cwd()): Project {
  const root = findProjectRoot(dir);
  if (!root) {
    throw new NotAProject(`not a d2 project (or any parent up to the filesystem root): no '${MANIFEST_FILE}' in '${path.resolve(dir)}'`, {
      hint: "run 'd2 init' to start one here",
    });
  }
  const real = fs.realpathSync(root);
  const manifestText = fs.readFileSync(path.join(real, MANIFEST_FILE), 'utf8');
  const manifest = loadManifest(manifestText);
  const store = new ObjectStore(real);
  store.checkFormat();
  return { root: real, manifest, manifestText, store };
}

export interface SourceState {
  snapshot: Snapshot;
  labels: Labels;
}

/** Parse a snapshot file's text; throws SnapshotInvalid naming the file. */
export function parseSnapshotText(text: string, file: string): Snapshot {
  const { snapshot, problems } = parseSnapshot(text, file);
  if (!snapshot) throw new SnapshotInvalid(problems[0] ?? `${file}: invalid snapshot`, { data: { file, problems }, hint: `restore it with 'git checkout -- ${file}' or run 'd2 add' again` });
  return snapshot;
}

export function parseLabelsText(text: string, file: string): Labels {
  const { labels, issues } = parseLabelsCsv(text);
  if (issues.length) {
    const lines = issues.map((i) => formatIssue(file, i));
    throw new LabelsInvalid(lines.length > 1 ? `${lines[0]} (and ${lines.length - 1} more)` : lines[0]!, { data: { file, issues: lines } });
  }
  return labels;
}

/** The raw texts of a source's committed files in the working tree (undefined when absent). */
export interface SourceTexts {
  snapshot?: string;
  labels?: string;
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export function readWorkingSourceTexts(project: Project, name: string): SourceTexts {
  const out: SourceTexts = {};
  const snapshot = readIfExists(path.join(project.root, snapshotPath(name)));
  const labels = readIfExists(path.join(project.root, labelsPath(name)));
  if (snapshot !== undefined) out.snapshot = snapshot;
  if (labels !== undefined) out.labels = labels;
  return out;
}

/** Parse a source's texts (working tree or a commit); `where` qualifies file names in errors. */
export function parseSourceTexts(name: string, texts: SourceTexts, where = ''): SourceState | undefined {
  if (texts.snapshot === undefined) return undefined;
  const snapshot = parseSnapshotText(texts.snapshot, `${snapshotPath(name)}${where}`);
  const labels = texts.labels ? parseLabelsText(texts.labels, `${labelsPath(name)}${where}`) : new Map<string, string>();
  return { snapshot, labels };
}

/** The source state as last written by `d2 add` (the working copy of d2.sources/), if any. */
export function readWorkingSource(project: Project, name: string): SourceState | undefined {
  return parseSourceTexts(name, readWorkingSourceTexts(project, name));
}

/** Where the stat cache of a source lives (in the store's state folder, never committed). */
export function statCachePath(project: Project, source: string): string {
  return path.join(project.store.stateDir(), `stat-${source}`);
}

export function readListing(store: ObjectStore, oid: string): ListingEntry[] {
  const text = store.readText(oid);
  try {
    return parseListing(text);
  } catch (e) {
    throw new SnapshotInvalid(`listing object '${oid}' is damaged: ${(e as Error).message}`, { data: { oid }, hint: 'run d2 fsck' });
  }
}

/** Run an api body, stamping D2Errors with the api function's name (isomorphic-git's `caller`). */
export async function withCaller<T>(caller: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof D2Error && e.caller === undefined) e.caller = caller;
    throw e;
  }
}
