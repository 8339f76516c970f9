/**
 * The text view of `d2 suggest`: one row per suggested item — path (cut in its middle to fit),
 * the model's guess with its probability, and why it was chosen — then the sanity checks, in
 * 100 columns.
 */
import type { Suggestion, SuggestResult } from '../../index.js';
import { fitPath, plural, shortOid, type Style } from './style.js';

const PATH = 34;
const LABEL = 12;
const WHY = 100 - 2 - PATH - 2 - (LABEL + 5) - 2;

function row(x: Suggestion, s: Style): string {
  const guess = `${x.predicted.length > LABEL ? `${x.predicted.slice(0, LABEL - 1)}…` : x.predicted.padEnd(LABEL)} ${x.confidence.toFixed(2)}`;
  const why = x.why.length > WHY ? `${x.why.slice(0, WHY - 1)}…` : x.why;
  return `  ${fitPath(x.path, PATH).padEnd(PATH)}  ${guess}  ${s.dim(why)}\n`;
}

export function renderSuggest(r: SuggestResult, s: Style): string {
  const picks = r.suggestions.filter((x) => x.reason !== 'confident-check');
  const checks = r.suggestions.filter((x) => x.reason === 'confident-check');
  const out: string[] = [];
  const model = `model ${shortOid(r.model.oid)}${r.model.commit ? ` (${shortOid(r.model.commit)})` : ''}`;
  if (r.pool === 0) {
    out.push(`no unlabelled items to suggest from (${model})\n`);
    out.push(s.dim("  items without a row in their source's labels CSV are unlabelled: add some with 'd2 add'\n"));
    return out.join('');
  }
  out.push(`${plural(picks.length, 'item')} to label next, of ${plural(r.pool, 'unlabelled item')} (${r.strategy}; ${model})\n`);
  out.push(s.dim(`  ${'path'.padEnd(PATH)}  ${'model guess'.padEnd(LABEL + 5)}  why\n`));
  for (const x of picks) out.push(row(x, s));
  if (checks.length) {
    out.push(`\n${plural(checks.length, 'sanity check')}: the model is sure of these; a wrong one means a wrong label upstream\n`);
    for (const x of checks) out.push(row(x, s));
  }
  if (r.failed.length) {
    out.push(s.yellow(`\n${plural(r.failed.length, 'item')} could not be run through the model:\n`));
    for (const f of r.failed.slice(0, 10)) out.push(s.yellow(`  ${fitPath(f.path, 44)}  ${f.message.slice(0, 50)}\n`));
  }
  out.push(s.dim("\nlabel them: d2 suggest --csv > to-label.csv, fill in 'label', then d2 label --from to-label.csv\n"));
  return out.join('');
}
