/** Text and CSV views of `d2 predict`, and the text view of `d2 export`. */
import type { ExportResult, PredictionRow, PredictResult } from '../../index.js';
import { backboneName, formatBytes, plural, shortOid, wrapText, type Style } from './style.js';

export function renderPredictionRow(row: PredictionRow, s: Style, inputWidth = 0, labelWidth = 0): string {
  const input = row.input.padEnd(inputWidth);
  if (row.error) {
    // An error row fits 100 columns: the message goes on its own line when it is long.
    const line = `${input}  error: ${row.error.message}`;
    if (line.length <= 100) return `${input}  ${s.red(`error: ${row.error.message}`)}\n`;
    return `${row.input}\n${wrapText(`  error: ${row.error.message}`).map((l) => s.red(l)).join('\n')}\n`;
  }
  const [best, ...rest] = row.top;
  const others = rest.map((t) => `${t.label} ${t.probability.toFixed(3)}`).join(', ');
  return `${input}  ${s.bold(best!.label.padEnd(labelWidth))} ${best!.probability.toFixed(3)}${others ? s.dim(`  (${others})`) : ''}\n`;
}

export interface PredictionTable {
  push(row: PredictionRow): void;
  /** Print what is still held back (call once, at the end). */
  end(): void;
}

/**
 * The text view as a table whose columns fit the first rows: they are held back until
 * `settleAfter` rows (or the end) have arrived, then printed as they come. A later, longer
 * input only pushes its own line out.
 */
export function createPredictionTable(s: Style, write: (text: string) => void, settleAfter = 64): PredictionTable {
  let held: PredictionRow[] | undefined = [];
  let inputWidth = 0;
  let labelWidth = 0;
  const settle = () => {
    const rows = held ?? [];
    held = undefined;
    inputWidth = Math.min(60, Math.max(5, ...rows.map((r) => r.input.length)));
    labelWidth = Math.max(5, ...rows.flatMap((r) => r.top.slice(0, 1).map((t) => t.label.length)));
    if (rows.length) write(s.dim(`${'input'.padEnd(inputWidth)}  ${'class'.padEnd(labelWidth)} p\n`));
    for (const r of rows) write(renderPredictionRow(r, s, inputWidth, labelWidth));
  };
  return {
    push(row) {
      if (!held) write(renderPredictionRow(row, s, inputWidth, labelWidth));
      else if (held.push(row) >= settleAfter) settle();
    },
    end() {
      if (held) settle();
    },
  };
}

export function renderPredictSummary(r: PredictResult, s: Style): string {
  const ok = r.count - r.failed;
  const what = r.failed === 0 ? `${plural(r.count, 'input')} predicted`
    : ok === 0 ? s.red(`no input predicted: ${r.count === 1 ? 'the input' : `all ${r.count} inputs`} failed`)
    : `${plural(r.count, 'input')}: ${ok} predicted, ${s.red(`${r.failed} failed`)}`;
  return `${s.dim(`${what}, model ${shortOid(r.model.oid)}${r.model.commit ? ` of ${shortOid(r.model.commit)}` : ''} on ${r.model.engine}`)}\n`;
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
  const width = Math.max(16, ...r.files.map((f) => f.name.length));
  for (const f of r.files) lines.push(s.dim(`  ${f.name.padEnd(width)} ${formatBytes(f.bytes)}`));
  const bb = r.bundle.backbone;
  if (bb?.graph) lines.push(s.dim(`  model.json is the head alone: backbone/ is a graph model, run to node '${bb.layer}' before it`));
  else if (bb) lines.push(s.dim(`  model.json is backbone '${backboneName(bb.source)}' (cut at '${bb.layer}') and head as one model`));
  return `${lines.join('\n')}\n`;
}
