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

export interface Project {
  /** Absolute, real path of the folder holding d2.yaml. */
  root: string;
  manifest: Manifest;
  manifestText: string;
  store: ObjectStore;
}

export function findProjectRoot(start: string): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    if (fs.existsSync(path.join(dir, MANIFEST_FILE))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
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

/** The source state as last written by `d2 add` (the working copy of d2.sources/), if any. */
export function readWorkingSource(project: Project, name: string): SourceState | undefined {
  const snapFile = snapshotPath(name);
  let text: string;
  try {
    text = fs.readFileSync(path.join(project.root, snapFile), 'utf8');
  } catch {
    return undefined;
  }
  const snapshot = parseSnapshotText(text, snapFile);
  const labFile = labelsPath(name);
  let labelsText = '';
  try {
    labelsText = fs.readFileSync(path.join(project.root, labFile), 'utf8');
  } catch {
    // a source without labels file: all unlabelled
  }
  return { snapshot, labels: labelsText ? parseLabelsText(labelsText, labFile) : new Map() };
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
