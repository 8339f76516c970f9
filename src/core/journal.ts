/**
 * The research journal's pure parts: what a commit changed in the data, said in one phrase;
 * the headline metrics of a d2.lock; the change of those metrics from the previous build; the
 * model tests a build newly breaks. `d2 log` and `d2 exp list` compute these per revision and
 * any renderer (text, Markdown, JSON) draws them.
 *
 * Pure: values in, values out; no I/O, no clock.
 */
import { canonicalJson } from '../util/canonical-json.js';

/** The d2.lock metrics this module reads (structurally the lock's `metrics`). */
export interface LockMetrics {
  validation?: { count: number; accuracy: number; macroF1: number } | undefined;
  test?: { count: number; accuracy: number; macroF1: number } | undefined;
  modelTests?: { count: number; passed: number; failed: string[] } | undefined;
}

/** A build's headline: test-split metrics, or validation when the test split is empty. */
export interface Headline {
  set: 'test' | 'validation';
  count: number;
  accuracy: number;
  macroF1: number;
}

export function headlineOf(m: LockMetrics | undefined): Headline | null {
  const s = m?.test ?? m?.validation;
  if (!s) return null;
  return { set: m?.test ? 'test' : 'validation', count: s.count, accuracy: s.accuracy, macroF1: s.macroF1 };
}

/** The change from an earlier headline (null when they are not measured on the same split). */
export interface HeadlineDelta {
  /** The revision (commit oid) the delta is against. */
  against: string;
  accuracy: number;
  macroF1: number;
}

export function headlineDelta(now: Headline | null, before: Headline | null, against: string): HeadlineDelta | null {
  if (!now || !before || now.set !== before.set) return null;
  return { against, accuracy: now.accuracy - before.accuracy, macroF1: now.macroF1 - before.macroF1 };
}

/** Model tests of a build: `broken` are those failing now that did not fail in the previous build. */
export interface ModelTestsSummary {
  count: number;
  passed: number;
  failed: string[];
  broken: string[];
}

export function modelTestsSummary(now: LockMetrics | undefined, before: LockMetrics | undefined): ModelTestsSummary | null {
  const t = now?.modelTests;
  if (!t) return null;
  const was = new Set(before?.modelTests?.failed ?? []);
  return { count: t.count, passed: t.passed, failed: t.failed, broken: before?.modelTests ? t.failed.filter((f) => !was.has(f)) : [] };
}

/** The manifest sections a journal entry names when they change. */
export const MANIFEST_SECTIONS = ['sources', 'dataset', 'preprocess', 'model'] as const;
export type ManifestSection = (typeof MANIFEST_SECTIONS)[number];

/** Sections whose resolved values differ (a missing manifest differs in every section the other has). */
export function changedSections(before: Readonly<Record<ManifestSection, unknown>> | undefined, after: Readonly<Record<ManifestSection, unknown>> | undefined): ManifestSection[] {
  if (!before && !after) return [];
  return MANIFEST_SECTIONS.filter((k) => canonicalJson(before?.[k] ?? null) !== canonicalJson(after?.[k] ?? null));
}

/** Items whose label differs between two label maps (items on one side only are not relabels). */
export function countRelabels(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): number {
  let n = 0;
  const [small, large] = before.size <= after.size ? [before, after] : [after, before];
  for (const [path, label] of small) {
    const other = large.get(path);
    if (other !== undefined && other !== label) n++;
  }
  return n;
}

/** What a revision changed in the data and settings, against its first parent. */
export interface DataChange {
  /** No parent with d2's files: everything is new. */
  first: boolean;
  /** Net change in the number of items (all sources). */
  items: number;
  /** Net change in the number of labelled items. */
  labelled: number;
  /** Net change in the number of unlabelled items (`items - labelled`): a pool added, or labelled. */
  unlabelled: number;
  /** Items present on both sides whose label changed (null: not counted, see `d2 log --metrics`). */
  relabels: number | null;
  /** A source's committed labels file changed (known even when relabels are not counted). */
  labelsChanged: boolean;
  sourcesAdded: string[];
  sourcesRemoved: string[];
  /** d2.yaml sections whose values changed. */
  manifest: ManifestSection[];
}

export function isDataUnchanged(c: DataChange): boolean {
  return !c.first && c.items === 0 && c.labelled === 0 && !c.relabels && !c.labelsChanged && c.sourcesAdded.length === 0 && c.sourcesRemoved.length === 0 && c.manifest.length === 0;
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : `${n}`;
}

const SECTION_WORDS: Record<ManifestSection, string> = { sources: 'sources', dataset: 'dataset', preprocess: 'preprocessing', model: 'model' };

/** One phrase: '+120 items, 40 relabels, model section changed'; '+500 items, +500 unlabelled'. */
export function describeChange(c: DataChange, totalItems: number, totalUnlabelled = 0): string {
  if (c.first) return totalItems ? `first data: ${totalItems} item${totalItems === 1 ? '' : 's'}${totalUnlabelled ? `, ${totalUnlabelled} unlabelled` : ''}` : 'no data yet';
  const parts: string[] = [];
  const quote = (names: string[]): string => names.map((n) => `'${n}'`).join(', ');
  if (c.sourcesAdded.length) parts.push(`new source${c.sourcesAdded.length > 1 ? 's' : ''} ${quote(c.sourcesAdded)}`);
  if (c.sourcesRemoved.length) parts.push(`removed source${c.sourcesRemoved.length > 1 ? 's' : ''} ${quote(c.sourcesRemoved)}`);
  if (c.items) parts.push(`${signed(c.items)} item${Math.abs(c.items) === 1 ? '' : 's'}`);
  if (c.labelled !== c.items && c.labelled) parts.push(`${signed(c.labelled)} labelled`);
  if (c.unlabelled) parts.push(`${signed(c.unlabelled)} unlabelled`);
  if (c.relabels) parts.push(`${c.relabels} relabel${c.relabels === 1 ? '' : 's'}`);
  else if (c.relabels === null && c.labelsChanged && !c.items && !c.labelled) parts.push('labels changed');
  const sections = c.manifest.filter((s) => s !== 'sources' || !(c.sourcesAdded.length || c.sourcesRemoved.length));
  if (sections.length) {
    const words = sections.map((s) => SECTION_WORDS[s]);
    const list = words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}` : words[0]!;
    parts.push(`${list} section${words.length > 1 ? 's' : ''} changed`);
  }
  return parts.length ? parts.join(', ') : 'no data change';
}
