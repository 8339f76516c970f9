/**
 * `d2 add`: record folders of raw files as sources. Walks each folder, stores every file's
 * content in the object store (once per distinct content), writes the source's listing object,
 * its snapshot and labels files under d2.sources/, declares the source in d2.yaml and keeps its
 * folder out of git.
 *
 * Invariants:
 * - All or nothing per source: problems found while walking or reading (unreadable files,
 *   broken links, links out of the project, files changing under us) abort before any
 *   committed file changes; objects already stored stay valid and are simply unreferenced.
 * - The snapshot is written only after every object it references is durable.
 * - Labels set by hand in d2.sources/<source>.labels.csv survive a re-add: for a 'dirname'
 *   source only files new to the source take their label from their folder.
 * - A source added with `unlabelled` (a pool to label later, `unlabelled: true` in d2.yaml)
 *   gets no label from anything but its labels file (`d2 label` writes it): never from folder
 *   names.
 * - A file whose stat matches the stat cache and whose object is in the store is not read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { diffFiles, diffLabels } from '../core/changes.js';
import { serializeListing, sortListing, type ListingEntry } from '../core/listing.js';
import type { CommonOptions } from '../core/progress.js';
import { InvalidArgument, PathNotFound, PathOutsideProject, SourceConflict, WalkFailed, throwIfAborted } from '../errors/index.js';
import {
  isTableSource, labelsPath, MANIFEST_FILE, serializeLabels, serializeSnapshot, setSourceInManifestText, snapshotPath,
  SNAPSHOT_FORMAT, SOURCE_NAME_PATTERN, type Labels, type Snapshot, type SourceDecl,
} from '../manifest/index.js';
import type { PutFileOptions } from '../store/index.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { isInside, relativePosix } from '../util/paths.js';
import { ensureGitignoreEntries, nowMs, StatCache, walk, type WalkProblem } from '../workspace/index.js';
import { readTableItems, tableText } from '../project/table-source.js';
import { loadManifest, openProject, withStoreLock, type Project } from '../project/project.js';
import { parseLabelsText, readListing, readWorkingSource, statCachePath } from '../project/sources.js';
import { checkOptions, COMMON_OPTIONS, withCaller } from './verb.js';

export interface AddOptions extends CommonOptions {
  /** Folders to add (relative to `dir`); a path inside a known source re-adds that source. */
  paths?: string[];
  /** Re-add every source declared in d2.yaml. */
  all?: boolean;
  /** Name of the source (default: the folder's name). Only with a single path. */
  source?: string;
  /** 'dirname' or the path of a CSV file (path,label), relative to `dir`. */
  labels?: string;
  /** Accept folders outside the project. */
  external?: boolean;
  /** Table sources (a .csv path): the column holding each row's label. */
  labelColumn?: string;
  /** Table sources: the column naming each row. */
  idColumn?: string;
  /**
   * Declare the source a pool to label later (`unlabelled: true` in d2.yaml): its items have no
   * label until `d2 label` gives them one, and `d2 data` does not warn that it has none. Not
   * with `labels` or `labelColumn`; labels already given to its items stay.
   */
  unlabelled?: boolean;
  /** Table sources: the column holding each row's text (the rows become text items). */
  textColumn?: string;
  lockTimeoutMs?: number;
  /** Test-only hooks into the store. */
  storeHooks?: PutFileOptions;
}

export interface SourceChangeCounts {
  added: number;
  modified: number;
  deleted: number;
  renamed: number;
  relabelled: number;
}

export interface AddedSource {
  source: string;
  path: string;
  labels: string | null;
  /** Declared a pool to label later (`unlabelled: true` in d2.yaml). */
  pool: boolean;
  items: number;
  bytes: number;
  labelled: number;
  unlabelled: number;
  listing: string;
  changes: SourceChangeCounts;
  /** Files whose content was read (the others matched the stat cache). */
  filesRead: number;
  objectsWritten: number;
  bytesWritten: number;
  hiddenSkipped: number;
  warnings: string[];
}

export interface AddResult {
  sources: AddedSource[];
  manifestUpdated: boolean;
  gitignoreEntries: string[];
}

const ADD_OPTIONS: Record<keyof AddOptions, true> = {
  ...COMMON_OPTIONS, paths: true, all: true, source: true, labels: true, external: true, labelColumn: true, idColumn: true, unlabelled: true, textColumn: true, lockTimeoutMs: true, storeHooks: true,
};

interface Target {
  name: string;
  decl: SourceDecl;
  abs: string;
}

const SLICE = 512;

export async function add(options: AddOptions): Promise<AddResult> {
  return withCaller('d2.add', async () => {
    checkOptions(options, ADD_OPTIONS, ['paths']);
    const cwd = path.resolve(options.dir ?? '.');
    const project = openProject(cwd);
    const targets = planTargets(project, cwd, options);

    let manifestText = project.manifestText;
    for (const t of targets) {
      const current = project.manifest.sources[t.name];
      if (!current || current.path !== t.decl.path || current.labels !== t.decl.labels || current.unlabelled !== t.decl.unlabelled
        || current.labelColumn !== t.decl.labelColumn || current.textColumn !== t.decl.textColumn || current.modality !== t.decl.modality) {
        manifestText = setSourceInManifestText(manifestText, t.name, t.decl);
      }
    }
    // Overlaps and the like, before any work; positions are in the d2.yaml add would write.
    if (manifestText !== project.manifestText) loadManifest(manifestText, `${MANIFEST_FILE} (as 'd2 add' would write it)`);

    return withStoreLock(project, 'd2 add', options, async () => {
      project.store.cleanTmp();
      const sources: AddedSource[] = [];
      for (const t of targets) sources.push(await addSource(project, t, options));
      const manifestUpdated = manifestText !== project.manifestText;
      if (manifestUpdated) writeFileAtomicSync(path.join(project.root, MANIFEST_FILE), manifestText);
      // A folder's entry ends in '/' (folders only); a table's must not, or git would still
      // see the file ('/data/houses.csv/' matches no file).
      const ignore = targets
        .filter((t) => isInside(project.root, t.abs))
        .map((t) => `/${relativePosix(project.root, t.abs)}${isTableSource(t.decl) ? '' : '/'}`);
      const gitignoreEntries = ensureGitignoreEntries(project.root, ignore);
      return { sources, manifestUpdated, gitignoreEntries };
    });
  });
}

function sanitizeName(base: string): string {
  const s = base.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 64);
  return s || 'data';
}

function planTargets(project: Project, cwd: string, options: AddOptions): Target[] {
  const declared = project.manifest.sources;
  const labelsRule = options.labels === undefined ? undefined
    : options.labels === 'dirname' ? 'dirname'
    : relativePosix(project.root, path.resolve(cwd, options.labels));
  if (options.labels !== undefined && labelsRule !== 'dirname') {
    if (!/\.csv$/i.test(options.labels)) {
      throw new InvalidArgument(`option 'labels' '${options.labels}': expected 'dirname' or a .csv file with columns path,label`);
    }
    if (!fs.existsSync(path.join(project.root, labelsRule!))) throw new PathNotFound(`labels file '${options.labels}' does not exist`, { data: { path: options.labels } });
  }
  if (options.unlabelled) {
    const clash = options.labels !== undefined ? 'labels' : options.labelColumn !== undefined ? 'labelColumn' : options.all ? 'all' : undefined;
    if (clash) {
      throw new InvalidArgument(`option 'unlabelled' adds a pool to label later: give it without option '${clash}'`, {
        data: { option: 'unlabelled' },
        hint: clash === 'all' ? 'give the folder of the one source to declare a pool: d2 add FOLDER --unlabelled' : "label its items later with 'd2 label' (after 'd2 suggest' says which first)",
      });
    }
  }
  if (options.source !== undefined && !SOURCE_NAME_PATTERN.test(options.source)) {
    throw new InvalidArgument(`invalid source name '${options.source}': use lower-case letters, digits, '.', '_' and '-'`, { hint: `for example option 'source' ${sanitizeName(options.source)}` });
  }
  const paths = options.paths ?? [];
  if (options.all) {
    if (paths.length) throw new InvalidArgument("give either option 'all' or paths, not both");
    const names = Object.keys(declared);
    if (names.length === 0) throw new InvalidArgument('no sources declared in d2.yaml yet', { hint: "add one with 'd2 add PATH --labels dirname'" });
    return names.map((name) => ({ name, decl: withLabels(declared[name]!, labelsRule, options), abs: path.resolve(project.root, declared[name]!.path) }));
  }
  if (paths.length === 0) throw new InvalidArgument('nothing to add: give a folder, or --all to re-add every source', { hint: 'd2 add data/images --labels dirname' });
  if (options.source !== undefined && paths.length > 1) throw new InvalidArgument("option 'source' names one source: give a single path with it");

  const targets = new Map<string, Target>();
  for (const p of paths) {
    const abs = path.resolve(cwd, p);
    let real: string;
    try {
      real = fs.realpathSync(abs);
    } catch {
      throw new PathNotFound(`path '${p}' does not exist`, { data: { path: p } });
    }
    // A path inside a declared source re-adds that source.
    const owner = Object.entries(declared).find(([, d]) => {
      const srcAbs = path.resolve(project.root, d.path);
      return isInside(srcAbs, abs) || isInside(srcAbs, real);
    });
    if (owner && (options.source === undefined || options.source === owner[0])) {
      const [name, decl] = owner;
      targets.set(name, { name, decl: withLabels(decl, labelsRule, options), abs: path.resolve(project.root, decl.path) });
      continue;
    }
    if (owner) {
      throw new SourceConflict(`'${p}' is in the folder of source '${owner[0]}' ('${owner[1].path}'): a folder belongs to one source`, {
        data: { source: owner[0], path: owner[1].path },
        hint: `re-add it as '${owner[0]}' (d2 add ${p}), or rename the source in d2.yaml and d2.sources/`,
      });
    }
    const table = isTableSource({ path: real });
    if (!fs.statSync(real).isDirectory() && !table) {
      throw new InvalidArgument(`'${p}' is a file: d2 adds folders (each becomes a source), or .csv files whose rows are items`, { hint: `add the folder that holds it: d2 add ${path.dirname(p) || '.'}` });
    }
    if (!table && options.textColumn !== undefined) {
      throw new InvalidArgument(`option 'textColumn' is for tables (a .csv or .jsonl file); '${p}' is a folder`, { hint: `a folder of .txt/.md files is added as text by itself: d2 add ${p} --labels dirname` });
    }
    if (table && options.labels !== undefined) {
      throw new InvalidArgument(`'${p}' is a table: its rows' labels come from a column`, { hint: `d2 add ${p} --label-column <column>` });
    }
    if (!options.external && !isInside(project.root, real)) {
      throw new PathOutsideProject(`'${p}' is outside the project '${project.root}'`, { data: { path: p, real }, hint: "add it explicitly with option 'external' if you mean it" });
    }
    if (isInside(real, project.root)) {
      throw new InvalidArgument(`'${p}' contains the project itself (d2.yaml, .d2/): give a folder of raw files`, { hint: 'for example: d2 add data/images' });
    }
    const name = options.source ?? sanitizeName(path.basename(real).replace(/\.csv$/i, ''));
    const taken = declared[name];
    if (taken) {
      throw new SourceConflict(`source '${name}' already exists for '${taken.path}'`, { data: { source: name, path: taken.path }, hint: `choose another name with option 'source', e.g. option 'source' ${name}-2` });
    }
    const recordPath = isInside(project.root, abs) ? relativePosix(project.root, abs) : abs;
    const decl: SourceDecl = { path: recordPath };
    if (options.unlabelled) decl.unlabelled = true;
    if (labelsRule !== undefined) decl.labels = labelsRule;
    if (options.labelColumn !== undefined) decl.labelColumn = options.labelColumn;
    if (options.idColumn !== undefined) decl.idColumn = options.idColumn;
    if (options.textColumn !== undefined) decl.textColumn = options.textColumn;
    if (!table && isTextFolder(real)) decl.modality = 'text';
    targets.set(name, { name, decl, abs });
  }
  return [...targets.values()];
}

/** A declared source as re-added: a labelling rule given now replaces the old, and ends a pool; `unlabelled` makes it one. */
function withLabels(decl: SourceDecl, rule: string | undefined, options: AddOptions = {}): SourceDecl {
  const out = rule === undefined ? { ...decl } : { ...decl, labels: rule };
  if (options.labelColumn !== undefined) out.labelColumn = options.labelColumn;
  if (options.idColumn !== undefined) out.idColumn = options.idColumn;
  if (rule !== undefined || options.labelColumn !== undefined) delete out.unlabelled;
  if (options.unlabelled) {
    delete out.labels;
    delete out.labelColumn;
    out.unlabelled = true;
  }
  if (options.textColumn !== undefined) out.textColumn = options.textColumn;
  return out;
}

/** Extensions of the text files a folder source of texts holds. */
export const TEXT_EXTENSIONS = new Set(['txt', 'md', 'markdown', 'text', 'rst']);

/** A folder whose files (hidden ones aside) are all text files by name, and at least one: a text source. */
function isTextFolder(dir: string): boolean {
  let names: string[];
  try {
    names = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name).filter((n) => !n.startsWith('.'));
  } catch {
    return false;
  }
  return names.length > 0 && names.every((n) => n.includes('.') && TEXT_EXTENSIONS.has(n.slice(n.lastIndexOf('.') + 1).toLowerCase()));
}

function problemsError(source: string, problems: WalkProblem[]): WalkFailed {
  const errors = problems.filter((p) => p.severity === 'error');
  const first = errors[0]!;
  return new WalkFailed(`source '${source}': ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more problems)` : ''}`, {
    data: { source, problems: errors },
    hint: 'fix or remove these files, then run the command again; nothing was recorded',
  });
}

async function addSource(project: Project, target: Target, options: AddOptions): Promise<AddedSource> {
  if (isTableSource(target.decl)) return addTableSource(project, target, options);
  const { name, decl, abs } = target;
  const store = project.store;
  const progress = options.onProgress;
  if (!fs.existsSync(abs)) {
    const recorded = readWorkingSource(project, name) !== undefined;
    throw new PathNotFound(`folder '${decl.path}' of source '${name}' does not exist`, {
      data: { source: name, path: decl.path },
      hint: recorded
        ? "run 'd2 pull' (a fresh clone has no data yet), or 'd2 restore' if its files are in .d2/"
        : `create it, or remove source '${name}' from d2.yaml`,
    });
  }

  const cacheFile = statCachePath(project, name);
  const cache = StatCache.read(cacheFile);
  progress?.({ phase: 'walk', loaded: 0, detail: { source: name } });
  const walked = await walk(abs, {
    projectRoot: project.root,
    external: options.external || !isInside(project.root, fs.realpathSync(abs)),
    signal: options.signal,
    expectedFiles: cache.size,
    onProgress: (n) => progress?.({ phase: 'walk', loaded: n, detail: { source: name } }),
  });
  const problems = [...walked.problems];
  if (problems.some((p) => p.severity === 'error')) throw problemsError(name, problems);

  const previous = readWorkingSource(project, name);
  // A listing lost from the store (fsck --repair, a partial copy) must not block re-adding.
  const previousListing = previous && store.has(previous.snapshot.listing) ? readListing(store, previous.snapshot.listing) : [];

  const batch = store.batch();
  const entries: ListingEntry[] = [];
  let filesRead = 0;
  let objectsWritten = 0;
  let bytesWritten = 0;
  try {
    const files = walked.files;
    for (let start = 0; start < files.length; start += SLICE) {
      throwIfAborted(options.signal);
      const end = Math.min(files.length, start + SLICE);
      for (let i = start; i < end; i++) {
        const f = files[i]!;
        const cached = cache.lookup(f);
        if (cached !== undefined && store.has(cached)) {
          entries.push({ path: f.path, oid: cached, size: f.size });
          continue;
        }
        let stored;
        try {
          stored = batch.putFile(f.abs, options.storeHooks);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EACCES' || code === 'EPERM' || code === 'ENOENT' || code === 'EISDIR' || code === 'EIO') {
            problems.push({ kind: 'unreadable', path: f.path, message: `cannot read '${f.path}': ${code}`, severity: 'error' });
            continue;
          }
          throw e;
        }
        filesRead++;
        if (stored.written) {
          objectsWritten++;
          bytesWritten += stored.size;
        }
        entries.push({ path: f.path, oid: stored.oid, size: stored.size });
        cache.set(f.path, { size: stored.size, mtimeMs: stored.stat.mtimeMs, ctimeMs: stored.stat.ctimeMs, ino: stored.stat.ino }, stored.oid);
      }
      progress?.({ phase: 'hash', loaded: end, total: files.length, detail: { source: name } });
      await new Promise((r) => setImmediate(r));
    }
    if (problems.some((p) => p.severity === 'error')) throw problemsError(name, problems);

    const listing = sortListing(entries);
    const { labels, warnings: labelWarnings } = deriveLabels(project, decl, listing, previous?.labels);
    const listingOid = batch.putBytes(serializeListing(listing));
    progress?.({ phase: 'flush', loaded: 0, total: batch.size, detail: { source: name } });
    throwIfAborted(options.signal);
    batch.commit();

    const bytes = listing.reduce((s, e) => s + e.size, 0);
    writeSourceFiles(project, { format: SNAPSHOT_FORMAT, source: name, listing: listingOid, items: listing.length, bytes, labelled: labels.size }, labels);

    cache.retain(new Set(listing.map((e) => e.path)));
    cache.setFolders(walked.folders, abs);
    cache.write(cacheFile, nowMs(), listingOid);

    return {
      source: name,
      path: decl.path,
      labels: decl.labels ?? null,
      pool: decl.unlabelled === true,
      items: listing.length,
      bytes,
      labelled: labels.size,
      unlabelled: listing.length - labels.size,
      listing: listingOid,
      changes: changeCounts(previousListing, previous?.labels, listing, labels),
      filesRead,
      objectsWritten,
      bytesWritten,
      hiddenSkipped: walked.hiddenSkipped,
      warnings: [...problems.map((p) => p.message), ...labelWarnings, ...[decl.modality === 'text' ? undefined : notImagesWarning(name, listing.map((e) => e.path))].filter((w): w is string => w !== undefined)],
    };
  } catch (e) {
    batch.abort();
    throw e;
  }
}

function writeSourceFiles(project: Project, snapshot: Snapshot, labels: Labels): void {
  fs.mkdirSync(path.join(project.root, path.dirname(snapshotPath(snapshot.source))), { recursive: true });
  writeFileAtomicSync(path.join(project.root, labelsPath(snapshot.source)), serializeLabels(labels));
  writeFileAtomicSync(path.join(project.root, snapshotPath(snapshot.source)), serializeSnapshot(snapshot));
}

function changeCounts(before: readonly ListingEntry[], beforeLabels: Labels | undefined, after: readonly ListingEntry[], afterLabels: Labels): SourceChangeCounts {
  const files = diffFiles(before, after);
  const old = new Set(before.map((e) => e.path));
  const common = after.filter((e) => old.has(e.path)).map((e) => e.path);
  const relabels = diffLabels(beforeLabels ?? new Map(), afterLabels, common, files.renamed);
  return { added: files.added.length, modified: files.modified.length, deleted: files.deleted.length, renamed: files.renamed.length, relabelled: relabels.length };
}

/** A table source: the CSV is stored as one object; its rows become the listing. */
async function addTableSource(project: Project, target: Target, options: AddOptions): Promise<AddedSource> {
  const { name, decl, abs } = target;
  const store = project.store;
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new PathNotFound(`table '${decl.path}' of source '${name}' does not exist`, { data: { source: name, path: decl.path } });
  }
  const cacheFile = statCachePath(project, name);
  const cache = StatCache.read(cacheFile);
  const file = { path: path.basename(abs), abs, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
  const batch = store.batch();
  try {
    let oid = cache.lookup(file);
    let written = 0;
    let read = 0;
    if (oid === undefined || !store.has(oid)) {
      const stored = batch.putFile(abs, options.storeHooks);
      oid = stored.oid;
      read = 1;
      if (stored.written) written = stored.size;
      cache.set(file.path, { size: stored.size, mtimeMs: stored.stat.mtimeMs, ctimeMs: stored.stat.ctimeMs, ino: stored.stat.ino }, oid);
    }
    options.onProgress?.({ phase: 'hash', loaded: 1, total: 1, detail: { source: name } });
    const text = tableText(batch.pendingBytes(oid) ?? store.read(oid), decl, decl.path);
    const items = readTableItems(text, decl, decl.path);
    const previous = readWorkingSource(project, name);
    const previousListing = previous && store.has(previous.snapshot.listing) ? readListing(store, previous.snapshot.listing) : [];
    const listingOid = batch.putBytes(serializeListing(items.entries));
    throwIfAborted(options.signal);
    batch.commit();
    const bytes = st.size;
    writeSourceFiles(project, { format: SNAPSHOT_FORMAT, source: name, listing: listingOid, items: items.entries.length, bytes, labelled: items.labels.size, table: oid, columns: items.columns }, items.labels);
    cache.retain(new Set([file.path]));
    cache.write(cacheFile, nowMs());
    const unlabelled = items.entries.length - items.labels.size;
    return {
      source: name,
      path: decl.path,
      labels: decl.labelColumn ? `column:${decl.labelColumn}` : null,
      pool: decl.unlabelled === true,
      items: items.entries.length,
      bytes,
      labelled: items.labels.size,
      unlabelled,
      listing: listingOid,
      changes: changeCounts(previousListing, previous?.labels, items.entries, items.labels),
      filesRead: read,
      objectsWritten: written ? 1 : 0,
      bytesWritten: written,
      hiddenSkipped: 0,
      warnings: unlabelled && decl.labelColumn ? [`${unlabelled} of ${items.entries.length} row(s) have an empty '${decl.labelColumn}'`] : [],
    };
  } catch (e) {
    batch.abort();
    throw e;
  }
}

function deriveLabels(project: Project, decl: SourceDecl, listing: readonly ListingEntry[], previous: Labels | undefined): { labels: Labels; warnings: string[] } {
  const labels: Labels = new Map();
  const warnings: string[] = [];
  if (decl.labels !== undefined && decl.labels !== 'dirname') {
    const file = decl.labels;
    const imported = parseLabelsText(fs.readFileSync(path.join(project.root, file), 'utf8'), file);
    const present = new Set(listing.map((e) => e.path));
    const strays = [...imported.keys()].filter((p) => !present.has(p));
    if (strays.length) warnings.push(`${strays.length} row(s) of '${file}' name files that are not in the source, e.g. '${strays[0]}'`);
    for (const e of listing) {
      const label = imported.get(e.path);
      if (label !== undefined) labels.set(e.path, label);
    }
  } else {
    let atRoot = 0;
    for (const e of listing) {
      const kept = previous?.get(e.path);
      if (kept !== undefined) {
        labels.set(e.path, kept);
        continue;
      }
      if (decl.labels === 'dirname') {
        const slash = e.path.lastIndexOf('/');
        if (slash < 0) { atRoot++; continue; }
        const parent = e.path.slice(0, slash);
        labels.set(e.path, parent.slice(parent.lastIndexOf('/') + 1));
      }
    }
    if (atRoot) warnings.push(`${atRoot} file(s) sit directly in the source folder, so 'dirname' gives them no label`);
  }
  // A pool to label later has unlabelled items by design: nothing to warn about.
  if (decl.unlabelled) return { labels, warnings };
  const unlabelled = listing.length - labels.size;
  if (unlabelled > 0 && listing.length > 0 && (decl.labels !== undefined || labels.size > 0)) warnings.push(`${unlabelled} of ${listing.length} item(s) have no label`);
  if (labels.size === 0 && listing.length > 0 && decl.labels === undefined) {
    // Unlabelled items are left out of the dataset: say so now, not at `d2 build`.
    const items = listing.length === 1 ? '1 item, not labelled' : `${listing.length} items, none labelled`;
    warnings.push(listing.some((e) => e.path.includes('/'))
      ? `${items}: did you mean 'd2 add ${decl.path} --labels dirname' (labels from folder names), or '--unlabelled' (a pool to label later)?`
      : `${items}: give labels with --labels FILE.csv (path,label), or edit d2.sources/<source>.labels.csv; a pool to label later: --unlabelled`);
  }
  return { labels, warnings };
}

/** Extensions of the image formats d2 reads (sharp's, and the portable decoders'). */
const IMAGE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'jpe', 'jfif', 'gif', 'webp', 'avif', 'heic', 'heif', 'tif', 'tiff', 'bmp', 'svg', 'jp2', 'jxl', 'pgm', 'ppm', 'pbm', 'pnm']);

/**
 * Files of an image source that are not images by name (README.txt, Thumbs.db): stored as
 * items, they would only fail at preprocessing. A warning with how to leave them out.
 */
function notImagesWarning(source: string, paths: readonly string[]): string | undefined {
  const odd = paths.filter((p) => !IMAGE_EXTENSIONS.has(p.slice(p.lastIndexOf('.') + 1).toLowerCase()) || !p.includes('.'));
  if (!odd.length) return undefined;
  const globs = [...new Set(odd.map((p) => {
    const base = p.slice(p.lastIndexOf('/') + 1);
    const dot = base.lastIndexOf('.');
    return `'${source}/**/${dot > 0 ? `*${base.slice(dot)}` : base}'`;
  }))].slice(0, 4);
  const names = odd.slice(0, 3).map((p) => p.slice(p.lastIndexOf('/') + 1)).join(', ');
  return `${odd.length} file(s) are not images and would fail preprocessing (${names}${odd.length > 3 ? ', …' : ''}): `
    + `delete them, or leave them out with 'dataset.filter.excludePaths: [${globs.join(', ')}]' in d2.yaml`;
}
