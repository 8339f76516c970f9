/**
 * Experiments: a variant of the working tree — d2.yaml with some `--set` changes applied in
 * memory — built and recorded without a commit (docs/experiments.md). An experiment is a git
 * tree named by `refs/d2/exps/<name>`, laid out like a commit of the project:
 *
 *   <project folder>/d2.exp.json    the record: parent, change (as structure), dataset, build, metrics, note
 *   <project folder>/d2.yaml        d2.yaml with the change applied
 *   <project folder>/d2.lock        the lock of its build (as `d2 build` would write it)
 *   <project folder>/d2.sources/…   the sources' snapshots and labels it was built on
 *   <project folder>/<modelTests>   the model tests file, when d2.yaml names one
 *
 * so the revision reader reads it like a commit (`d2 diff HEAD NAME`), `git push`/`git fetch`
 * carry it (git/sharing.ts), and `d2 gc`, `d2 push --exps`, `d2 pull --exps` walk its objects.
 *
 * Invariants: running an experiment writes nothing to the working tree; a record read from the
 * repository is untrusted (it may come from a fetch): every oid is checked before use; an
 * experiment's name is a plain ref segment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { headlineDelta, headlineOf, modelTestsSummary, type Headline, type HeadlineDelta, type ModelTestsSummary } from '../core/journal.js';
import { isOid } from '../core/safe-path.js';
import { ExperimentExists, ExperimentNotFound, InvalidArgument, ManifestInvalid, ObjectCorrupt } from '../errors/index.js';
import {
  blobOidsAtCommit, deleteRecordRef, EXPS_REF_PREFIX, hashBlob, isRecordName, listRecordRefs, resolveRecordRef, setRecordRef, writeFilesTree,
} from '../git/index.js';
import {
  applySettings, formatIssue, parseSetting, LOCK_FILE, MANIFEST_FILE, serializeLock, SOURCES_DIR, type AppliedSetting, type Manifest, type ManifestSetting,
} from '../manifest/index.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import type { BuildMetrics, FoundBuild } from './builds.js';
import { lockOf } from './lock-writer.js';
import type { PreparedData } from './prepared.js';
import type { Project } from './project.js';
import { readWorkingText, type RevisionReader } from './revision.js';

export const EXP_RECORD_FILE = 'd2.exp.json';

/** What `d2.exp.json` holds (format 1). */
export interface ExpRecord {
  format: 1;
  kind: 'd2-experiment';
  name: string;
  /** ISO-8601 UTC. */
  created: string;
  /** HEAD when it ran (null before the first commit). */
  parent: string | null;
  /** The working tree's d2.yaml, sources or model tests differed from the parent's. */
  dirty: boolean;
  note: string | null;
  /** The change to d2.yaml, as `--set` gave it, with the value each key had. */
  settings: AppliedSetting[];
  /** The dataset's oid. */
  dataset: string;
  items: number;
  build: { key: string; record: string; model: string; preset: string; engine: string };
  metrics: BuildMetrics;
}

/** An experiment as `d2 exp list`/`show` report it: its record and its metrics against the parent's build. */
export interface ExpEntry extends ExpRecord {
  /** Test (else validation) metrics. */
  headline: Headline | null;
  /** Against the build of the parent commit's d2.lock. */
  delta: HeadlineDelta | null;
  modelTests: ModelTestsSummary | null;
}

/** d2.yaml with the settings applied, checked: ManifestInvalid naming each bad setting. */
export function planSettings(project: Project, settings: readonly ManifestSetting[]): { manifest: Manifest; manifestText: string; applied: AppliedSetting[] } {
  return applyOrThrow(project.manifestText, settings);
}

function applyOrThrow(text: string, settings: readonly ManifestSetting[]): { manifest: Manifest; manifestText: string; applied: AppliedSetting[] } {
  const r = applySettings(text, settings);
  if (r.manifest && !r.issues.length) return { manifest: r.manifest, manifestText: r.text, applied: r.applied };
  const lines = r.issues.map((i) => (i.line !== undefined ? formatIssue(MANIFEST_FILE, i) : i.message));
  throw new ManifestInvalid(lines.length > 1 ? `${lines[0]} (and ${lines.length - 1} more)` : lines[0]!, {
    data: { file: MANIFEST_FILE, option: 'set', issues: r.issues.map((i) => ({ file: MANIFEST_FILE, ...i })) },
    hint: 'every key of d2.yaml is described in docs/manifest.md',
  });
}

/** Parse `KEY=VALUE` strings (ManifestInvalid listing every one that is not). */
export function parseSettings(args: readonly (string | ManifestSetting)[]): ManifestSetting[] {
  const out: ManifestSetting[] = [];
  const issues: { path: string; message: string }[] = [];
  for (const a of args) {
    if (typeof a !== 'string') out.push(a);
    else {
      const r = parseSetting(a);
      if (r.setting) out.push(r.setting);
      else issues.push({ ...r.issue!, message: `option 'set' ${r.issue!.message}` });
    }
  }
  if (issues.length) {
    throw new ManifestInvalid(issues.length > 1 ? `${issues[0]!.message} (and ${issues.length - 1} more)` : issues[0]!.message, { data: { file: MANIFEST_FILE, option: 'set', issues } });
  }
  return out;
}

/** The working files an experiment records (project-relative path → text). */
function workingFiles(project: Project, manifest: Manifest, manifestText: string): Map<string, string> {
  const files = new Map<string, string>([[MANIFEST_FILE, manifestText]]);
  const dir = path.join(project.root, SOURCES_DIR);
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.yaml') || n.endsWith('.labels.csv')).sort();
  } catch {
    // no source added yet
  }
  for (const n of names) files.set(`${SOURCES_DIR}/${n}`, fs.readFileSync(path.join(dir, n), 'utf8'));
  const tests = manifest.dataset.modelTests;
  if (tests) {
    const text = readWorkingText(project, tests);
    if (text !== undefined) files.set(tests, text);
  }
  return files;
}

/** True when the working tree's d2 files (with the original d2.yaml) differ from the parent commit's. */
async function isDirty(reader: RevisionReader, parent: string | null, files: ReadonlyMap<string, string>, originalManifest: string): Promise<boolean> {
  if (parent === null) return true;
  const folders = new Map<string, Map<string, string>>();
  const committed = async (rel: string): Promise<string | undefined> => {
    const dir = path.posix.dirname(rel);
    let oids = folders.get(dir);
    if (!oids) folders.set(dir, (oids = await blobOidsAtCommit(reader.repo, parent, reader.gitPath(dir === '.' ? '' : dir))));
    return oids.get(path.posix.basename(rel));
  };
  for (const [rel, text] of files) {
    if ((await hashBlob(rel === MANIFEST_FILE ? originalManifest : text)) !== (await committed(rel))) return true;
  }
  // a source file deleted since the parent
  const committedSources = await blobOidsAtCommit(reader.repo, parent, reader.gitPath(SOURCES_DIR));
  for (const name of committedSources.keys()) if (!files.has(`${SOURCES_DIR}/${name}`)) return true;
  return false;
}

export interface RecordOptions {
  name?: string;
  note?: string;
  /** Replace an experiment of that name whatever it records. */
  force?: boolean;
  now?: Date;
}

/** Record an experiment built from `prepared` (the working tree with its change). */
export async function recordExperiment(
  project: Project,
  reader: RevisionReader,
  prepared: PreparedData,
  applied: AppliedSetting[],
  build: FoundBuild,
  options: RecordOptions,
): Promise<{ record: ExpRecord; replaced: boolean }> {
  const parent = (await reader.head()) ?? null;
  const b = build.build;
  const settings = applied.map((s) => ({ key: s.key, value: s.value, previous: s.previous }));
  const identity = sha256Hex(canonicalJson({ parent, settings: settings.map((s) => [s.key, s.value]), dataset: prepared.datasetOid, build: b.key }));
  const name = options.name ?? `exp-${identity.slice(0, 7)}`;
  if (!isRecordName(name)) throw new InvalidArgument(`'${name}' is not a usable experiment name: use letters, digits, '.', '_' and '-'`, { data: { option: 'name', name } });
  const existing = await readExperimentOrUndefined(reader, name);
  if (existing && !options.force && options.name !== undefined) {
    const same = existing.record.parent === parent && existing.record.dataset === prepared.datasetOid && existing.record.build.key === b.key;
    if (!same) {
      throw new ExperimentExists(`experiment '${name}' exists (another change or data)`, {
        data: { name }, hint: `pick another name, or replace it with option 'force'`,
      });
    }
  }
  const files = workingFiles(project, prepared.state.manifest, prepared.state.manifestText);
  const dirty = await isDirty(reader, parent, files, project.manifestText);
  const record: ExpRecord = {
    format: 1,
    kind: 'd2-experiment',
    name,
    created: (options.now ?? new Date()).toISOString(),
    parent,
    dirty,
    note: options.note?.trim() ? options.note.trim() : (existing?.record.note ?? null),
    settings,
    dataset: prepared.datasetOid,
    items: prepared.resolved.items.length,
    build: { key: b.key, record: build.oid, model: b.model, preset: b.preset, engine: b.engine },
    metrics: b.metrics,
  };
  files.set(LOCK_FILE, serializeLock(lockOf(b, build.oid)));
  files.set(EXP_RECORD_FILE, `${JSON.stringify(record, null, 2)}\n`);
  const tree = await writeFilesTree(reader.repo, new Map([...files].map(([rel, text]) => [reader.gitPath(rel), text])));
  await setRecordRef(reader.repo, EXPS_REF_PREFIX, name, tree);
  return { record, replaced: existing !== undefined };
}

/** A record's text, checked: it may have come from a fetch, so every oid is checked before use. */
export function parseExpRecord(text: string, name: string): ExpRecord {
  let raw: Partial<ExpRecord>;
  try {
    raw = JSON.parse(text) as Partial<ExpRecord>;
  } catch (e) {
    throw new ObjectCorrupt(`experiment '${name}': ${EXP_RECORD_FILE} is not JSON: ${(e as Error).message}`, { data: { name } });
  }
  const bad: string[] = [];
  if (!raw || typeof raw !== 'object' || raw.kind !== 'd2-experiment' || raw.format !== 1) bad.push('not a d2-experiment record');
  if (!isOid(raw?.dataset)) bad.push("'dataset' is not an oid");
  for (const f of ['key', 'record', 'model'] as const) if (!isOid(raw?.build?.[f])) bad.push(`'build.${f}' is not an oid`);
  if (raw?.parent !== null && !(typeof raw?.parent === 'string' && /^[0-9a-f]{40}$/.test(raw.parent))) bad.push("'parent' is not a commit");
  if (!Array.isArray(raw?.settings) || !raw.settings.every((s) => s && typeof s.key === 'string')) bad.push("'settings' is not a list of changes");
  if (bad.length) {
    throw new ObjectCorrupt(`experiment '${name}' is damaged or crafted: ${bad.join('; ')}`, { data: { name, problems: bad }, hint: `remove it with 'd2 exp remove ${name}'` });
  }
  const r = raw as ExpRecord;
  return { ...r, name, note: typeof r.note === 'string' ? r.note : null, dirty: r.dirty === true, items: Number(r.items) || 0, metrics: r.metrics ?? {} };
}

async function readExperimentOrUndefined(reader: RevisionReader, name: string): Promise<{ tree: string; record: ExpRecord } | undefined> {
  const tree = await resolveRecordRef(reader.repo, EXPS_REF_PREFIX, name);
  if (tree === undefined) return undefined;
  const text = await reader.readText(tree, EXP_RECORD_FILE);
  if (text === undefined) throw new ObjectCorrupt(`experiment '${name}' has no ${EXP_RECORD_FILE}`, { data: { name }, hint: `remove it with 'd2 exp remove ${name}'` });
  return { tree, record: parseExpRecord(text, name) };
}

/** The experiment called `name`, or ExperimentNotFound listing the known ones. */
export async function readExperiment(reader: RevisionReader, name: string): Promise<{ tree: string; record: ExpRecord }> {
  const found = await readExperimentOrUndefined(reader, name);
  if (found) return found;
  const known = [...(await listRecordRefs(reader.repo, EXPS_REF_PREFIX)).keys()];
  throw new ExperimentNotFound(`no experiment '${name}'`, {
    data: { name, known: known.slice(0, 50) },
    hint: known.length ? "see 'd2 exp list'" : "run one with 'd2 exp run --set KEY=VALUE'",
  });
}

/** Every experiment's record (damaged ones are reported in `problems`, not thrown). */
export async function listExperiments(reader: RevisionReader): Promise<{ records: ExpRecord[]; problems: string[] }> {
  const records: ExpRecord[] = [];
  const problems: string[] = [];
  for (const name of (await listRecordRefs(reader.repo, EXPS_REF_PREFIX)).keys()) {
    try {
      const r = await readExperimentOrUndefined(reader, name);
      if (r) records.push(r.record);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return { records, problems };
}

/** A record with its metrics against its parent commit's build. */
export async function experimentEntry(reader: RevisionReader, record: ExpRecord): Promise<ExpEntry> {
  const parentLock = record.parent ? await reader.lockAt(record.parent).catch(() => undefined) : undefined;
  const headline = headlineOf(record.metrics);
  return {
    ...record,
    headline,
    delta: parentLock && record.parent ? headlineDelta(headline, headlineOf(parentLock.metrics), record.parent) : null,
    modelTests: modelTestsSummary(record.metrics, parentLock?.metrics),
  };
}

/** Apply an experiment's change to a d2.yaml text (comments kept); ManifestInvalid when it no longer applies. */
export function applyExperiment(manifestText: string, record: ExpRecord): { manifest: Manifest; manifestText: string; applied: AppliedSetting[] } {
  return applyOrThrow(manifestText, record.settings.map((s) => ({ key: s.key, value: s.value })));
}

/** Remove an experiment's ref (its objects stay in the store until `d2 gc --prune`). */
export async function removeExperiment(reader: RevisionReader, name: string): Promise<boolean> {
  return deleteRecordRef(reader.repo, EXPS_REF_PREFIX, name);
}

/** Names of every experiment. */
export async function experimentNames(reader: RevisionReader): Promise<string[]> {
  return [...(await listRecordRefs(reader.repo, EXPS_REF_PREFIX)).keys()];
}
