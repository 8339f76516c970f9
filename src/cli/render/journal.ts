/**
 * Views of the research journal (`d2 log`, `d2 note`, `d2 exp`): the log as text, the compact
 * `--metrics` table (fits 100 columns), and Markdown tables for pasting into a document. Each
 * takes the api's return value unchanged (the `--json` data).
 *
 * Invariant: no table line is wider than `WIDTH` columns (long notes are cut with '…').
 */
import type { ExpEntry, ExpListResult, ExpRemoveResult, ExpRunResult, ExpShowResult, ExpApplyResult, LogEntry, LogResult, NoteResult } from '../../index.js';
import { plural, shortOid, type Style } from './style.js';

export const WIDTH = 100;

function pct(x: number | undefined | null): string {
  return x === undefined || x === null ? '-' : `${(x * 100).toFixed(1)}%`;
}

/** A change in percentage points, signed: '+1.3'. */
function points(x: number | undefined | null): string {
  if (x === undefined || x === null) return '';
  const v = Math.round(x * 1000) / 10;
  return `${v > 0 ? '+' : v < 0 ? '' : '±'}${v.toFixed(1)}`;
}

function firstLine(text: string | null | undefined): string {
  return (text ?? '').split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
}

function cut(text: string, width: number): string {
  if (width <= 0) return '';
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** A line broken at spaces into pieces of at most `width` columns (a longer word is cut). */
function wrap(line: string, width: number): string[] {
  const out: string[] = [];
  let rest = line.trimEnd();
  while (rest.length > width) {
    const at = rest.lastIndexOf(' ', width);
    const cutAt = at > 0 ? at : width;
    out.push(rest.slice(0, cutAt).trimEnd());
    rest = rest.slice(cutAt).trimStart();
  }
  out.push(rest);
  return out;
}

function date(iso: string): string {
  return iso.slice(0, 10);
}

function listCut(names: readonly string[], n = 3): string {
  return names.length <= n ? names.join(', ') : `${names.slice(0, n).join(', ')} (+${names.length - n} more)`;
}

export function renderLog(r: LogResult, s: Style): string {
  if (r.commits.length === 0) return 'no commits yet\n';
  const out: string[] = [];
  for (const c of r.commits) {
    const subject = c.message.split('\n')[0] ?? '';
    const srcs = Object.keys(c.sources).length;
    const m = c.model?.metrics;
    const score = m?.test ? ` test acc ${pct(m.test.accuracy)}` : m?.validation ? ` val acc ${pct(m.validation.accuracy)}` : '';
    const tests = m?.modelTests ? `, model tests ${m.modelTests.passed}/${m.modelTests.count}` : '';
    const model = c.build === 'stale' ? s.dim('  d2.lock not rebuilt for this change') : c.model ? s.cyan(`  model:${score}${tests}`) : '';
    // the subject gives way (cut with '…') so the line fits WIDTH columns
    const where = srcs ? `  [${plural(c.items, 'item')} in ${plural(srcs, 'source')}]` : '';
    const modelText = c.build === 'stale' ? '  d2.lock not rebuilt for this change' : c.model ? `  model:${score}${tests}` : '';
    const room = WIDTH - 7 - 1 - 16 - 1 - where.length - modelText.length;
    const shown = subject.length > room ? `${subject.slice(0, Math.max(1, room - 1))}…` : subject;
    out.push(`${s.yellow(shortOid(c.commit))} ${s.dim(c.time.slice(0, 16).replace('T', ' '))} ${shown}${where ? s.dim(where) : ''}${model}`);
    out.push(s.dim(`    ${c.change.summary}`));
    const built: string[] = [];
    if (c.delta) built.push(`${c.headline?.set === 'validation' ? 'val ' : ''}acc ${points(c.delta.accuracy)} pts, macro-F1 ${points(c.delta.macroF1)} pts (vs ${shortOid(c.delta.against)})`);
    if (c.modelTests?.broken.length) built.push(s.red(`broken model tests: ${listCut(c.modelTests.broken)}`));
    if (built.length) out.push(`    ${built.join('; ')}`);
    for (const p of c.problems) out.push(s.yellow(`    warning: ${p}`));
    if (c.note) {
      const lines = c.note.split('\n').flatMap((l) => wrap(l, WIDTH - 10));
      out.push(`    ${s.bold('note:')} ${lines[0]}`);
      for (const l of lines.slice(1)) out.push(`          ${l}`);
    }
  }
  return `${out.join('\n')}\n`;
}

interface Column {
  head: string;
  width: number;
  right?: boolean;
}

function row(cols: readonly Column[], cells: readonly string[]): string {
  return cols.map((c, i) => {
    const v = cut(cells[i] ?? '', c.width);
    return c.right ? v.padStart(c.width) : v.padEnd(c.width);
  }).join('  ').trimEnd();
}

/** Widths of the fixed columns of the metrics tables; the last column takes what is left of WIDTH. */
function withLast(cols: Column[], last: string): Column[] {
  const used = cols.reduce((n, c) => n + c.width + 2, 0);
  return [...cols, { head: last, width: WIDTH - used }];
}

function metricCells(e: { build?: string; headline: LogEntry['headline']; delta: LogEntry['delta'] }): [string, string, string] {
  if (!e.headline || e.build === 'stale' || e.build === 'none') return ['-', '-', e.build === 'stale' ? 'stale' : ''];
  return [pct(e.headline.accuracy), pct(e.headline.macroF1), points(e.delta?.accuracy)];
}

/** `d2 log --metrics`: commit, date, items, accuracy, macro-F1, Δ accuracy (points), note. */
export function renderLogMetrics(r: LogResult, s: Style): string {
  if (r.commits.length === 0) return 'no commits yet\n';
  const cols = withLast([
    { head: 'commit', width: 7 }, { head: 'date', width: 10 }, { head: 'items', width: 7, right: true },
    { head: 'accuracy', width: 8, right: true }, { head: 'macro-F1', width: 8, right: true }, { head: 'Δ acc', width: 6, right: true },
  ], 'note');
  const out = [s.bold(row(cols, cols.map((c) => c.head)))];
  for (const c of r.commits) {
    const [acc, f1, d] = metricCells(c);
    const broken = c.modelTests?.broken.length ? `[${c.modelTests.broken.length} broken] ` : '';
    out.push(row(cols, [shortOid(c.commit), date(c.time), String(c.items), acc, f1, d, `${broken}${firstLine(c.note)}`]));
  }
  return `${out.join('\n')}\n`;
}

function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

function mdTable(head: readonly string[], rows: readonly string[][]): string {
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((h) => (/^(items|accuracy|macro-F1|Δ)/.test(h) ? ' ---: ' : ' --- ')).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map(mdCell).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

/** `d2 log --md`: the journal as a Markdown table. */
export function renderLogMarkdown(r: LogResult): string {
  return mdTable(['commit', 'date', 'message', 'data change', 'items', 'accuracy', 'macro-F1', 'Δ accuracy', 'model tests', 'note'], r.commits.map((c) => {
    const [acc, f1, d] = metricCells(c);
    const tests = c.modelTests ? `${c.modelTests.passed}/${c.modelTests.count}${c.modelTests.broken.length ? ` (broken: ${c.modelTests.broken.join(', ')})` : ''}` : '';
    return [`\`${shortOid(c.commit)}\``, date(c.time), firstLine(c.message), c.change.summary, String(c.items), acc, f1, d, tests, (c.note ?? '').trim()];
  }));
}

export function renderNote(r: NoteResult, s: Style): string {
  const sha = s.yellow(shortOid(r.commit));
  const shared = r.sharing.length ? `\n${s.dim(`git remote${r.sharing.length > 1 ? 's' : ''} ${r.sharing.map((g) => `'${g.remote}'`).join(', ')} now carr${r.sharing.length > 1 ? 'y' : 'ies'} notes and experiments on git push/fetch`)}` : '';
  switch (r.action) {
    case 'shown': return r.note === null ? `${sha}: no note\n` : `${r.note}\n`;
    case 'removed': return `${sha}: note removed${shared}\n`;
    case 'unchanged': return `${sha}: note unchanged\n`;
    default: return `${sha}: note ${r.action}${shared}\n${s.dim(r.note ?? '')}\n`;
  }
}

function settingsText(e: Pick<ExpEntry, 'settings'>): string {
  return e.settings.map((x) => `${x.key}=${x.value === null ? '' : typeof x.value === 'string' ? x.value : JSON.stringify(x.value)}`).join(' ');
}

/** `d2 exp list`: name, parent, items, accuracy, macro-F1, Δ accuracy against the parent's build, change and note. */
export function renderExpList(r: ExpListResult, s: Style): string {
  if (r.experiments.length === 0) return "no experiments yet (try: d2 exp run --set model.preset=thorough)\n";
  const cols = withLast([
    { head: 'experiment', width: 14 }, { head: 'parent', width: 7 }, { head: 'items', width: 7, right: true },
    { head: 'accuracy', width: 8, right: true }, { head: 'macro-F1', width: 8, right: true }, { head: 'Δ acc', width: 6, right: true },
  ], 'change · note');
  const out = [s.bold(row(cols, cols.map((c) => c.head)))];
  for (const e of r.experiments) {
    const [acc, f1, d] = metricCells({ headline: e.headline, delta: e.delta });
    const what = [settingsText(e), firstLine(e.note)].filter(Boolean).join(' · ');
    out.push(row(cols, [e.name, e.parent ? shortOid(e.parent) : '-', String(e.items), acc, f1, d, `${e.dirty ? '* ' : ''}${what}`]));
  }
  const dirty = r.experiments.some((e) => e.dirty) ? `\n${s.dim('* ran on data or d2.yaml not committed in its parent')}` : '';
  return `${out.join('\n')}${dirty}\n${s.dim(`sorted by ${r.sortedBy}, best first; Δ acc: points against the parent commit's build`)}\n`;
}

/** `d2 exp list --md` */
export function renderExpListMarkdown(r: ExpListResult): string {
  return mdTable(['experiment', 'parent', 'change', 'items', 'accuracy', 'macro-F1', 'Δ accuracy', 'note'], r.experiments.map((e) => {
    const [acc, f1, d] = metricCells({ headline: e.headline, delta: e.delta });
    return [`\`${e.name}\``, e.parent ? `\`${shortOid(e.parent)}\`` : '', settingsText(e), String(e.items), acc, f1, d, (e.note ?? '').trim()];
  }));
}

export function renderExpRun(r: ExpRunResult, s: Style): string {
  const e = r.experiment;
  const out = [`${s.bold(e.name)}: ${settingsText(e) || 'no change'} on ${e.parent ? shortOid(e.parent) : 'no commit'}${e.dirty ? ' (with uncommitted changes)' : ''}`];
  out.push(`  ${r.reused ? 'built before: reused' : 'trained'}; ${e.headline ? `${e.headline.set} accuracy ${pct(e.headline.accuracy)}, macro-F1 ${pct(e.headline.macroF1)}` : 'no test metrics'}${e.delta ? ` (${points(e.delta.accuracy)} pts vs ${shortOid(e.delta.against)})` : ''}`);
  if (e.modelTests?.broken.length) out.push(s.red(`  broken model tests: ${listCut(e.modelTests.broken)}`));
  out.push(s.dim(`Next: d2 exp list, d2 diff HEAD ${e.name}, d2 exp apply ${e.name}`));
  return `${out.join('\n')}\n`;
}

export function renderExpShow(r: ExpShowResult, s: Style): string {
  const e = r.experiment;
  const out = [
    `${s.bold('experiment')} ${e.name}`,
    `created   ${e.created}`,
    `parent    ${e.parent ?? '(none)'}${e.dirty ? ' (ran with uncommitted changes)' : ''}`,
    'change:',
    ...e.settings.map((x) => `  ${x.key}: ${JSON.stringify(x.previous ?? null)} -> ${JSON.stringify(x.value)}`),
    `dataset   ${e.dataset} (${plural(e.items, 'item')})`,
    `build     ${e.build.key}${r.built ? '' : s.yellow(' (not in this store: d2 pull --exps)')}`,
  ];
  if (r.architecture) out.push(`model     ${r.architecture}, ${e.build.preset}, ${plural(r.epochs ?? 0, 'epoch')}`);
  if (e.headline) out.push(`metrics   ${e.headline.set} accuracy ${pct(e.headline.accuracy)}, macro-F1 ${pct(e.headline.macroF1)} (${e.headline.count} items)${e.delta ? `; ${points(e.delta.accuracy)} pts vs ${shortOid(e.delta.against)}` : ''}`);
  if (e.modelTests) out.push(`tests     ${e.modelTests.passed}/${e.modelTests.count} model tests pass${e.modelTests.broken.length ? s.red(`; broken: ${listCut(e.modelTests.broken)}`) : ''}`);
  if (e.note) out.push(`note      ${e.note.split('\n').join('\n          ')}`);
  return `${out.join('\n')}\n`;
}

export function renderExpApply(r: ExpApplyResult, s: Style): string {
  const out = [`applied ${s.bold(r.name)} to d2.yaml: ${r.settings.map((x) => x.key).join(', ')}`];
  out.push(r.lockWritten ? 'd2.lock records its build (nothing to train)' : s.dim(r.lockReason ?? 'run d2 build to record its model in d2.lock'));
  out.push(s.dim(`Next: d2 commit -m "${cut(firstLine(r.message), 70)}"`));
  return `${out.join('\n')}\n`;
}

export function renderExpRemove(r: ExpRemoveResult): string {
  return r.removed.length ? `removed ${plural(r.removed.length, 'experiment')}: ${r.removed.join(', ')}\n` : 'no experiment removed\n';
}
