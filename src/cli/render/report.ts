/** Text views of `d2 report` (the summary of the page written) and `d2 ci init`. */
import { pathToFileURL } from 'node:url';
import type { CiInitResult, ReportResult } from '../../index.js';
import { formatBytes, plural, type Style } from './style.js';

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

function pts(d: number): string {
  return `${d > 0 ? '+' : d < 0 ? '-' : '±'}${Math.abs(d * 100).toFixed(2)} pts`;
}

function side(rev: string | null): string {
  return rev ?? 'the working tree';
}

/** What `d2 report` wrote, in five lines at most (each within 100 columns for usual names). */
export function renderReport(r: ReportResult, s: Style): string {
  const on = `${plural(r.evaluatedOn.items, 'test item')} and ${plural(r.evaluatedOn.modelTests, 'model test')}`;
  const lines: string[] = [];
  if (r.kind === 'diff' && r.diff) {
    const [a, b] = r.models;
    lines.push(`wrote ${s.bold(r.out)} (${formatBytes(r.bytes)}): ${side(a!.rev)} → ${side(b!.rev)}, ${on}`);
    const d = r.diff;
    const colour = d.accuracy.delta < 0 ? s.red : d.accuracy.delta > 0 ? s.green : (x: string) => x;
    const tests = d.brokenModelTests ? s.red(`, ${plural(d.brokenModelTests, 'model test')} broken`) : '';
    lines.push(`  accuracy ${pct(d.accuracy.before)} → ${pct(d.accuracy.after)} (${colour(pts(d.accuracy.delta))}); ${d.fixed} fixed, ${d.broken} broken${tests}`);
  } else {
    const m = r.models[0]!;
    lines.push(`wrote ${s.bold(r.out)} (${formatBytes(r.bytes)}): the model of ${side(m.rev)}, ${on}`);
    lines.push(`  accuracy ${pct(m.accuracy)}, macro-F1 ${pct(m.macroF1)}, model tests ${m.modelTests.passed}/${m.modelTests.count} passing`);
  }
  for (const c of r.checks ?? []) lines.push(`  ${c.failed ? s.red('✗') : s.green('✓')} ${c.rule}: ${c.detail}`);
  if (r.maps.length) {
    const m = r.maps[0]!;
    lines.push(s.dim(`  feature-space map: ${m.method.toUpperCase()} of ${plural(m.points, 'item')}${r.maps.length > 1 ? ' per model' : ''}${r.maps.every((x) => x.cached) ? ' (cached)' : ''}`));
  }
  const sus = r.suspects;
  if (sus.review === null) lines.push(s.dim(`  label suspects: no review of ${side(sus.rev)} yet ('${sus.command}' computes it)`));
  else lines.push(`  label suspects: ${sus.total} from the review of ${side(sus.rev)}${sus.listed < sus.total ? ` (${sus.listed} on the page)` : ''}${sus.kept ? `, ${sus.kept} kept` : ''}`);
  lines.push(`open it in a browser: ${pathToFileURL(r.out).href}`);
  return `${lines.join('\n')}\n`;
}

export function renderCiInit(r: CiInitResult, s: Style): string {
  return `${r.replaced ? 'replaced' : 'wrote'} ${s.bold(r.path)}\n${r.next.map((n) => `  ${n}`).join('\n')}\n`;
}
