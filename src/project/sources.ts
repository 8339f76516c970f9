/**
 * A source's committed files — `d2.sources/<source>.yaml` (the snapshot) and
 * `d2.sources/<source>.labels.csv` — and the listing object a snapshot names: parsed once
 * here, from the working tree or from texts a revision reader hands in, into typed values.
 *
 * Invariant: every text is parsed by manifest/'s parsers (which validate paths and oids); a
 * damaged file is a typed error naming the file, never a partial value.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseListing, type ListingEntry } from '../core/listing.js';
import { LabelsInvalid, SnapshotInvalid } from '../errors/index.js';
import { formatIssue, labelsPath, parseLabelsCsv, parseSnapshot, snapshotPath, type Labels, type Snapshot } from '../manifest/index.js';
import type { ObjectStore } from '../store/index.js';
import type { Project } from './project.js';

export interface SourceState {
  snapshot: Snapshot;
  labels: Labels;
}

/** Parse a snapshot file's text; throws SnapshotInvalid naming the file. */
export function parseSnapshotText(text: string, file: string, source?: string): Snapshot {
  const { snapshot, problems } = parseSnapshot(text, file);
  if (!snapshot) throw new SnapshotInvalid(problems[0] ?? `${file}: invalid snapshot`, { data: { file, problems }, hint: `restore it with 'git checkout -- ${file}' or run 'd2 add' again` });
  // The file's name says whose snapshot it is: one claiming another source would point that
  // source's data at this one's folder.
  const expected = source ?? /(?:^|\/)([^/]+)\.yaml(?: \(at [0-9a-f]+\))?$/.exec(file)?.[1];
  if (expected !== undefined && snapshot.source !== expected) {
    throw new SnapshotInvalid(`${file}: names source '${snapshot.source}', but the file is source '${expected}'s`, {
      data: { file, source: snapshot.source, expected },
      hint: `restore it with 'git checkout -- ${file}' or run 'd2 add' again`,
    });
  }
  return snapshot;
}

export function parseLabelsText(text: string, file: string): Labels {
  const { labels, issues } = parseLabelsCsv(text, { emptyLabels: 'unlabelled' });
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
  const snapshot = parseSnapshotText(texts.snapshot, `${snapshotPath(name)}${where}`, name);
  const labels = texts.labels ? parseLabelsText(texts.labels, `${labelsPath(name)}${where}`) : new Map<string, string>();
  return { snapshot, labels };
}

/** The source state as last written by `d2 add` (the working copy of d2.sources/), if any. */
export function readWorkingSource(project: Project, name: string): SourceState | undefined {
  return parseSourceTexts(name, readWorkingSourceTexts(project, name));
}

/** Where the stat cache of a source lives (in the store's state folder, never committed). */
export function statCachePath(project: Project, source: string): string {
  return project.store.state.path('stat', source);
}

export function readListing(store: ObjectStore, oid: string): ListingEntry[] {
  const text = store.readText(oid);
  try {
    return parseListing(text);
  } catch (e) {
    throw new SnapshotInvalid(`listing object '${oid}' is damaged: ${(e as Error).message}`, { data: { oid }, hint: 'run d2 fsck' });
  }
}
