/**
 * The research journal: per commit, what it changed in the data (against its first parent),
 * the build its d2.lock records with the change from the previous build, the model tests that
 * build newly breaks, and the commit's note (`refs/notes/d2`). `d2 log` returns it; any view
 * (text, the `--metrics` table, Markdown, JSON) draws the same entries.
 *
 * Everything is read through the revision reader (one tree read per commit, each distinct blob
 * parsed once), so a thousand commits that share most files cost little more than their trees.
 *
 * Relabels are label changes of the same path, plus moved items whose label changed (found by
 * content in the two listings, when this store has them: a fresh clone without `d2 pull` counts
 * only the former).
 *
 * Invariants: reads git and the store only (never the working tree); a damaged file in one
 * commit does not hide the commit (its entry says what could not be read); "the previous build"
 * is the nearest commit along first parents whose d2.lock records a build.
 */
import {
  changedSections, countRelabels, describeChange, headlineDelta, headlineOf, isDataUnchanged, modelTestsSummary,
  type DataChange, type Headline, type HeadlineDelta, type ModelTestsSummary,
} from '../core/journal.js';
import { isOid } from '../core/safe-path.js';
import { compareStrings } from '../util/compare.js';
import { throwIfAborted } from '../errors/index.js';
import { logCommits, NoteIndex, type CommitInfo } from '../git/index.js';
import { diffLabelsText, LOCK_FILE, MANIFEST_FILE, type Lock } from '../manifest/index.js';
import type { RevisionFiles, RevisionReader } from './revision.js';

/** Whether a commit's d2.lock records a build of that commit. */
export type BuildState =
  /** d2.lock changed in this commit (or the commit is the first): a build of this state. */
  | 'new'
  /** d2.lock as in the parent, and neither data nor d2.yaml changed: still this state's build. */
  | 'same'
  /** d2.lock as in the parent, but data or d2.yaml changed: the build of an older state. */
  | 'stale'
  /** No d2.lock. */
  | 'none';

export interface JournalEntry {
  commit: string;
  message: string;
  author: { name: string; email: string };
  time: string;
  parents: string[];
  /** Items per source recorded in this commit. */
  sources: Record<string, { items: number; bytes: number; labelled: number; unlabelled: number }>;
  /** The model recorded in this commit's d2.lock (null when the commit has none). */
  model: { oid: string; preset: string; engine: string; metrics: Lock['metrics'] } | null;
  /** The commit's note (`d2 note`), or null. */
  note: string | null;
  /** Items in all sources. */
  items: number;
  labelled: number;
  /** Items with no label (never trained on): `items - labelled`. */
  unlabelled: number;
  /** What changed against the first parent, with a one-phrase `summary`. */
  change: DataChange & { summary: string };
  build: BuildState;
  /** Test (else validation) metrics of the d2.lock's build. */
  headline: Headline | null;
  /** Against the previous build (only for a `new` build that has one measured on the same split). */
  delta: HeadlineDelta | null;
  /** Model tests of the build; `broken`: failing now, passing in the previous build. */
  modelTests: ModelTestsSummary | null;
  /** Files of this commit that could not be read (the entry is partial). */
  problems: string[];
}

export interface JournalOptions {
  /** Commit to start from (resolved); default HEAD. */
  ref?: string;
  /** At most this many entries. */
  limit?: number;
  /**
   * Count relabels (default true): reads every changed labels file, the largest part of the
   * work on a long history; without it `change.relabels` is null.
   */
  relabels?: boolean;
  signal?: AbortSignal;
}

interface CommitFiles {
  files: RevisionFiles;
  problems: string[];
}

/** Read the journal of the commits reachable from `ref`, newest first. */
export async function readJournal(reader: RevisionReader, options: JournalOptions = {}): Promise<JournalEntry[]> {
  const commits = await logCommits(reader.repo, { ...(options.ref !== undefined ? { ref: options.ref } : {}), ...(options.limit ? { depth: options.limit } : {}) });
  for (const c of commits) reader.knowTree(c.oid, c.tree);
  const notes = await NoteIndex.read(reader.repo);
  const files = new Map<string, Promise<CommitFiles>>();
  const filesOf = (commit: string): Promise<CommitFiles> => {
    let f = files.get(commit);
    if (!f) {
      f = reader.at(commit).then((r) => ({ files: r, problems: r.lockProblems ?? [] }), (e: unknown) => ({
        files: { commit, snapshots: [] }, problems: [(e as Error).message],
      }));
      files.set(commit, f);
    }
    return f;
  };
  const parentOf = new Map<string, string | undefined>(commits.map((c) => [c.oid, c.parents[0]]));
  // The nearest commit, from `commit` back along first parents, whose d2.lock records a build.
  const nearestBuild = new Map<string, string | null>();
  const buildAtOrBefore = async (commit: string | undefined): Promise<string | null> => {
    const walked: string[] = [];
    let at = commit;
    let found: string | null = null;
    while (at !== undefined) {
      const known = nearestBuild.get(at);
      if (known !== undefined) {
        found = known;
        break;
      }
      walked.push(at);
      if ((await filesOf(at)).files.lock) {
        found = at;
        break;
      }
      if (!parentOf.has(at)) parentOf.set(at, await firstParent(reader, at));
      at = parentOf.get(at);
    }
    for (const w of walked) nearestBuild.set(w, found);
    return found;
  };

  const listings: ListingCache = new Map();
  const texts: TextCache = new Map();
  const out: JournalEntry[] = [];
  for (const c of commits) {
    throwIfAborted(options.signal);
    out.push(await entryOf(reader, c, filesOf, buildAtOrBefore, notes, options.relabels === false ? undefined : { listings, texts }));
  }
  return out;
}

async function firstParent(reader: RevisionReader, commit: string): Promise<string | undefined> {
  try {
    const [c] = await logCommits(reader.repo, { ref: commit, depth: 1 });
    return c?.parents[0];
  } catch {
    return undefined; // a shallow clone's missing parent
  }
}

async function entryOf(
  reader: RevisionReader,
  c: CommitInfo,
  filesOf: (commit: string) => Promise<CommitFiles>,
  buildAtOrBefore: (commit: string | undefined) => Promise<string | null>,
  notes: NoteIndex,
  caches: { listings: ListingCache; texts: TextCache } | undefined,
): Promise<JournalEntry> {
  const { files, problems } = await filesOf(c.oid);
  const parentOid = c.parents[0];
  const parent = parentOid !== undefined ? await filesOf(parentOid).catch(() => undefined) : undefined;
  const sources: JournalEntry['sources'] = {};
  for (const { name, snapshot } of files.snapshots) {
    sources[name] = { items: snapshot.items, bytes: snapshot.bytes, labelled: snapshot.labelled, unlabelled: Math.max(0, snapshot.items - snapshot.labelled) };
  }
  const items = Object.values(sources).reduce((n, s) => n + s.items, 0);
  const labelled = Object.values(sources).reduce((n, s) => n + s.labelled, 0);
  const unlabelled = Object.values(sources).reduce((n, s) => n + s.unlabelled, 0);
  const change = await changeOf(reader, files, parent?.files, caches);
  const lock = files.lock;
  const lockBlob = files.blobs?.root.get(LOCK_FILE);
  const parentLockBlob = parent?.files.blobs?.root.get(LOCK_FILE);
  const build: BuildState = !lock ? 'none' : !parent || lockBlob !== parentLockBlob ? 'new' : isDataUnchanged(change) ? 'same' : 'stale';
  const headline = lock ? headlineOf(lock.metrics) : null;
  let delta: HeadlineDelta | null = null;
  let modelTests: ModelTestsSummary | null = lock ? modelTestsSummary(lock.metrics, undefined) : null;
  if (build === 'new' && parentOid !== undefined) {
    const previous = await buildAtOrBefore(parentOid);
    if (previous !== null) {
      const before = (await filesOf(previous)).files.lock;
      delta = headlineDelta(headline, headlineOf(before?.metrics), previous);
      modelTests = modelTestsSummary(lock!.metrics, before?.metrics);
    }
  }
  const note = await notes.text(c.oid);
  return {
    commit: c.oid,
    message: c.message,
    author: { name: c.author.name, email: c.author.email },
    time: c.author.time,
    parents: c.parents,
    sources,
    model: lock ? { oid: lock.model.oid, preset: lock.model.preset, engine: lock.model.engine, metrics: lock.metrics } : null,
    note: note === undefined ? null : note.trimEnd(),
    items,
    labelled,
    unlabelled,
    change: { ...change, summary: describeChange(change, items, unlabelled) },
    build,
    headline,
    delta,
    modelTests,
    problems,
  };
}

/** What `files` changed against `parent` (its first parent's files; undefined for a root commit). */
/** Recently read blob texts by oid (a labels file is read as a commit's and then as its child's parent's). */
type TextCache = Map<string, string>;

async function textOf(reader: RevisionReader, oid: string, cache: TextCache): Promise<string> {
  let t = cache.get(oid);
  if (t === undefined) {
    t = await reader.blobText(oid);
    if (cache.size >= 4) cache.delete(cache.keys().next().value!);
    cache.set(oid, t);
  }
  return t;
}

/** Recently read listings by oid (consecutive commits share one: the child's is the parent's next). */
type ListingCache = Map<string, Buffer | undefined>;

function listingBytes(reader: RevisionReader, oid: string, cache: ListingCache): Buffer | undefined {
  if (!cache.has(oid)) {
    if (cache.size >= 4) cache.delete(cache.keys().next().value!);
    cache.set(oid, reader.project.store.has(oid) ? reader.project.store.read(oid) : undefined);
  }
  return cache.get(oid);
}

/**
 * The oid a listing's row gives `path`: a binary search over the rows (sorted by path), reading
 * only the rows it visits, so a lookup costs microseconds whatever the listing's size.
 */
function oidInListing(buf: Buffer, path: string): string | undefined {
  let lo = buf.indexOf(10) + 1;
  let hi = buf.length;
  while (lo > 0 && lo < hi) {
    const mid = (lo + hi) >>> 1;
    const start = buf.lastIndexOf(10, mid - 1) + 1;
    let end = buf.indexOf(10, start);
    if (end < 0) end = buf.length;
    const space = buf.indexOf(32, start + 65);
    if (buf[start + 64] !== 32 || space < 0 || space >= end) return undefined; // not a listing row: give up
    const raw = buf.toString('utf8', space + 1, end);
    let rowPath: unknown = raw;
    if (raw.startsWith('"')) {
      try {
        rowPath = JSON.parse(raw);
      } catch {
        return undefined;
      }
    }
    const order = compareStrings(path, String(rowPath));
    if (order === 0) {
      const oid = buf.toString('latin1', start, start + 64);
      return isOid(oid) ? oid : undefined;
    }
    if (order < 0) hi = start;
    else lo = end + 1;
  }
  return undefined;
}

/** Items moved (same content, path gone and path new) whose label changed. */
function movedRelabels(reader: RevisionReader, before: string, after: string, removed: ReadonlyMap<string, string>, added: ReadonlyMap<string, string>, cache: ListingCache): number {
  const a = listingBytes(reader, before, cache);
  const b = listingBytes(reader, after, cache);
  if (!a || !b) return 0;
  const gone = new Map<string, string[]>();
  for (const [path, label] of removed) {
    const oid = oidInListing(a, path);
    if (oid === undefined) continue;
    const list = gone.get(oid);
    if (list) list.push(label);
    else gone.set(oid, [label]);
  }
  let n = 0;
  for (const [path, label] of added) {
    const oid = oidInListing(b, path);
    const was = oid === undefined ? undefined : gone.get(oid)?.shift();
    if (was !== undefined && was !== label) n++;
  }
  return n;
}

/** What `files` changed against `parent`; relabels are counted only with `caches`. */
async function changeOf(reader: RevisionReader, files: RevisionFiles, parent: RevisionFiles | undefined, caches: { listings: ListingCache; texts: TextCache } | undefined): Promise<DataChange> {
  const now = new Map(files.snapshots.map((s) => [s.name, s.snapshot]));
  const hasD2 = (f: RevisionFiles | undefined): boolean => f !== undefined && (f.snapshots.length > 0 || f.blobs?.root.has(MANIFEST_FILE) === true);
  if (!hasD2(parent)) {
    return { first: true, items: 0, labelled: 0, unlabelled: 0, relabels: caches ? 0 : null, labelsChanged: false, sourcesAdded: [...now.keys()], sourcesRemoved: [], manifest: [] };
  }
  const before = new Map(parent!.snapshots.map((s) => [s.name, s.snapshot]));
  let items = 0;
  let labelled = 0;
  let relabels: number | null = caches ? 0 : null;
  let labelsChanged = false;
  for (const [name, s] of now) {
    const b = before.get(name);
    items += s.items - (b?.items ?? 0);
    labelled += s.labelled - (b?.labelled ?? 0);
    if (!b) continue;
    const file = `${name}.labels.csv`;
    const [blobA, blobB] = [parent!.blobs?.sources.get(file), files.blobs?.sources.get(file)];
    if (blobA === blobB) continue;
    labelsChanged = true;
    if (blobA === undefined || blobB === undefined || !caches || relabels === null) continue;
    const [ta, tb] = [await textOf(reader, blobA, caches.texts), await textOf(reader, blobB, caches.texts)];
    const d = diffLabelsText(ta, tb);
    if (!d) {
      // not in the committed plain form: parse both
      const [la, lb] = [await reader.labelsOf(parent!, name), await reader.labelsOf(files, name)];
      if (la && lb) relabels += countRelabels(la, lb);
      continue;
    }
    relabels += d.relabelled;
    // A moved item (ImageFolder users relabel by moving files) is a relabel too: the listings
    // (when this store has them) pair a path gone with a path new by content.
    if (d.removed.size && d.added.size && b.listing !== s.listing) relabels += movedRelabels(reader, b.listing, s.listing, d.removed, d.added, caches.listings);
  }
  for (const [name, b] of before) {
    if (now.has(name)) continue;
    items -= b.items;
    labelled -= b.labelled;
  }
  const sameManifest = files.blobs?.root.get(MANIFEST_FILE) === parent!.blobs?.root.get(MANIFEST_FILE);
  const manifest = sameManifest ? [] : changedSections(await reader.manifestOf(parent!), await reader.manifestOf(files));
  return {
    first: false, items, labelled, unlabelled: items - labelled, relabels, labelsChanged,
    sourcesAdded: [...now.keys()].filter((n) => !before.has(n)),
    sourcesRemoved: [...before.keys()].filter((n) => !now.has(n)),
    manifest,
  };
}
