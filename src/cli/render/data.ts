/** Text view of `d2 data`: the dataset's counts per split and class, its problems, its preprocessing. */
import type { DataResult, ItemSet } from '../../index.js';
import { backboneName, filesNotAddedWarning, plural, shortOid, wrapText, type Style } from './style.js';

const SETS: [ItemSet, string][] = [['train', 'train'], ['validation', 'validation'], ['test', 'test'], ['modelTest', 'model tests']];

function describeSteps(steps: DataResult['preprocess'] extends infer P ? P extends { steps: infer S } ? S : never : never): string {
  return (steps as Record<string, unknown>[]).map((s) => {
    const [k, v] = Object.entries(s).find(([, x]) => x !== undefined) ?? ['?', undefined];
    if (k === 'resize') { const r = v as { width: number; height: number; fit: string }; return `resize ${r.width}×${r.height} (${r.fit})`; }
    if (k === 'channels') return `channels ${String(v)}`;
    if (k === 'crop') return `crop ${JSON.stringify(v)}`;
    if (k === 'normalize') return `normalize ${JSON.stringify(v)}`;
    return `${k} ${JSON.stringify(v)}`;
  }).join(', ');
}

export function renderData(r: DataResult, s: Style, limit: number): string {
  const out: string[] = [];
  const total = SETS.reduce((n, [k]) => n + r.counts[k].total, 0);
  out.push(`dataset ${s.yellow(shortOid(r.dataset))} ${r.commit ? `at ${shortOid(r.commit)}` : '(working tree)'}: ${plural(total, 'item')} in ${plural(r.classes.length, 'class', 'classes')}`);
  const cols = SETS.filter(([k]) => k !== 'modelTest' || r.counts.modelTest.total > 0);
  const shown = limit > 0 ? r.classes.slice(0, limit) : r.classes;
  const nameWidth = Math.min(28, Math.max(5, ...shown.map((c) => c.length)));
  const header = `  ${'class'.padEnd(nameWidth)}${cols.map(([, h]) => h.padStart(Math.max(8, h.length + 2))).join('')}`;
  out.push('', s.bold(header));
  for (const c of shown) {
    const name = c.length > nameWidth ? `${c.slice(0, nameWidth - 1)}…` : c;
    out.push(`  ${name.padEnd(nameWidth)}${cols.map(([k, h]) => String(r.counts[k].perClass[c] ?? 0).padStart(Math.max(8, h.length + 2))).join('')}`);
  }
  if (shown.length < r.classes.length) out.push(`  … and ${r.classes.length - shown.length} more classes (--limit 0 shows all)`);
  out.push(s.bold(`  ${'total'.padEnd(nameWidth)}${cols.map(([k, h]) => String(r.counts[k].total).padStart(Math.max(8, h.length + 2))).join('')}`));
  const l = r.left;
  if (l.filtered + l.dropped + l.unlabelled + l.duplicatesOfModelTests > 0) {
    out.push('', s.dim(`left out: ${l.filtered} filtered, ${l.dropped} dropped by labelMap, ${l.unlabelled} unlabelled, ${l.duplicatesOfModelTests} copies of model tests`));
  }
  const pools = Object.entries(r.unlabelled ?? {}).filter(([, n]) => n > 0);
  if (pools.length) {
    out.push(s.dim(`unlabelled: ${pools.map(([src, n]) => `${src} ${n}`).join(', ')} (not trained on; 'd2 suggest' ranks them for labelling)`));
  }
  for (const n of r.notAdded) out.push(s.yellow(`warning: source '${n}' is declared in d2.yaml but was never added (d2 add ${n})`));
  const pending = filesNotAddedWarning(r.filesNotAdded);
  if (pending) out.push('', s.yellow(pending));
  if (r.problems.length) {
    out.push('', 'Problems:');
    const list = limit > 0 ? r.problems.slice(0, limit) : r.problems;
    for (const p of list) {
      const colour = p.severity === 'error' ? s.red : s.yellow;
      for (const line of wrapText(`  ${p.severity}: ${p.message}`)) out.push(colour(line));
    }
    if (list.length < r.problems.length) out.push(`  … and ${r.problems.length - list.length} more (--limit 0 shows all)`);
  }
  const pre = r.preprocess;
  if (pre) {
    const what = pre.modality === 'text' ? `texts → TF-IDF over ${pre.text?.features === 'hashing' ? 'hash buckets' : 'a vocabulary of the train split'}`
      : pre.modality === 'table' ? `table rows → ${pre.features?.length ?? 0} features (${(pre.features ?? []).slice(0, 6).join(', ')}${(pre.features?.length ?? 0) > 6 ? ', …' : ''})` : describeSteps(pre.steps as never);
    out.push('', `preprocessing: ${what} → ${pre.shape.join('×')}`);
    if (pre.backbone) out.push(s.dim(`  backbone ${backboneName(pre.backbone.source)} (${shortOid(pre.backbone.oid)}), cut at '${pre.backbone.layer}'${pre.derived ? ': the steps are its input' : ''}`));
    else if (pre.derived) out.push(s.dim(`  derived from ${pre.sample?.images ?? 0} images (write preprocess.image in d2.yaml to choose the steps)`));
    const st = pre.stats;
    const work = st.reused ? 'nothing to do (cached)' : `${st.computed} preprocessed, ${st.copied} from cache, ${st.reusedSets} sets reused`;
    const rate = st.computed > 0 && pre.seconds > 0 ? `, ${Math.round(st.computed / pre.seconds)} ${pre.modality === 'table' ? 'rows' : pre.modality === 'text' ? 'texts' : 'images'}/s` : '';
    out.push(s.dim(`  ${work}, ${pre.seconds.toFixed(2)} s${rate}`));
    if (pre.skipped.length) {
      out.push(s.yellow(`  ${plural(pre.skipped.length, 'item')} skipped (dataset.onBadItem: skip):`));
      for (const k of pre.skipped.slice(0, limit > 0 ? limit : undefined)) out.push(s.yellow(`    ${k.message}`));
    }
  }
  if (r.blocked) {
    const leakage = r.problems.some((p) => p.kind === 'leakage' && p.severity === 'error');
    out.push('', s.red(`the build is blocked by the errors above${leakage ? " (allow leakage with 'dataset.allowLeakage: true' in d2.yaml)" : ''}`));
  }
  return `${out.join('\n')}\n`;
}
