/**
 * The terminal view of `d2 diff`: the data changes, then both models' behaviour on the same
 * items — metrics with deltas and the significance hint, per-class and confusion changes,
 * model tests, the flipped items — and the `--fail-on` checks. Laid out with Ink
 * (`renderToString`, no live terminal), 100 columns wide.
 *
 * Invariants:
 * - Every line fits WIDTH columns: Ink boxes of fixed width truncate their text (paths from
 *   the left, so the file name stays).
 * - Colour comes only from `Style` (none off a TTY or with NO_COLOR); the view adds no escape
 *   codes of its own, so plain output is plain.
 * - The flip lists are the one part whose length the user controls (`--limit 0` lists them
 *   all); their rows are fixed-width text outside Ink, whose layout time grows with every row.
 */
import React from 'react';
import { Box, renderToString, Text } from 'ink';
import type { BehaviourDiff, ClassDelta, DiffResult, Flip } from '../../index.js';
import { filesNotAddedWarning, fitPath, plural, shortOid, type Style } from './style.js';

export { fitPath };

export const WIDTH = 100;
/** Columns left for a relabel row's examples: WIDTH − indent 2 − label 12 − classes 34 − count 8. */
const RELABEL_EXAMPLE = WIDTH - 2 - 12 - 34 - 8;

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const signedPts = (x: number) => (Math.abs(x) < 5e-5 ? '±0.0' : `${x > 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)}`);
const signedInt = (n: number) => (n === 0 ? '±0' : `${n > 0 ? '+' : '−'}${Math.abs(n)}`);

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const visible = (s: string) => [...s.replace(ANSI, '')].length;

/** Text cut to `n` columns: from the left ('…/shirt/a.png') or the right ('very long la…'). */
function fit(s: string, n: number, from: 'left' | 'right' = 'right'): string {
  const chars = [...s];
  if (chars.length <= n) return s;
  return from === 'left' ? `…${chars.slice(chars.length - n + 1).join('')}` : `${chars.slice(0, n - 1).join('')}…`;
}

/** A fixed-width cell of plain text, coloured after fitting. */
function cell(s: string, n: number, colour: (x: string) => string = (x) => x, from: 'left' | 'right' | 'middle' = 'right'): string {
  const t = from === 'middle' ? fitPath(s, n) : fit(s, n, from);
  return colour(t) + ' '.repeat(Math.max(0, n - visible(t)));
}

function delta(s: Style, x: number, text: string, goodWhenUp = true): string {
  if (Math.abs(x) < 5e-5) return s.dim(text);
  return (x > 0) === goodWhenUp ? s.green(text) : s.red(text);
}

function sideName(side: DiffResult['a']): string {
  if (side.rev === null) return 'the working tree';
  return side.commit && !side.commit.startsWith(side.rev) ? `${side.rev} (${shortOid(side.commit)})` : side.rev;
}

/** One labelled row: a dim label column, then content that wraps within the rest. */
function Row({ label, width = 12, children }: { label: string; width?: number; children: React.ReactNode }): React.ReactElement {
  return (
    <Box paddingLeft={2}>
      <Box width={width} flexShrink={0}><Text>{label}</Text></Box>
      <Box flexDirection="column" flexGrow={1}>{children}</Box>
    </Box>
  );
}

/** Items laid out in columns of `width`, as many per line as fit. */
function Cells({ items, width }: { items: string[]; width: number }): React.ReactElement {
  return (
    <Box flexWrap="wrap">
      {items.map((t, i) => <Box key={i} width={width} flexShrink={0}><Text wrap="truncate-end">{t}</Text></Box>)}
    </Box>
  );
}

/** A manifest value as YAML-like flow text (`{width: 20, height: 20}`), which wraps at spaces. */
function value(v: unknown): string {
  if (v === undefined) return 'none';
  if (Array.isArray(v)) return `[${v.map(value).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}: ${value(x)}`).join(', ')}}`;
  return typeof v === 'string' ? (v === '' || /[,:{}[\]#\s]/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v);
}

function DataView({ r, s }: { r: DiffResult; s: Style }): React.ReactElement {
  const d = r.data;
  const sum = (k: 'added' | 'removed' | 'modified' | 'renamed') => Object.values(d.bySource).reduce((n, c) => n + c[k], 0);
  const [added, removed, modified, renamed] = [sum('added'), sum('removed'), sum('modified'), sum('renamed')];
  const counts = [
    `${d.before.items} → ${d.after.items} items`,
    added ? s.green(`+${added} added`) : s.dim('+0 added'),
    removed ? s.red(`−${removed} removed`) : s.dim('−0 removed'),
    `${d.relabelledCount} relabelled`,
    ...(modified ? [`${modified} modified`] : []),
    ...(renamed ? [`${renamed} renamed`] : []),
  ];
  const unchanged = added + removed + modified + renamed + d.relabelledCount + d.movedCount + d.manifest.length === 0
    && d.modelTests.added.length + d.modelTests.removed.length === 0;
  const classes = Object.entries(d.byClass).filter(([, c]) => c.delta !== 0);
  const splitChange = d.manifest.find((m) => /^dataset\.split(\.|$)|^sources\.[^.]+\.split$/.test(m.path))?.path.replace(/^(dataset\.split)\..*$/, '$1');
  const sources = Object.entries(d.bySource).filter(([, c]) => c.added + c.removed + c.modified + c.renamed + c.relabelled + c.moved > 0);
  const examples = [...d.added.map((x) => [s.green('+'), x] as const), ...d.removed.map((x) => [s.red('−'), x] as const)];
  return (
    <Box flexDirection="column">
      <Text>{s.bold('data')}      {counts.join(' · ')}</Text>
      {d.movedCount > 0 ? (
        <Box flexDirection="column" borderStyle="single" paddingX={1} marginLeft={2} width={WIDTH - 2}>
          <Text>{s.red(s.bold(`! ${plural(d.movedCount, 'item')} moved between splits`))}{s.red(splitChange ? `, because d2.yaml's ${splitChange} changed. Test figures of A and B are not comparable.` : ': splits are decided by content, so this should not happen. Test figures of A and B are not comparable.')}</Text>
          {d.moved.map((m, i) => <Text key={i} wrap="truncate-end">{s.red(`${m.from} → ${m.to}: ${m.count}`)}  {s.dim(`e.g. ${m.examples.map((x) => fitPath(x, 40)).join(', ')}`)}</Text>)}
        </Box>
      ) : null}
      {d.relabelled.length ? (
        <Row label="relabelled">
          {d.relabelled.slice(0, 10).map((g, i) => (
            <Box key={i}>
              <Box width={34} flexShrink={0}><Text wrap="truncate-end">{`${g.from} → ${g.to}`}</Text></Box>
              <Box width={8} flexShrink={0}><Text>{` ×${g.count}`}</Text></Box>
              <Text>{s.dim(fit(`e.g. ${g.examples.map((x) => fitPath(x, RELABEL_EXAMPLE)).join(', ')}`, RELABEL_EXAMPLE))}</Text>
            </Box>
          ))}
          {d.relabelled.length > 10 ? <Text>{s.dim(`… and ${d.relabelled.length - 10} more kinds of relabel (--json lists all)`)}</Text> : null}
        </Row>
      ) : null}
      {classes.length ? (
        <Row label="classes">
          <Cells width={28} items={classes.map(([name, c]) => `${fit(name, 14)} ${c.before}→${c.after} ${delta(s, c.delta, `(${signedInt(c.delta)})`)}`)} />
        </Row>
      ) : null}
      {examples.length ? (
        <Row label="items">
          {examples.slice(0, 8).map(([sign, x], i) => (
            <Box key={i}>
              <Box width={2} flexShrink={0}><Text>{sign}</Text></Box>
              <Box width={50} flexShrink={0}><Text>{fitPath(x.path, 49)}</Text></Box>
              <Text wrap="truncate-end">{s.dim(` ${x.label}, ${x.set}`)}</Text>
            </Box>
          ))}
          {added + removed > 8 ? <Text>{s.dim(`… ${added + removed - Math.min(8, examples.length)} more (--json --limit 0 lists them all)`)}</Text> : null}
        </Row>
      ) : null}
      {d.renamed.length ? (
        <Row label="renamed">
          {d.renamed.slice(0, 5).map((x, i) => <Text key={i}>{`${fitPath(x.from, 41)} → ${fitPath(x.to, 41)}`}</Text>)}
          {renamed > 5 ? <Text>{s.dim(`… ${renamed - 5} more`)}</Text> : null}
        </Row>
      ) : null}
      {sources.length > 1 || (sources.length === 1 && Object.keys(d.bySource).length > 1) ? (
        <Row label="sources">
          {sources.map(([name, c]) => (
            <Text key={name} wrap="truncate-end">
              {`${fit(name, 20)}  +${c.added} −${c.removed}`}{c.modified ? ` ~${c.modified}` : ''}{c.renamed ? ` ${c.renamed} renamed` : ''}{c.relabelled ? ` ${c.relabelled} relabelled` : ''}{c.moved ? s.red(` ${c.moved} moved`) : ''}
            </Text>
          ))}
        </Row>
      ) : null}
      {d.modelTests.added.length + d.modelTests.removed.length ? (
        <Row label="model tests">
          <Text>{`${d.modelTests.before} → ${d.modelTests.after}`}{d.modelTests.added.length ? `, added ${d.modelTests.added.slice(0, 3).join(', ')}` : ''}{d.modelTests.removed.length ? `, removed ${d.modelTests.removed.slice(0, 3).join(', ')}` : ''}</Text>
        </Row>
      ) : null}
      {d.manifest.length ? (
        <Row label="d2.yaml">
          {d.manifest.map((m, i) => (
            <Box key={i}>
              <Box width={28} flexShrink={0}><Text wrap="truncate-end">{s.cyan(m.path)}</Text></Box>
              <Text wrap="wrap">{m.kind === 'changed' ? `${value(m.before)} → ${value(m.after)}` : m.kind === 'added' ? `added: ${value(m.after)}` : `removed (was ${value(m.before)})`}</Text>
            </Box>
          ))}
        </Row>
      ) : null}
      {unchanged ? <Text>{s.dim('  no changes to items, labels, splits or d2.yaml')}</Text> : null}
    </Box>
  );
}

function significance(b: BehaviourDiff, s: Style): string {
  const sig = b.significance;
  const n = sig.fixed + sig.broken;
  if (n === 0) return s.dim('no item changed between right and wrong: the models agree on correctness');
  const p = sig.pValue < 0.001 ? sig.pValue.toExponential(1) : sig.pValue.toFixed(3);
  const test = `McNemar p = ${p} on ${plural(n, 'flip')}`;
  if (sig.pValue >= 0.05) return `${test}: ${s.yellow('could well be noise')}`;
  return `${test}: ${sig.fixed > sig.broken ? s.green('a real gain, unlikely to be noise') : s.red('a real loss, unlikely to be noise')}`;
}

function PerClass({ rows, s }: { rows: ClassDelta[]; s: Style }): React.ReactElement {
  const col = (before: number, after: number, d: number) => `${pct(before).padStart(6)} → ${pct(after).padStart(6)} ${delta(s, d, signedPts(d).padStart(6))}`;
  return (
    <Box flexDirection="column" marginTop={1} paddingLeft={2}>
      <Text>{s.dim(`${cell('class', 20)} ${'items'.padStart(5)}   ${'precision A → B'.padEnd(16)}${'Δ pts'.padStart(6)}   ${'recall A → B'.padEnd(16)}${'Δ pts'.padStart(6)}`)}</Text>
      {rows.slice(0, 15).map((c) => (
        <Text key={c.label}>{`${cell(c.label, 20)} ${String(c.support).padStart(5)}   ${col(c.precision.before, c.precision.after, c.precision.delta)}   ${col(c.recall.before, c.recall.after, c.recall.delta)}`}</Text>
      ))}
      {rows.length > 15 ? <Text>{s.dim(`… and ${rows.length - 15} more classes changed (--json lists all)`)}</Text> : null}
    </Box>
  );
}

function BehaviourView({ r, b, s }: { r: DiffResult; b: BehaviourDiff; s: Style }): React.ReactElement {
  const on = r.evaluatedOn;
  const model = (name: string, m: NonNullable<DiffResult['a']['model']>) => {
    const inferred = m.inferred ? ` + ${m.inferred} inferred ${m.computedNow === m.inferred ? 'now' : m.computedNow ? `(${m.computedNow} now)` : '(cached)'}` : '';
    return `${name}  model ${shortOid(m.oid)}  ${m.preset} · ${m.engine} · predictions: ${m.stored} stored${inferred}`;
  };
  const changed = b.perClass.filter((c) => Math.abs(c.precision.delta) > 1e-12 || Math.abs(c.recall.delta) > 1e-12);
  // Off-diagonal cells: the mistakes (the diagonal's changes are the per-class recall above).
  const mistakes = b.confusion.filter((c) => c.truth !== c.predicted);
  const cells = mistakes.slice(0, 12).map((c) => `${fit(`${c.truth} → ${c.predicted}`, 22)} ${c.before}→${c.after}`);
  const failed = [...r.a.model!.failed.map((f) => ['A', f] as const), ...r.b.model!.failed.map((f) => ['B', f] as const)];
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text>{s.bold('behaviour')} on the test split of {on.rev ?? 'the working tree'}: {plural(on.items, 'item')}{on.modelTests ? `, ${plural(on.modelTests, 'model test')}` : ''}</Text>
      <Box paddingLeft={2} flexDirection="column">
        <Text wrap="truncate-end">{s.dim(model('A', r.a.model!))}</Text>
        <Text wrap="truncate-end">{s.dim(model('B', r.b.model!))}</Text>
        {([['A', r.a.model!], ['B', r.b.model!]] as const).filter(([, m]) => Object.keys(m.classMap).length).map(([side, m]) => (
          <Text key={side} wrap="truncate-end">{s.dim(`${side}'s answers read with the new class names: ${Object.entries(m.classMap).map(([x, y]) => `${x} → ${y}`).join(', ')}`)}</Text>
        ))}
        {failed.slice(0, 3).map(([side, f], i) => (
          <Box key={i}>
            <Box width={19} flexShrink={0}><Text>{s.yellow(`${side} could not run on`)}</Text></Box>
            <Box width={40} flexShrink={0}><Text>{fitPath(f.path, 39)}</Text></Box>
            <Text wrap="truncate-end">{s.dim(` ${f.message}`)}</Text>
          </Box>
        ))}
        {r.a.model!.failedCount + r.b.model!.failedCount > 3 ? <Text>{s.yellow(`… ${r.a.model!.failedCount + r.b.model!.failedCount - 3} more items left out`)}</Text> : null}
      </Box>
      <Box flexDirection="column" marginTop={1} paddingLeft={2}>
        <Text>{s.dim(`${cell('', 14)}${'A'.padStart(6)}${'B'.padStart(9)}    Δ pts`)}</Text>
        <Text>{`${cell('accuracy', 14)}${pct(b.accuracy.before).padStart(6)}${pct(b.accuracy.after).padStart(9)}   ${delta(s, b.accuracy.delta, signedPts(b.accuracy.delta).padStart(6))}`}</Text>
        <Text>{`${cell('macro-F1', 14)}${pct(b.macroF1.before).padStart(6)}${pct(b.macroF1.after).padStart(9)}   ${delta(s, b.macroF1.delta, signedPts(b.macroF1.delta).padStart(6))}`}</Text>
        <Text>{`${cell('flips', 14)}${s.green(`${b.significance.fixed} fixed`)} · ${b.significance.broken ? s.red(`${b.significance.broken} broken`) : '0 broken'}${b.changedWrong ? s.dim(` · ${b.changedWrong} wrong both times, differently`) : ''}`}</Text>
        <Text>{`${cell('significance', 14)}${significance(b, s)}`}</Text>
      </Box>
      {changed.length ? <PerClass rows={changed} s={s} /> : null}
      {cells.length ? (
        <Box flexDirection="column" marginTop={1} paddingLeft={2}>
          <Text>{s.dim(`mistakes that changed (truth → predicted: count in A→B)${mistakes.length > cells.length ? `, ${cells.length} of ${mistakes.length}` : ''}`)}</Text>
          <Cells width={32} items={cells} />
        </Box>
      ) : null}
    </Box>
  );
}

function ModelTests({ b, s }: { b: BehaviourDiff; s: Style }): React.ReactElement | null {
  const mt = b.modelTests;
  if (!mt.count) return null;
  const line = `model tests  ${mt.count}: failing ${mt.failingBefore} → ${mt.failingAfter}`;
  return (
    <Box flexDirection="column" marginTop={1} paddingLeft={2}>
      <Text>{mt.broken.length ? s.red(`${line} · ${mt.broken.length} broken`) : mt.failingAfter ? s.yellow(line) : s.green(line)}{mt.fixed.length ? s.green(` · ${mt.fixed.length} fixed`) : ''}</Text>
      {mt.broken.map((f) => <Text key={f.path} wrap="truncate-end">{flipRow(f, s, 2)}</Text>)}
    </Box>
  );
}

const COLS = { path: 38, truth: 14, pred: 20 };

/** One flipped item: path, truth, A's and B's predictions with confidences (fixed-width text). */
function flipRow(f: Flip, s: Style, indent = 4): string {
  const pred = (p: Flip['before'], colour: (x: string) => string) => `${cell(p.label, COLS.pred - 5, colour)} ${p.confidence.toFixed(2)}`;
  const right = (label: string) => (label === f.truth ? s.green : s.red);
  return `${' '.repeat(indent)}${cell(f.path, COLS.path, (x) => x, 'middle')} ${cell(f.truth, COLS.truth)} ${pred(f.before, right(f.before.label))}  ${pred(f.after, right(f.after.label))}`;
}

function flipLines(title: string, list: readonly Flip[], total: number, s: Style): string[] {
  if (!total) return [];
  const head = `  ${title}: ${total}${list.length < total ? s.dim(` (the ${list.length} most confident; --limit N, 0 for all)`) : ''}`;
  const cols = s.dim(`    ${cell('path', COLS.path)} ${cell('truth', COLS.truth)} ${cell('A', COLS.pred)}  B`);
  return ['', head, cols, ...list.flatMap((f) => (f.snippet !== undefined ? [flipRow(f, s), s.dim(`      “${f.snippet}”`)] : [flipRow(f, s)]))];
}

function Footer({ r, s }: { r: DiffResult; s: Style }): React.ReactElement {
  return (
    <Box flexDirection="column">
      {r.missing.filter((m, i) => r.missing.findIndex((x) => x.command === m.command) === i).map((m) => (
        <Box key={m.side} flexDirection="column" marginTop={1}>
          <Text>{s.yellow(`! ${m.message}`)}</Text>
          <Text>{`  build it: ${s.bold(m.command)}, or run this diff again with --build`}</Text>
        </Box>
      ))}
      {r.checks?.length ? (
        <Box flexDirection="column" marginTop={1}>
          {r.checks.map((c, i) => (
            <Box key={i}>
              <Box width={2} flexShrink={0}><Text>{c.failed ? s.red('✗') : s.green('✓')}</Text></Box>
              <Box width={30} flexShrink={0}><Text wrap="truncate-end">{`--fail-on ${c.rule}`}</Text></Box>
              <Text wrap="truncate-end">{c.failed ? s.red(c.detail) : c.detail}</Text>
            </Box>
          ))}
        </Box>
      ) : null}
    </Box>
  );
}

function ink(node: React.ReactElement): string {
  const text = renderToString(node, { columns: WIDTH });
  // Ink pads nothing on the right, but be sure: results are compared and piped.
  return text.split('\n').map((l) => l.replace(/ +$/, '')).join('\n');
}

/** The text view of a diff result (what `d2 diff` prints without --json). */
export function renderDiff(r: DiffResult, s: Style): string {
  const parts: string[] = [];
  const b = r.behaviour;
  parts.push(ink(
    <Box flexDirection="column">
      <Text wrap="truncate-end">{s.bold(`diff ${sideName(r.a)} → ${sideName(r.b)}`)}</Text>
      <Text> </Text>
      <DataView r={r} s={s} />
      {b ? <BehaviourView r={r} b={b} s={s} /> : null}
      {b ? <ModelTests b={b} s={s} /> : null}
    </Box>,
  ));
  if (b) parts.push(...flipLines('fixed (wrong → right)', b.fixed, b.significance.fixed, s), ...flipLines('broken (right → wrong)', b.broken, b.significance.broken, s));
  const pending = filesNotAddedWarning(r.a.filesNotAdded ?? r.b.filesNotAdded);
  if (pending) parts.push('', s.yellow(pending));
  const footer = ink(<Footer r={r} s={s} />);
  if (footer.trim()) parts.push(footer);
  return `${parts.join('\n')}\n`;
}
