/**
 * The report as Markdown, for a pull-request comment (`d2 report --md`): headline metrics
 * with deltas, `--fail-on` checks, broken model tests, per-class figures, the top flips, the
 * data changes, `d2 review`'s top label suspects (or the command that computes them), and
 * where the full HTML report is. Pure: a function of the report's data.
 *
 * Invariants:
 * - Starts with `REPORT_MARKER`, a hidden HTML comment by which CI finds its own comment and
 *   updates it in place instead of adding one per push.
 * - At most `MARKDOWN_LIMIT` characters (GitHub refuses comments over 65,536): lists are cut
 *   first (flips and suspects, then classes), each cut said in the text; paths are shortened to
 *   `PATH_CHARS`.
 * - Text from the repository (paths, labels) is escaped, so a file name cannot break the
 *   tables or inject markup.
 */
import type { ReportData } from './report-data.js';

export const REPORT_MARKER = '<!-- d2-report -->';
export const MARKDOWN_LIMIT = 65_000;
const PATH_CHARS = 100;

export interface MarkdownOptions {
  /** A link to the full HTML report (a CI run's artifacts, say). */
  link?: string;
  /** Where the HTML report was written (shown when there is no link). */
  htmlPath?: string;
  /** Flips listed per kind (default 10). */
  flips?: number;
}

/** Markdown-special characters escaped (for labels and other short text in tables). */
export function mdText(s: string): string {
  return s.replace(/[\\`*_{}[\]()<>#+!|~]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

/** A code span that survives backticks and pipes in the text (and is cut to `max` characters). */
export function mdCode(s: string, max = PATH_CHARS): string {
  const cut = s.length > max ? `…${s.slice(s.length - max + 1)}` : s;
  const text = cut.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
  const fence = text.includes('`') ? '``' : '`';
  return `${fence}${fence.length > 1 ? ' ' : ''}${text}${fence.length > 1 ? ' ' : ''}${fence}`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

function pts(d: number): string {
  const v = (d * 100).toFixed(2);
  return `${d > 0 ? '+' : d < 0 ? '' : '±'}${v === '-0.00' ? '0.00' : v} pts`;
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : n < 0 ? `${n}` : '±0';
}

function short(oid: string | null): string {
  return oid ? oid.slice(0, 7) : 'working tree';
}

function sideName(rev: string | null): string {
  return rev === null ? 'the working tree' : mdCode(rev);
}

function pValueText(p: number): string {
  const shown = p < 0.001 ? '< 0.001' : `= ${p.toFixed(3)}`;
  return `McNemar p ${shown}: ${p < 0.05 ? 'unlikely to be noise' : 'could be noise'}`;
}

function flipsTable(data: ReportData, list: number[], limit: number): string[] {
  const [a, b] = data.models as [ReportData['models'][number], ReportData['models'][number]];
  const rows = list.slice(0, limit).map((i) => {
    const truth = data.classes[data.items.truth[i]!]!;
    const said = (m: typeof a): string => `${mdText(data.classes[m.pred[i]!] ?? '?')} (${(m.conf[i]! * 100).toFixed(0)}%)`;
    return `| ${mdCode(data.items.path[i]!)} | ${mdText(truth)} | ${said(a)} | ${said(b)} |`;
  });
  const more = list.length > limit ? [`\n…and ${list.length - limit} more in the full report.`] : [];
  return ['| item | label | A said | B says |', '|---|---|---|---|', ...rows, ...more];
}

function checksLines(data: ReportData): string[] {
  if (!data.checks?.length) return [];
  return ['', ...data.checks.map((c) => `- ${c.failed ? '❌' : '✅'} ${mdCode(c.rule)}: ${mdText(c.detail)}`)];
}

function footer(data: ReportData, o: MarkdownOptions): string[] {
  const where = o.link ? `[open it](${o.link.replace(/[()\s]/g, encodeURIComponent)})` : o.htmlPath ? mdCode(o.htmlPath) : '';
  return [
    '',
    `${where ? `The full report, with thumbnails, the confusion matrix and the feature-space map: ${where}. ` : ''}<sub>d2 ${mdText(data.version)}</sub>`,
  ];
}

function suspectsLines(data: ReportData, limit: number): string[] {
  const sus = data.suspects;
  if (!sus) return [];
  const of = sus.rev === null ? 'the working tree' : mdCode(sus.rev);
  const r = sus.review;
  if (!r) return ['', `Label suspects: no \`d2 review\` computed for ${of}; run ${mdCode(sus.command)} to list the labels most likely wrong.`];
  const kept = r.kept ? `, ${r.kept} kept by a reviewer` : '';
  if (!r.total) return ['', `Label suspects: none among ${r.items.toLocaleString('en-US')} items reviewed in ${of}${kept}.`];
  const lines = ['', `<details><summary>Label suspects in ${of}: ${r.total} of ${r.items.toLocaleString('en-US')} items reviewed${kept}, most likely wrong first</summary>`, ''];
  const rows = r.suspects.slice(0, limit);
  if (rows.length) {
    lines.push('| item | label | likely | confidence |', '|---|---|---|---:|');
    for (const x of rows) lines.push(`| ${mdCode(x.path)} | ${mdText(x.label)} | ${mdText(x.suggested)} | ${(x.confidence * 100).toFixed(0)}% |`);
  }
  if (r.total > rows.length) lines.push('', `…and ${r.total - rows.length} more: ${mdCode(`${sus.command} --limit 0`)}.`);
  const noise = r.noise.slice(0, 5);
  if (noise.length) lines.push('', `Estimated noise (labelled → really): ${noise.map((n) => `${mdText(n.given)} → ${mdText(n.true)} ${pct(n.rate)} (${n.count})`).join(', ')}${r.noisePairs > noise.length ? ', …' : ''}.`);
  lines.push('', '</details>');
  return lines;
}

interface Limits {
  suspects: number;
  flips: number;
  tests: number;
  classes: number;
}

function diffMarkdown(data: ReportData, o: MarkdownOptions, { flips, tests, classes: classLimit, suspects }: Limits): string {
  const [a, b] = data.models as [ReportData['models'][number], ReportData['models'][number]];
  const d = data.diff!;
  const mt = (m: typeof a): string => `${m.metrics.modelTests.passed} / ${m.metrics.modelTests.count}`;
  const lines: string[] = [
    REPORT_MARKER,
    `## d2: model behaviour, ${sideName(a.rev)} → ${sideName(b.rev)}`,
    '',
    `| | A ${mdCode(short(a.commit))} | B ${mdCode(short(b.commit))} | change |`,
    '|---|---:|---:|---:|',
    `| accuracy | ${pct(d.accuracy.before)} | ${pct(d.accuracy.after)} | **${pts(d.accuracy.delta)}** |`,
    `| macro-F1 | ${pct(d.macroF1.before)} | ${pct(d.macroF1.after)} | ${pts(d.macroF1.delta)} |`,
    `| model tests passing | ${mt(a)} | ${mt(b)} | ${signed(b.metrics.modelTests.passed - a.metrics.modelTests.passed)} |`,
    '',
    `On ${d.count.toLocaleString('en-US')} test items of ${sideName(data.evaluatedOn.rev)}: ${d.significance.fixed} fixed, ${d.significance.broken} broken (${pValueText(d.significance.pValue)}).`,
    ...checksLines(data),
  ];
  const brokenTests = d.modelTests.broken;
  if (brokenTests.length) {
    lines.push('', `### ❌ Broken model tests (${brokenTests.length})`, '', ...flipsTable(data, brokenTests, tests));
  } else if (d.modelTests.count) {
    lines.push('', `Model tests: none broken${d.modelTests.fixed.length ? `, ${d.modelTests.fixed.length} fixed` : ''}; ${d.modelTests.failingAfter} of ${d.modelTests.count} failing in B.`);
  }
  const classes = [...d.perClass].sort((x, y) => Math.abs(y.recall.delta) - Math.abs(x.recall.delta) || x.label.localeCompare(y.label));
  lines.push('', '<details><summary>Per class: precision and recall, A → B (largest recall change first)</summary>', '');
  lines.push('| class | items | precision | recall |', '|---|---:|---:|---:|');
  for (const c of classes.slice(0, classLimit)) {
    lines.push(`| ${mdText(c.label)} | ${c.support} | ${pct(c.precision.before)} → ${pct(c.precision.after)} (${pts(c.precision.delta)}) | ${pct(c.recall.before)} → ${pct(c.recall.after)} (${pts(c.recall.delta)}) |`);
  }
  if (classes.length > classLimit) lines.push('', `…and ${classes.length - classLimit} more classes in the full report.`);
  lines.push('', '</details>');
  lines.push('', `<details><summary>Flips: ${d.broken.length} broken (right → wrong), ${d.fixed.length} fixed (wrong → right)</summary>`, '');
  if (d.broken.length) lines.push('**Broken**, most confident first:', '', ...flipsTable(data, d.broken, flips), '');
  if (d.fixed.length) lines.push('**Fixed**, most confident first:', '', ...flipsTable(data, d.fixed, flips), '');
  if (!d.broken.length && !d.fixed.length) lines.push('No item changed from right to wrong or back.', '');
  lines.push('</details>');
  if (data.data) {
    const c = data.data;
    const groups = c.relabelledGroups.slice(0, 5).map((g) => `${mdText(g.from)} → ${mdText(g.to)}: ${g.count}`).join(', ');
    lines.push('', `Data: ${c.before} → ${c.after} items; ${c.added} added, ${c.removed} removed, ${c.modified} modified, ${c.relabelled} relabelled${groups ? ` (${groups}${c.relabelledGroups.length > 5 ? ', …' : ''})` : ''}, ${c.moved} moved between splits${c.moved ? ' ⚠️' : ''}.`);
  }
  lines.push(...suspectsLines(data, suspects), ...footer(data, o));
  return `${lines.join('\n')}\n`;
}

function buildMarkdown(data: ReportData, o: MarkdownOptions, { flips: cells, tests, classes: classLimit, suspects }: Limits): string {
  const m = data.models[0]!;
  const lines: string[] = [
    REPORT_MARKER,
    `## d2: model of ${sideName(m.rev)}${m.commit ? ` (${mdCode(short(m.commit))})` : ''}`,
    '',
    '| | |',
    '|---|---:|',
    `| accuracy | **${pct(m.metrics.accuracy)}** |`,
    `| macro-F1 | ${pct(m.metrics.macroF1)} |`,
    `| model tests passing | ${m.metrics.modelTests.passed} / ${m.metrics.modelTests.count} |`,
    '',
    `On ${m.metrics.count.toLocaleString('en-US')} test items; preset ${mdText(m.preset)}, engine ${mdText(m.engine)}.`,
    ...checksLines(data),
  ];
  const failing = data.items.path.map((_, i) => i).filter((i) => data.items.modelTest[i] === 1 && m.pred[i] !== -1 && m.pred[i] !== data.items.truth[i]);
  if (failing.length) {
    lines.push('', `### ❌ Failing model tests (${failing.length})`, '', '| item | label | model says |', '|---|---|---|');
    for (const i of failing.slice(0, tests)) lines.push(`| ${mdCode(data.items.path[i]!)} | ${mdText(data.classes[data.items.truth[i]!]!)} | ${mdText(data.classes[m.pred[i]!]!)} (${(m.conf[i]! * 100).toFixed(0)}%) |`);
    if (failing.length > tests) lines.push('', `…and ${failing.length - tests} more in the full report.`);
  }
  const confused: { t: number; p: number; n: number }[] = [];
  m.confusion.forEach((row, t) => row.forEach((n, p) => { if (t !== p && n > 0) confused.push({ t, p, n }); }));
  confused.sort((x, y) => y.n - x.n || x.t - y.t || x.p - y.p);
  if (confused.length) {
    lines.push('', '**Most confused** (true → predicted): ' + confused.slice(0, cells).map((c) => `${mdText(data.classes[c.t]!)} → ${mdText(data.classes[c.p]!)} ${c.n}`).join(', ') + '.');
  }
  lines.push('', '<details><summary>Per class: precision and recall</summary>', '', '| class | items | precision | recall | F1 |', '|---|---:|---:|---:|---:|');
  for (const c of m.perClass.slice(0, classLimit)) lines.push(`| ${mdText(c.label)} | ${c.support} | ${pct(c.precision)} | ${pct(c.recall)} | ${pct(c.f1)} |`);
  if (m.perClass.length > classLimit) lines.push('', `…and ${m.perClass.length - classLimit} more classes in the full report.`);
  lines.push('', '</details>', ...suspectsLines(data, suspects), ...footer(data, o));
  return `${lines.join('\n')}\n`;
}

/**
 * The Markdown summary of a report, within `MARKDOWN_LIMIT` characters.
 *
 * @example
 * const md = renderReportMarkdown(data, { link: 'https://github.com/o/r/actions/runs/1' });
 */
export function renderReportMarkdown(data: ReportData, options: MarkdownOptions = {}): string {
  const limits: Limits = { flips: options.flips ?? 10, suspects: options.flips ?? 10, tests: 100, classes: 50 };
  for (;;) {
    const md = data.kind === 'diff' ? diffMarkdown(data, options, limits) : buildMarkdown(data, options, limits);
    if (md.length <= MARKDOWN_LIMIT) return md;
    if (limits.flips > 0 || limits.suspects > 0) {
      limits.flips = Math.floor(limits.flips / 2);
      limits.suspects = Math.floor(limits.suspects / 2);
    }
    else if (limits.tests > 5) limits.tests = Math.floor(limits.tests / 2);
    else if (limits.classes > 0) limits.classes = Math.floor(limits.classes / 2);
    else return `${md.slice(0, MARKDOWN_LIMIT - 40)}\n\n…(cut to fit a comment)\n`;
  }
}
