/**
 * `d2 report [REV | A..B]`: the model's behaviour as pictures — one self-contained HTML page
 * (headline metrics, per-class figures, the confusion matrix with its items, flips, the
 * feature-space map with thumbnails) for one revision's model or two compared, and, with
 * `markdown`, a compact Markdown summary for a pull-request comment.
 *
 * The data comes from the reports service (project/report.ts: the same comparison as
 * `d2 diff`, feature vectors and thumbnails cached by content); the page from src/html; the
 * Markdown from core/report-markdown.ts.
 *
 * Invariants:
 * - The page is written atomically (a reader never sees half a report), at `out` (default
 *   `report.html` in the project's root); nothing else in the working tree is touched.
 * - The page opens offline from disk: every script, style and picture is inside it.
 * - With `failOn`, the result's `checks` are `d2 diff`'s for the same revisions.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseFailOn, type FailCheck, type FailRule } from '../core/fail-on.js';
import type { Delta } from '../core/behaviour-diff.js';
import type { MapMethod } from '../core/projection.js';
import { REPORT_SCHEMA } from '../core/report-data.js';
import { MARKDOWN_LIMIT, renderReportMarkdown } from '../core/report-markdown.js';
import { parseRange } from '../core/revision-range.js';
import type { EngineRequest } from '../engine/engines.js';
import { InvalidArgument } from '../errors/index.js';
import { renderReportPage } from '../html/index.js';
import { makeReport } from '../project/report.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { VERSION } from '../util/version.js';
import { runVerb, type VerbOptions } from './verb.js';

export { REPORT_SCHEMA, MARKDOWN_LIMIT };

export const MAP_METHODS: readonly MapMethod[] = ['pca', 'umap'];

export interface ReportOptions extends VerbOptions {
  /** A revision (its model's report; default: the working tree's), or 'A..B' (two models compared). */
  rev?: string;
  /** The new side of a comparison, when `rev` is the old one (instead of 'A..B'). */
  b?: string;
  /** Where to write the page (default 'report.html'; a relative path is taken from the project's root). */
  out?: string;
  /** Also return the Markdown summary (`markdown` in the result). */
  markdown?: boolean;
  /** A link to the page, for the Markdown (a CI run's artifacts, say). */
  link?: string;
  /** Comparisons: evaluate on this revision's test split and model tests (default: B's). */
  on?: string;
  /** Build a side that has no model (d2.lock is not written). */
  build?: boolean;
  engine?: EngineRequest;
  /** The feature-space map: 'pca' (default) or 'umap' (slower, cached). */
  map?: MapMethod;
  /** Comparisons: thresholds to check, as `d2 diff --fail-on` (the result's `checks`). */
  failOn?: string | readonly FailRule[];
}

export interface ReportModelSummary {
  name: string;
  rev: string | null;
  commit: string | null;
  oid: string;
  accuracy: number;
  macroF1: number;
  modelTests: { count: number; passed: number };
  /** Items the model could not be run on. */
  failedCount: number;
}

export interface ReportResult {
  schema: typeof REPORT_SCHEMA;
  kind: 'build' | 'diff';
  /** The page, as an absolute path. */
  out: string;
  bytes: number;
  evaluatedOn: { rev: string | null; commit: string | null; items: number; modelTests: number };
  models: ReportModelSummary[];
  /** Comparisons: the headline changes. */
  diff?: { accuracy: Delta; macroF1: Delta; fixed: number; broken: number; brokenModelTests: number; pValue: number };
  maps: { model: string; method: MapMethod; points: number; seconds: number; cached: boolean }[];
  thumbnails: { items: number; drawn: number };
  checks?: FailCheck[];
  /**
   * `d2 review`'s label suspects of the reported revision (a diff's: B), as the page shows
   * them: `review` is the stored review's oid, null when none was computed for that revision's
   * data (`command` computes it).
   */
  suspects: { rev: string | null; review: string | null; command: string; total: number; listed: number; kept: number };
  /** The Markdown summary (with `markdown`). */
  markdown?: string;
}

/**
 * Write the report page of a revision's model, or of two revisions' models compared.
 *
 * @example
 * const r = await report({ dir: 'my-dataset', rev: 'HEAD~1..HEAD', out: 'report.html', markdown: true });
 * console.log(r.out, r.diff?.accuracy.delta, r.markdown);
 */
export async function report(options: ReportOptions = {}): Promise<ReportResult> {
  const map = options.map ?? 'pca';
  if (!MAP_METHODS.includes(map)) throw new InvalidArgument(`option 'map' must be one of ${MAP_METHODS.join(', ')}, not '${String(map)}'`, { data: { option: 'map' } });
  const range = options.rev !== undefined ? parseRange(options.rev) : undefined;
  if (range && options.b !== undefined) throw new InvalidArgument(`give either a range ('${options.rev}') or two revisions, not both`, { data: { option: 'b' } });
  const pair = range ? { a: range.from, b: range.to } : options.b !== undefined ? { a: options.rev ?? 'HEAD', b: options.b } : undefined;
  const rules = typeof options.failOn === 'string' ? parseFailOn(options.failOn) : options.failOn;
  if (rules && !pair) throw new InvalidArgument("option 'failOn' compares two models: give a range 'A..B'", { data: { option: 'failOn' } });
  if (options.on !== undefined && !pair) throw new InvalidArgument("option 'on' applies to a comparison: give a range 'A..B'", { data: { option: 'on' } });
  return runVerb('d2.report', options, { lock: 'd2 report' }, async (project) => {
    const made = await makeReport(project, {
      ...(pair ? { range: pair } : options.rev !== undefined ? { rev: options.rev } : {}),
      ...(options.on !== undefined ? { on: options.on } : {}),
      ...(options.engine ? { engine: options.engine } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(rules ? { failOn: rules } : {}),
      build: options.build === true, map, version: VERSION,
    });
    const out = path.resolve(project.root, options.out ?? 'report.html');
    options.onProgress?.({ phase: 'write', loaded: 0, total: 1 });
    const html = renderReportPage(made.data);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    writeFileAtomicSync(out, html);
    options.onProgress?.({ phase: 'write', loaded: 1, total: 1 });
    const { data } = made;
    const result: ReportResult = {
      schema: REPORT_SCHEMA,
      kind: data.kind,
      out,
      bytes: Buffer.byteLength(html),
      evaluatedOn: data.evaluatedOn,
      models: data.models.map((m) => ({
        name: m.name, rev: m.rev, commit: m.commit, oid: m.oid, accuracy: m.metrics.accuracy, macroF1: m.metrics.macroF1,
        modelTests: m.metrics.modelTests, failedCount: m.failedCount,
      })),
      maps: made.maps,
      thumbnails: { items: data.thumbs.length, drawn: made.thumbnailsDrawn },
      suspects: {
        rev: data.suspects!.rev, review: data.suspects!.review?.oid ?? null, command: data.suspects!.command,
        total: data.suspects!.review?.total ?? 0, listed: data.suspects!.review?.suspects.length ?? 0, kept: data.suspects!.review?.kept ?? 0,
      },
    };
    if (data.diff) {
      const d = data.diff;
      result.diff = { accuracy: d.accuracy, macroF1: d.macroF1, fixed: d.fixed.length, broken: d.broken.length, brokenModelTests: d.modelTests.broken.length, pValue: d.significance.pValue };
    }
    if (data.checks) result.checks = data.checks;
    if (options.markdown) {
      const rel = path.relative(project.root, out);
      result.markdown = renderReportMarkdown(data, { ...(options.link ? { link: options.link } : {}), htmlPath: rel.startsWith('..') ? out : rel.split(path.sep).join('/') });
    }
    return result;
  });
}
