/** Text view of `d2 build`: what was built (or reused), on which engine, and how it scores. */
import type { BuildResult, SetMetricsSummary } from '../../index.js';
import { backboneName, filesNotAddedWarning, plural, shortOid, wrapText, type Style } from './style.js';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function setLine(name: string, m: SetMetricsSummary | undefined): string | undefined {
  return m ? `  ${name.padEnd(12)}accuracy ${pct(m.accuracy).padStart(6)}   macro-F1 ${pct(m.macroF1).padStart(6)}   (${plural(m.count, 'item')})` : undefined;
}

const STOPPED: Record<string, string> = {
  earlyStopping: 'stopped early: validation loss no longer improved',
  maxEpochs: "stopped at the preset's epoch limit",
  timeBudget: "stopped at the manifest's time budget",
  epochs: 'ran the fixed epoch count',
};

export function renderBuild(r: BuildResult, s: Style): string {
  const b = r.build;
  const out: string[] = [];
  const where = r.commit ? `revision ${shortOid(r.commit)}` : 'the working tree';
  if (r.reused) {
    out.push(`model ${s.yellow(shortOid(b.model))} of ${where} is up to date ${s.dim('(built before from the same inputs: nothing trained)')}`);
  } else {
    const resumed = r.resumedAfterEpoch !== null ? ` (resumed after epoch ${r.resumedAfterEpoch})` : '';
    out.push(`built model ${s.yellow(shortOid(b.model))} of ${where}${resumed}`);
    out.push(s.dim(`  ${b.epochs} epochs in ${b.seconds.toFixed(1)} s on ${b.engine}${r.workers > 1 ? ` × ${r.workers} workers` : ''}, ${Math.round(b.samplesPerSecond)} samples/s`));
    out.push(s.dim(`  ${STOPPED[b.stoppedBy] ?? `stopped by ${b.stoppedBy}`}; kept the weights of epoch ${b.bestEpoch}`));
  }
  const sel = b.selection;
  if (b.backbone) {
    out.push(s.dim(`  preset ${b.preset}, seed ${b.seed}: head ${b.architecture.family.toUpperCase()} on ${b.backbone.dims} features of backbone layer '${b.backbone.layer}', ${plural(b.classes.length, 'class', 'classes')}`));
    out.push(s.dim(`  backbone ${backboneName(b.backbone.source)} (${shortOid(b.backbone.oid)}) on ${b.preprocess.shape.join('×')} inputs`));
    if (r.embeddings) out.push(s.dim(`  embeddings: ${plural(r.embeddings.embedded, 'item')} embedded now, ${r.embeddings.cached} cached`));
  } else {
    const what = sel?.chosen === 'linear' ? 'softmax regression' : b.architecture.family.toUpperCase();
    out.push(s.dim(`  preset ${b.preset}, seed ${b.seed}: ${what} on ${b.preprocess.shape.join('×')} inputs, ${plural(b.classes.length, 'class', 'classes')}`));
  }
  if (b.recipe) for (const line of wrapText(`  training: ${b.recipe}`)) out.push(s.dim(line));
  if (sel) {
    const loss = (x: number | null) => (x === null ? 'n/a' : x.toFixed(4));
    if (sel.method === 'cross-validation') {
      const c = sel.candidates;
      const how = `${sel.k ?? '?'}-fold mean`;
      out.push(s.dim(`  kept by cross-validated loss (${how}): softmax regression ${loss(c.linear.cvLoss ?? null)}, MLP ${loss(c.mlp.cvLoss ?? null)}`));
      out.push(s.dim(`  validation loss: softmax regression ${loss(c.linear.valLoss)}, MLP ${loss(c.mlp.valLoss)}`));
    } else {
      out.push(s.dim(`  kept by validation loss: softmax regression ${loss(sel.candidates.linear.valLoss)}, MLP ${loss(sel.candidates.mlp.valLoss)}`));
    }
  }
  out.push('');
  for (const line of [setLine('validation', b.metrics.validation), setLine('test', b.metrics.test)]) if (line) out.push(line);
  const mt = b.metrics.modelTests;
  if (mt) {
    const text = `  ${'model tests'.padEnd(12)}${mt.passed}/${mt.count} pass`;
    out.push(mt.failed.length ? s.red(`${text}; failing: ${mt.failed.slice(0, 5).join(', ')}${mt.failed.length > 5 ? ', …' : ''}`) : s.green(text));
  }
  if (!b.metrics.test && !b.metrics.validation) out.push(s.yellow('  no validation or test items: nothing to score the model on'));
  else if (!b.metrics.test) out.push(s.yellow(`  ${'test'.padEnd(12)}no items: the test split is empty (see dataset.split in d2.yaml)`));
  else if (!b.metrics.validation) out.push(s.yellow(`  ${'validation'.padEnd(12)}no items: early stopping watched the training loss`));
  const warnings = r.data.problems.filter((p) => p.severity === 'warning').length;
  if (warnings) out.push('', s.yellow(`${plural(warnings, 'dataset warning')}: see 'd2 data'`));
  const pending = filesNotAddedWarning(r.data.filesNotAdded);
  if (pending) out.push('', s.yellow(pending));
  if (r.lockWritten) out.push('', `d2.lock updated: commit it with ${s.cyan("d2 commit -m '…'")}`);
  return `${out.join('\n')}\n`;
}
