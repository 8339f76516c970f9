// Benchmark of issue "d2 review": how well `d2 review` finds labels flipped on purpose, and how
// long it takes. Fashion-MNIST's training images (60,000 PNGs, or the first N with --train N) in
// one project whose labels come from a CSV file with 5 % of them flipped at random (seeded):
//   - uniform: 5 % of the items, each to another class drawn uniformly;
//   - pairs (class-conditional): 5 % of each class, to its look-alike (T-shirt/top ↔ shirt,
//     pullover ↔ coat, sneaker ↔ ankle boot, trouser ↔ dress, sandal ↔ bag).
// For each, `d2 review --json --limit 0 --no-since` (the real bin/d2; the first review is cold:
// nothing preprocessed, nothing trained), then precision and recall of the flagged set against
// the flipped items, and, in the same run, the same figures for two baselines:
//   - in-sample: the same network trained (same epochs) on every item with its noisy label,
//     flagging where its prediction on that item differs from the label (what a single build
//     offers);
//   - out-of-sample argmax: flag where the review's own out-of-sample prediction differs.
//
//   node bench/review.js [--train N] [--noise 0.05] [--kinds uniform,pairs] [--seed S] [--quick]
//
// --quick: 6,000 images. Targets (issue): precision ≥ 0.80 and recall ≥ 0.60 at 5 % uniform
// noise; the whole review of 60,000 images ≤ 600 s on two cores. Every figure is measured here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { CLASS_NAMES, loadSplit, pngTree } from './lib/fashion-mnist.js';
import { D2, REPO, WORK, freshDir, table, timed } from './lib/measure.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const quick = args.includes('--quick');
const n = Number(opt('--train', quick ? '6000' : '60000'));
const noise = Number(opt('--noise', '0.05'));
const kinds = opt('--kinds', 'uniform,pairs').split(',');
const seed = Number(opt('--seed', '1'));
const TARGET = { precision: 0.8, recall: 0.6, seconds: 600 };
const PAIRS = { tshirt_top: 'shirt', shirt: 'tshirt_top', pullover: 'coat', coat: 'pullover', sneaker: 'ankle_boot', ankle_boot: 'sneaker', trouser: 'dress', dress: 'trouser', sandal: 'bag', bag: 'sandal' };

/** sfc32 seeded by splitmix32: the benchmark's only randomness. */
function rng(s) {
  let x = s >>> 0;
  const next32 = () => { x = (x + 0x9e3779b9) >>> 0; let z = x; z = Math.imul(z ^ (z >>> 16), 0x85ebca6b); z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35); return (z ^ (z >>> 16)) >>> 0; };
  let a = next32(), b = next32(), c = next32(), d = next32();
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0; a = b ^ (b >>> 9); b = (c + (c << 3)) >>> 0; c = ((c << 21) | (c >>> 11)) >>> 0; c = (c + t) >>> 0;
    return t / 4294967296;
  };
}

function shuffled(count, random) {
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) { const j = Math.floor(random() * (i + 1)); [order[i], order[j]] = [order[j], order[i]]; }
  return order;
}

/** Noisy labels (class names) and the indices flipped. */
function flipLabels(truth, kind) {
  const random = rng(seed * 1000 + (kind === 'uniform' ? 1 : 2));
  const labels = truth.map((c) => CLASS_NAMES[c]);
  const flipped = new Set();
  if (kind === 'uniform') {
    for (const i of shuffled(truth.length, random).slice(0, Math.round(noise * truth.length))) {
      const other = Math.floor(random() * (CLASS_NAMES.length - 1));
      labels[i] = CLASS_NAMES[other >= truth[i] ? other + 1 : other];
      flipped.add(i);
    }
  } else {
    for (let c = 0; c < CLASS_NAMES.length; c++) {
      const members = truth.map((t, i) => (t === c ? i : -1)).filter((i) => i >= 0);
      const order = shuffled(members.length, random).slice(0, Math.round(noise * members.length));
      for (const k of order) { labels[members[k]] = PAIRS[CLASS_NAMES[c]]; flipped.add(members[k]); }
    }
  }
  return { labels, flipped };
}

function score(flagged, flipped) {
  let hit = 0;
  for (const i of flagged) if (flipped.has(i)) hit++;
  return { flagged: flagged.size, precision: flagged.size ? hit / flagged.size : 0, recall: flipped.size ? hit / flipped.size : 0 };
}

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.error(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}; load average at start: ${load()}`);

// The images: the first n training PNGs (in IDX order), in their class folders.
const tree = await pngTree(WORK);
const tr = await loadSplit('train');
const count = Math.min(n, tr.n);
const truth = Array.from(tr.labels.subarray(0, count));
const rel = truth.map((c, i) => `${CLASS_NAMES[c]}/train-${String(i).padStart(5, '0')}.png`);
const dir = freshDir(`review-${count}`);
for (const c of CLASS_NAMES) fs.mkdirSync(path.join(dir, 'train', c), { recursive: true });
for (const r of rel) fs.copyFileSync(path.join(tree, 'fmnist', r), path.join(dir, 'train', r));
const env = { ...process.env, CI: '1', GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid' };
await timed(D2, ['init', '-q'], { cwd: dir, env });
console.error(`project ${dir}: ${count.toLocaleString('en')} training PNGs; noise ${noise * 100} % (${kinds.join(', ')}), seed ${seed}`);

const { openProject } = await import(path.join(REPO, 'dist/index.js'));
const { parseEvaluation } = await import(path.join(REPO, 'dist/core/evaluation.js'));
const { train } = await import(path.join(REPO, 'dist/engine/train.js'));
const { findLabelIssues, LABEL_ISSUE_FILTERS } = await import(path.join(REPO, 'dist/core/confident-learning.js'));
const { loadModel, predict } = await import(path.join(REPO, 'dist/engine/model.js'));
const index = new Map(rel.map((r, i) => [`train/${r}`, i]));

const rows = [];
for (const [k, kind] of kinds.entries()) {
  const { labels, flipped } = flipLabels(truth, kind);
  fs.writeFileSync(path.join(dir, 'labels.csv'), `path,label\n${rel.map((r, i) => `${r},${labels[i]}`).join('\n')}\n`);
  const add = await timed(D2, k === 0 ? ['add', 'train', '--labels', 'labels.csv', '-q'] : ['add', '--all', '-q'], { cwd: dir, env });
  console.error(`${kind}: ${flipped.size} labels flipped; d2 add ${add.seconds.toFixed(1)} s`);

  // d2 review, timing when each phase is first reported.
  const t0 = performance.now();
  const firstSeen = {};
  const child = execa(D2, ['review', '--json', '--limit', '0', '--no-since'], { cwd: dir, env, reject: false, buffer: { stdout: false } });
  let last = '';
  child.stdout.setEncoding('utf8');
  let pending = '';
  child.stdout.on('data', (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) {
      if (!line) continue;
      last = line;
      const e = JSON.parse(line);
      if (e.type === 'progress' && firstSeen[e.phase] === undefined) firstSeen[e.phase] = (performance.now() - t0) / 1000;
    }
  });
  const done = await child;
  if (pending) last = pending;
  const seconds = (performance.now() - t0) / 1000;
  if (done.exitCode !== 0) throw new Error(`d2 review failed (${done.exitCode}):\n${done.stderr}`.slice(0, 4000));
  const r = JSON.parse(last).data;
  const flagged = new Set(r.suspects.map((s) => index.get(s.path)));
  const ours = score(flagged, flipped);
  const cv = r.crossValidation;
  console.error(`${kind}: d2 review ${seconds.toFixed(1)} s (preprocessing until ${(firstSeen.fold ?? 0).toFixed(1)} s), ${cv.trained} folds trained in ${cv.seconds.toFixed(1)} s, max ${cv.folds[0]?.maxEpochs} epochs; cross-validated accuracy ${(cv.accuracy * 100).toFixed(2)} %`);
  console.error(`${kind}: fold epochs ${cv.folds.map((f) => f.epochs).join(', ')}; fold accuracy ${cv.folds.map((f) => (f.accuracy * 100).toFixed(1)).join(', ')} %`);

  // Baseline 1: the review's own out-of-sample argmax ≠ label.
  const project = openProject(dir);
  const ev = parseEvaluation(project.store.readText(cv.evaluation));
  const oos = new Set();
  const m = ev.classes.length;
  const all = { items: [], labels: [], probs: [] };
  for (const set of Object.values(ev.sets)) {
    const p = set.predictions;
    p.paths.forEach((pth, i) => {
      let best = 0;
      for (let c = 1; c < m; c++) if (p.probs[i * m + c] > p.probs[i * m + best]) best = c;
      if (best !== p.labels[i]) oos.add(index.get(pth));
      all.items.push(index.get(pth));
      all.labels.push(p.labels[i]);
    });
    all.probs.push(p.probs);
  }
  // The same out-of-sample probabilities through each of the paper's filters, and the ranking's
  // precision over its first |flipped| suspects (what a reviewer reading from the top sees).
  const flat = new Float32Array(all.labels.length * m);
  let at = 0;
  for (const p of all.probs) { flat.set(p, at); at += p.length; }
  const filters = {};
  for (const filter of LABEL_ISSUE_FILTERS) {
    const issues = findLabelIssues(all.labels, flat, m, { filter }).issues;
    filters[filter] = score(new Set(issues.map((it) => all.items[it.index])), flipped);
  }
  const top = new Set(r.suspects.slice(0, flipped.size).map((s) => index.get(s.path)));
  const topScore = score(top, flipped);
  // Baseline 2: in-sample — the same network and epochs, trained on every item with its noisy label.
  const tb = performance.now();
  const x = new Float32Array(count * 784);
  for (let i = 0; i < count * 784; i++) x[i] = tr.images[i] / 255;
  const classOf = new Map(CLASS_NAMES.map((c, i) => [c, i]));
  const y = Int32Array.from(labels.map((l) => classOf.get(l)));
  const trained = await train({
    train: { x, y, shape: [28, 28, 1] }, validation: { x: new Float32Array(0), y: new Int32Array(0), shape: [28, 28, 1] },
    numClasses: 10, seed: 0, preset: 'fast', engine: 'wasm', workers: 'auto', maxEpochs: cv.folds[0]?.maxEpochs ?? 10,
  });
  const model = await loadModel(trained.model, { engine: 'wasm' });
  const probs = await predict(model, x);
  model.dispose();
  const inSample = new Set();
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (probs[i * 10 + c] > probs[i * 10 + best]) best = c;
    if (best !== y[i]) inSample.add(i);
  }
  const baselineSeconds = (performance.now() - tb) / 1000;
  rows.push({ kind, flipped: flipped.size, seconds, ours, oos: score(oos, flipped), inSample: score(inSample, flipped), baselineSeconds, accuracy: cv.accuracy, epochs: trained.epochs, filters, topScore });
}

const f = (x) => x.toFixed(3);
console.log(`\nd2 review on ${count.toLocaleString('en')} Fashion-MNIST training images, ${noise * 100} % of labels flipped (seed ${seed}); load average now ${load()}`);
console.log(table(['noise', 'method', 'flagged', 'precision', 'recall', 'wall s'], rows.flatMap((r) => [
  [r.kind, 'd2 review (confident learning, 5-fold)', r.ours.flagged, f(r.ours.precision), f(r.ours.recall), r.seconds.toFixed(1)],
  [r.kind, 'out-of-sample argmax ≠ label', r.oos.flagged, f(r.oos.precision), f(r.oos.recall), '(same run)'],
  [r.kind, `in-sample argmax ≠ label (${r.epochs} epochs)`, r.inSample.flagged, f(r.inSample.precision), f(r.inSample.recall), r.baselineSeconds.toFixed(1)],
  [r.kind, `d2 review's first ${r.flipped} suspects`, r.topScore.flagged, f(r.topScore.precision), f(r.topScore.recall), '(same run)'],
  ...Object.entries(r.filters).map(([name, sc]) => [r.kind, `  filter ${name}`, sc.flagged, f(sc.precision), f(sc.recall), '(same run)']),
])));
console.log(`cross-validated accuracy against the noisy labels: ${rows.map((r) => `${r.kind} ${(r.accuracy * 100).toFixed(2)} %`).join(', ')}`);
const u = rows.find((r) => r.kind === 'uniform');
if (u) {
  console.log(`\ntargets at 5 % uniform noise: precision ${f(u.ours.precision)} (≥ ${TARGET.precision}) ${u.ours.precision >= TARGET.precision ? 'met' : 'NOT met'}, ` +
    `recall ${f(u.ours.recall)} (≥ ${TARGET.recall}) ${u.ours.recall >= TARGET.recall ? 'met' : 'NOT met'}, ` +
    `wall time ${u.seconds.toFixed(1)} s (≤ ${TARGET.seconds} s for 60,000 images) ${count >= 60000 ? (u.seconds <= TARGET.seconds ? 'met' : 'NOT met') : '(not a 60,000-image run)'}`);
}
