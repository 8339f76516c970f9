/**
 * Text view of `d2 diff`: the data changes, then the behaviour of both models on the same items
 * (metrics with deltas, the significance hint, per-class and confusion changes, flips, model
 * tests). Every line fits 100 columns; paths are shortened from the left when needed.
 */
import type { DiffResult, FailCheck } from '../../index.js';
import { plural, shortOid, type Style } from './style.js';

export const WIDTH = 100;

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const pts = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)} pts`;

function fit(s: string, n: number): string {
  return s.length <= n ? s : `…${s.slice(s.length - n + 1)}`;
}

function sideName(side: DiffResult['a']): string {
  if (side.rev === null) return 'working tree';
  return side.commit && !side.rev.startsWith(side.commit.slice(0, 7)) ? `${side.rev} (${shortOid(side.commit)})` : side.rev;
}

function signed(n: number, s: Style, goodWhenUp = true): string {
  const text = `${n >= 0 ? '+' : '−'}${Math.abs(n)}`;
  if (n === 0) return s.dim(text);
  return (n > 0) === goodWhenUp ? s.green(text) : s.red(text);
}

function colourDelta(x: number, s: Style, text: string): string {
  if (Math.abs(x) < 1e-12) return s.dim(text);
  return x > 0 ? s.green(text) : s.red(text);
}

function value(v: unknown): string {
  const t = typeof v === 'string' ? v : JSON.stringify(v);
  return fit(t ?? 'none', 36);
}

export function renderDiff(r: DiffResult, s: Style, checks: FailCheck[] = []): string {
  const out: string[] = [];
  const d = r.data;
  out.push(s.bold(`diff ${sideName(r.a)} → ${sideName(r.b)}`));
  out.push('');
  out.push(`${s.bold('data')}  ${d.before.items} → ${d.after.items} items: ${signed(countOf(d, 'added'), s)} added, ${countOf(d, 'removed') ? s.red(`−${countOf(d, 'removed')}`) : s.dim('−0')} removed, ${countOf(d, 'modified')} modified, ${d.relabelledCount} relabelled`);
  if (d.movedCount > 0) {
    out.push(s.red(`  ! ${plural(d.movedCount, 'item')} moved between splits — splits must be stable; did 'dataset.split' change?`));
    for (const m of d.moved) out.push(s.red(`    ${m.from} → ${m.to}: ${m.count} (e.g. ${fit(m.examples.join(', '), 70)})`));
  }
  for (const g of d.relabelled.slice(0, 10)) {
    out.push(`  relabel  ${fit(`${g.from} → ${g.to}`, 40)} ×${g.count}  ${s.dim(fit(`e.g. ${g.examples.join(', ')}`, 44))}`);
  }
  if (d.relabelled.length > 10) out.push(s.dim(`  … and ${d.relabelled.length - 10} more relabel groups (--json lists all)`));
  const classes = Object.entries(d.byClass).filter(([, c]) => c.delta !== 0);
  if (classes.length) {
    const parts = classes.map(([name, c]) => `${name} ${c.before}→${c.after}`);
    let line = '  classes  ';
    for (const p of parts) {
      if (line.length + p.length + 3 > WIDTH) {
        out.push(line);
        line = '           ';
      }
      line += `${p} · `;
    }
    out.push(line.replace(/ · $/, ''));
  }
  for (const [src, c] of Object.entries(d.bySource)) {
    if (c.added + c.removed + c.modified + c.relabelled + c.moved === 0) continue;
    out.push(s.dim(`  source ${fit(src, 20)}: +${c.added} −${c.removed} ~${c.modified} modified, ${c.relabelled} relabelled`));
  }
  for (const m of d.manifest) {
    const text = m.kind === 'changed' ? `${value(m.before)} → ${value(m.after)}` : m.kind === 'added' ? `added: ${value(m.after)}` : `removed (was ${value(m.before)})`;
    out.push(`  ${s.cyan('d2.yaml')}  ${fit(m.path, 30)}: ${text}`);
  }
  if (d.before.items === d.after.items && d.added.length + d.removed.length + d.relabelledCount + d.manifest.length === 0 && countOf(d, 'modified') === 0) out.push(s.dim('  no data changes'));

  out.push('');
  for (const m of r.missing) out.push(s.yellow(`${m.message}\n  build it: ${m.command}`));
  const b = r.behaviour;
  if (!b) return finish(out, checks, s);
  const on = r.evaluatedOn;
  out.push(`${s.bold('behaviour')} on the test split of ${on.rev ?? 'the working tree'} (${plural(on.items, 'item')}${on.modelTests ? `, ${plural(on.modelTests, 'model test')}` : ''})`);
  for (const [name, side] of [['A', r.a], ['B', r.b]] as const) {
    const m = side.model!;
    const extra = m.inferred ? s.dim(` — ${m.inferred} predictions computed now`) : '';
    out.push(s.dim(`  ${name}: model ${shortOid(m.oid)} (${m.preset}, ${m.engine})`) + extra);
    for (const f of m.failed.slice(0, 3)) out.push(s.yellow(`     could not run on ${fit(f.message, 80)}`));
  }
  out.push(`  ${''.padEnd(10)}${'A'.padStart(8)}${'B'.padStart(8)}     Δ`);
  out.push(`  ${'accuracy'.padEnd(10)}${pct(b.accuracy.before).padStart(8)}${pct(b.accuracy.after).padStart(8)}  ${colourDelta(b.accuracy.delta, s, pts(b.accuracy.delta))}`);
  out.push(`  ${'macro-F1'.padEnd(10)}${pct(b.macroF1.before).padStart(8)}${pct(b.macroF1.after).padStart(8)}  ${colourDelta(b.macroF1.delta, s, pts(b.macroF1.delta))}`);
  const sig = b.significance;
  const verdict = sig.fixed + sig.broken === 0 ? 'no item changed' : sig.pValue < 0.05 ? 'unlikely to be noise' : 'could well be noise';
  out.push(`  ${s.green(`${sig.fixed} fixed`)}, ${s.red(`${sig.broken} broken`)}${b.changedWrong ? `, ${b.changedWrong} wrong both times but differently` : ''} — McNemar p = ${sig.pValue < 0.001 ? sig.pValue.toExponential(1) : sig.pValue.toFixed(3)}: ${verdict}`);
  const changed = b.perClass.filter((c) => Math.abs(c.precision.delta) > 1e-12 || Math.abs(c.recall.delta) > 1e-12);
  if (changed.length) {
    out.push('', `  ${'class'.padEnd(20)}${'precision'.padEnd(30)}recall`);
    for (const c of changed.slice(0, 15)) {
      const p = `${pct(c.precision.before)} → ${pct(c.precision.after)} ${colourDelta(c.precision.delta, s, pts(c.precision.delta))}`;
      const rc = `${pct(c.recall.before)} → ${pct(c.recall.after)} ${colourDelta(c.recall.delta, s, pts(c.recall.delta))}`;
      out.push(`  ${fit(c.label, 19).padEnd(20)}${p}${' '.repeat(Math.max(1, 30 - visible(p)))}${rc}`);
    }
    if (changed.length > 15) out.push(s.dim(`  … and ${changed.length - 15} more classes (--json lists all)`));
  }
  if (b.confusion.length) {
    const cells = [...b.confusion].sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta)).slice(0, 8);
    out.push('', `  confusion (truth → predicted): ${cells.map((c) => `${c.truth}→${c.predicted} ${c.before}→${c.after}`).join(' · ')}`.slice(0, WIDTH));
  }
  flips(out, s, 'fixed (wrong → right)', b.fixed, sig.fixed);
  flips(out, s, 'broken (right → wrong)', b.broken, sig.broken);
  const mt = b.modelTests;
  if (mt.count) {
    const line = `  model tests: ${mt.count}, failing ${mt.failingBefore} → ${mt.failingAfter}`;
    out.push('', mt.broken.length ? s.red(`${line}; broken: ${fit(mt.broken.map((f) => f.path).join(', '), 50)}`) : s.green(line));
  }
  return finish(out, checks, s);
}

function flips(out: string[], s: Style, title: string, list: DiffResult['behaviour'] extends infer B ? B extends { fixed: infer F } ? F : never : never, total: number): void {
  if (!total) return;
  out.push('', `  ${title}: ${total}${list.length < total ? ` (showing ${list.length}; --limit)` : ''}`);
  for (const f of list) {
    const head = `    ${fit(f.path, 42).padEnd(42)} ${fit(f.truth, 12).padEnd(12)}`;
    const tail = `A ${fit(f.before.label, 12)} ${f.before.confidence.toFixed(2)}  B ${fit(f.after.label, 12)} ${f.after.confidence.toFixed(2)}`;
    out.push(`${head} ${s.dim(tail)}`);
  }
}

function finish(out: string[], checks: FailCheck[], s: Style): string {
  if (checks.length) {
    out.push('');
    for (const c of checks) out.push(c.failed ? s.red(`✗ --fail-on ${c.rule}: ${c.detail}`) : s.green(`✓ --fail-on ${c.rule}: ${c.detail}`));
  }
  return `${out.join('\n')}\n`;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
function visible(text: string): number {
  return text.replace(ANSI, '').length;
}

function countOf(d: DiffResult['data'], kind: 'added' | 'removed' | 'modified'): number {
  return Object.values(d.bySource).reduce((n, c) => n + c[kind], 0);
}
