/** Text and CSV views of `d2 predict`, and the text view of `d2 export`. */
import type { ExportResult, PredictionRow, PredictResult } from '../../index.js';
import { formatBytes, plural, shortOid, type Style } from './style.js';

export function renderPredictionRow(row: PredictionRow, s: Style): string {
  if (row.error) return `${row.input}  ${s.red(`error: ${row.error.message}`)}\n`;
  const [best, ...rest] = row.top;
  const others = rest.map((t) => `${t.label} ${t.probability.toFixed(3)}`).join(', ');
  return `${row.input}  ${s.bold(best!.label)} ${best!.probability.toFixed(3)}${others ? s.dim(`  (${others})`) : ''}\n`;
}

export function renderPredictSummary(r: PredictResult, s: Style): string {
  const failed = r.failed ? s.red(`, ${r.failed} failed`) : '';
  return s.dim(`${plural(r.count, 'input')} predicted${failed} with model ${shortOid(r.model.oid)}${r.model.commit ? ` of ${shortOid(r.model.commit)}` : ''} on ${r.model.engine}\n`);
}

const csvField = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export function csvHeader(): string {
  return 'input,rank,label,probability,error\n';
}

export function csvRow(row: PredictionRow): string {
  if (row.error) return `${csvField(row.input)},,,,${csvField(row.error.message)}\n`;
  return row.top.map((t, i) => `${csvField(row.input)},${i + 1},${csvField(t.label)},${t.probability},\n`).join('');
}

export function renderExport(r: ExportResult, s: Style): string {
  const lines = [`exported model ${s.yellow(shortOid(r.bundle.model))} (${r.bundle.classes.length} classes) to ${r.out}/`];
  for (const f of r.files) lines.push(s.dim(`  ${f.name.padEnd(16)} ${formatBytes(f.bytes)}`));
  return `${lines.join('\n')}\n`;
}
