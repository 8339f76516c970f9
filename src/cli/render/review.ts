/**
 * Text views of `d2 review` (the suspects, the cross-validated figures, the estimated noise per
 * class pair) and `d2 label` (what was decided, in which files), and review's `--csv` form.
 * Each takes the api's result unchanged. Lines fit 100 columns: long item paths are shortened
 * from the left.
 */
import type { DecisionsCsvRow, LabelResult, ReviewResult, ReviewSuspect } from '../../index.js';
import { plural, shortOid, type Style } from './style.js';

const WIDTH = 100;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** `s` in at most `w` columns, cut from the left ('…' + the end, which names the file). */
function fitLeft(s: string, w: number): string {
  return s.length <= w ? s : `…${s.slice(s.length - w + 1)}`;
}

function fitRight(s: string, w: number): string {
  return s.length <= w ? s : `${s.slice(0, w - 1)}…`;
}

function changeText(s: ReviewSuspect): string {
  if (s.change === 'new') return 'new';
  if (s.change === 'relabelled') return 'relab.';
  return s.kept ? 'kept' : '';
}

export function renderReview(r: ReviewResult, s: Style): string {
  const out: string[] = [];
  const cv = r.crossValidation;
  const where = r.commit ? `revision ${shortOid(r.commit)}` : 'the working tree';
  const since = r.since ? `, changes since ${shortOid(r.since)}` : '';
  out.push(`review of ${where}${since}: ${plural(r.counts.items, 'item')}, ${cv.k}-fold cross-validation (${cv.preset} network)`);
  const trained = cv.trained === 0
    ? 'every fold model was built before: nothing trained'
    : `${plural(cv.trained, 'fold model')} trained now in ${cv.seconds.toFixed(1)} s${cv.resumed ? ` (${cv.resumed} resumed)` : ''} on ${cv.engine}`;
  out.push(s.dim(`  ${trained}`));
  out.push(`  cross-validated accuracy ${s.bold(pct(cv.accuracy))}   macro-F1 ${pct(cv.macroF1)}   ${s.dim(`(out of sample, ${plural(cv.count, 'item')})`)}`);
  if (r.counts.unscored) out.push(s.yellow(`  ${plural(r.counts.unscored, 'item')} not reviewed: not preprocessed (see 'd2 data'), or too few items for ${cv.k} folds`));
  out.push('');

  const c = r.counts;
  if (c.flagged === 0) {
    out.push(s.green('no suspects: no label looks wrong to the fold models'));
  } else {
    const hiddenKept = c.kept && !r.suspects.some((x) => x.kept) && c.shown <= c.flagged - c.kept ? c.kept : 0;
    let head = `${plural(c.flagged, 'suspect')} flagged`;
    if (c.kept) head += `; ${c.kept} kept by a reviewer${hiddenKept ? ' (hidden; --all shows them)' : ''}`;
    if (c.shown !== c.flagged - hiddenKept) head += `; ${c.shown} in the classes asked`;
    out.push(r.since ? head : `${head}${c.listed ? ', most likely wrong first:' : ''}`);
    if (r.since) out.push(`${c.new} new, ${c.relabelled} relabelled since ${shortOid(r.since)}${c.new + c.relabelled && c.listed ? ' (listed first)' : ''}${c.listed ? '; most likely wrong first:' : ''}`);
  }
  if (r.suspects.length) {
    const labelW = Math.min(14, Math.max(5, ...r.suspects.map((x) => x.label.length)));
    const suggW = Math.min(14, Math.max(9, ...r.suspects.map((x) => x.suggested.length)));
    // rank(4) + path + change(7) + label + ' → ' + suggested + p(sugg)(8) + p(label)(9) + gaps
    const pathW = Math.max(20, WIDTH - (4 + 2 + 7 + labelW + 3 + suggW + 8 + 9 + 6));
    const widest = Math.min(pathW, Math.max(4, ...r.suspects.map((x) => x.path.length)));
    out.push(s.dim(`  ${'#'.padStart(3)} ${'item'.padEnd(widest)} ${''.padEnd(6)} ${'label'.padEnd(labelW)}   ${'suggested'.padEnd(suggW)} ${'p(sugg.)'.padStart(8)} ${'p(label)'.padStart(8)}`));
    r.suspects.forEach((x, i) => {
      const change = changeText(x).padEnd(6);
      const line = `  ${String(i + 1).padStart(3)} ${fitLeft(x.path, widest).padEnd(widest)} ${x.change ? s.yellow(change) : s.dim(change)} ${fitRight(x.label, labelW).padEnd(labelW)} → ${s.cyan(fitRight(x.suggested, suggW).padEnd(suggW))} ${x.confidence.toFixed(2).padStart(8)} ${x.selfConfidence.toFixed(2).padStart(8)}`;
      out.push(line);
    });
    if (c.listed < c.shown) out.push(s.dim(`  … and ${c.shown - c.listed} more (--limit 0 lists all)`));
  }
  if (r.noise.length) {
    out.push('', 'estimated label noise (from the confident joint): labelled → really, share of the label, items');
    const shown = r.noise.slice(0, 8);
    const gw = Math.min(16, Math.max(...shown.map((n) => n.given.length)));
    const tw = Math.min(16, Math.max(...shown.map((n) => n.true.length)));
    const cells = shown.map((n) => `${fitRight(n.given, gw).padEnd(gw)} → ${fitRight(n.true, tw).padEnd(tw)} ${pct(n.rate).padStart(6)} ${String(n.count).padStart(5)}`);
    const cellW = gw + tw + 3 + 7 + 6;
    const perLine = 2 + cellW * 2 + 4 <= WIDTH ? 2 : 1;
    for (let i = 0; i < cells.length; i += perLine) out.push(`  ${cells.slice(i, i + perLine).join('    ')}`);
    if (r.noise.length > shown.length) out.push(s.dim(`  … and ${r.noise.length - shown.length} more pairs (--json lists all)`));
  }
  if (r.suspects.length) {
    out.push('', s.dim("Next: d2 label ITEM --as CLASS (relabel), d2 label --keep ITEM (the label is right),"));
    out.push(s.dim('      or d2 review --csv > review.csv, fill its decision column, d2 label --from review.csv'));
  }
  return `${out.join('\n')}\n`;
}

/** The suspects as a decisions CSV: the label as it is, the suggestion beside it, the decision left empty. */
export function renderReviewCsv(r: ReviewResult, serialize: (rows: readonly DecisionsCsvRow[]) => string): string {
  return serialize(r.suspects.map((x) => ({
    path: x.path,
    label: x.label,
    predicted: x.suggested,
    confidence: Number(x.confidence.toFixed(4)),
    why: `p(label) ${x.selfConfidence.toFixed(4)}${x.change ? `; ${x.change}${x.previousLabel ? ` (was ${x.previousLabel})` : ''}` : ''}${x.set === 'test' ? '; test split' : ''}`,
  })));
}

export function renderLabel(r: LabelResult, s: Style): string {
  const out: string[] = [];
  for (const x of r.relabelled) out.push(`relabelled ${x.path}: ${x.from} → ${s.cyan(x.to)}${x.set === 'test' || x.set === 'modelTest' ? s.yellow(` (${x.set === 'test' ? 'test split' : 'model test'})`) : ''}`);
  for (const x of r.kept) out.push(`kept ${x.path} as ${x.label}${x.suggested ? s.dim(` (suggested: ${x.suggested})`) : ''}`);
  for (const x of r.modelTests) out.push(`model test ${x.path}: ${x.label}${s.dim(` (was in ${x.from})`)}`);
  for (const x of r.unchanged) out.push(s.dim(`unchanged ${x.path}: ${x.reason}`));
  for (const w of r.warnings) out.push(s.yellow(`warning: ${w}`));
  if (r.files.length) out.push(s.dim(`wrote ${r.files.join(', ')}; review with git diff, then d2 commit -m "…"`));
  else out.push(s.dim('nothing changed'));
  return `${out.join('\n')}\n`;
}
