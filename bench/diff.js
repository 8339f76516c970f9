// Benchmark of issue "diff": `d2 diff` between two built commits of a Fashion-MNIST project
// whose test split is the official 10,000 test images, when both models' predictions are
// stored (the common case: each commit was built), and when one model must run on items it
// never saw (5,000 new test images added in the later commit) — first run, then cached — and
// the text view (Ink) of the first diff.
//
//   node bench/diff.js [--train N] [--runs R]
//
// Project: source `train` (N train images, default 5,000, split train/validation/test by
// content hash), source `official` (the 10,000 t10k images, pinned to test); model preset fast.
// Prints seconds per scenario. Every figure is measured in this run.
import fs from 'node:fs';
import path from 'node:path';
import { pngTree } from './lib/fashion-mnist.js';
import { D2, WORK, freshDir, median, shell, table, timed } from './lib/measure.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const trainCount = Number(opt('--train', '5000'));
const runs = Number(opt('--runs', '3'));

// The PNG tree, written once and reused: <WORK>/fmnist-png/fmnist/<class>/<split>-<index>.png
const tree = await pngTree(WORK);
const env = { ...process.env, CI: '1', GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid' };
const dir = freshDir('diff-d2');
const classes = fs.readdirSync(path.join(tree, 'fmnist')).sort();
const perClass = Math.floor(trainCount / classes.length);
function copySet(dest, pick) {
  for (const c of classes) {
    fs.mkdirSync(path.join(dir, dest, c), { recursive: true });
    for (const f of pick(fs.readdirSync(path.join(tree, 'fmnist', c)).sort())) fs.copyFileSync(path.join(tree, 'fmnist', c, f), path.join(dir, dest, c, f));
  }
}
copySet('train', (fs_) => fs_.filter((f) => f.startsWith('train-')).slice(0, perClass));
copySet('official', (fs_) => fs_.filter((f) => f.startsWith('t10k-')));

async function d2(argv) {
  return timed(D2, argv, { cwd: dir, env });
}
const last = (r) => JSON.parse(r.stdout.trim().split('\n').pop()).data;

await d2(['init', '-q']);
await d2(['add', 'train', '--labels', 'dirname', '-q']);
await d2(['add', 'official', '--labels', 'dirname', '-q']);
const yaml = path.join(dir, 'd2.yaml');
fs.writeFileSync(yaml, fs.readFileSync(yaml, 'utf8').replace(/(\n  official:\n(    .*\n)*)/, (m) => `${m}    split: test\n`) + 'model:\n  preset: fast\n  seed: 1\n');
console.error('building commit A…');
const buildA = await d2(['build', '-q']);
await d2(['commit', '-q', '-m', 'A']);
// B: 100 train items relabelled, another seed
const labels = path.join(dir, 'd2.sources', 'train.labels.csv');
const lines = fs.readFileSync(labels, 'utf8').trimEnd().split('\n');
for (let i = 1, n = 0; i < lines.length && n < 100; i += 37, n++) {
  const [p, label] = lines[i].split(',');
  lines[i] = `${p},${classes[(classes.indexOf(label) + 1) % classes.length]}`;
}
fs.writeFileSync(labels, `${lines.join('\n')}\n`);
fs.writeFileSync(yaml, fs.readFileSync(yaml, 'utf8').replace('seed: 1', 'seed: 2'));
console.error('building commit B…');
const buildB = await d2(['build', '-q']);
await d2(['commit', '-q', '-m', 'B']);

const cachedRuns = [];
let cached;
for (let i = 0; i < runs; i++) {
  const r = await d2(['diff', 'HEAD~1', 'HEAD', '--json']);
  cachedRuns.push(r.seconds);
  cached = last(r);
}
if (cached.a.model.inferred !== 0 || cached.b.model.inferred !== 0) throw new Error('expected stored predictions only');
const textRuns = [];
for (let i = 0; i < runs; i++) textRuns.push((await d2(['diff', 'HEAD~1', 'HEAD'])).seconds);

// C: 5,000 more images pinned to test: model A has never seen them
copySet('extra', (fs_) => fs_.filter((f) => f.startsWith('train-')).slice(perClass, perClass + 500));
await d2(['add', 'extra', '--labels', 'dirname', '-q']);
fs.writeFileSync(yaml, fs.readFileSync(yaml, 'utf8').replace(/(\n  extra:\n(    .*\n)*)/, (m) => `${m}    split: test\n`));
console.error('building commit C…');
await d2(['build', '-q']);
await d2(['commit', '-q', '-m', 'C']);
const infer = await d2(['diff', 'HEAD~2', 'HEAD', '--json']);
const inferData = last(infer);
if (inferData.a.model.computedNow !== 5000) throw new Error(`expected model A to run on the 5,000 new items, not ${inferData.a.model.computedNow}`);
const inferCached = [];
let again;
for (let i = 0; i < runs; i++) {
  const r = await d2(['diff', 'HEAD~2', 'HEAD', '--json']);
  inferCached.push(r.seconds);
  again = last(r);
}
if (again.a.model.computedNow !== 0) throw new Error('expected the cached predictions to be used');

const items = (d) => d.evaluatedOn.items + d.evaluatedOn.modelTests;
console.log(`\nd2 diff on Fashion-MNIST: ${cached.evaluatedOn.items.toLocaleString('en')} test items (A→B), ${inferData.evaluatedOn.items.toLocaleString('en')} (A→C); train source ${trainCount.toLocaleString('en')} images; builds took ${buildA.seconds.toFixed(1)} s and ${buildB.seconds.toFixed(1)} s (preset fast)\n`);
console.log(table(['scenario', 'items', 'run now', 'seconds'], [
  ['A→B, predictions stored (--json, median)', items(cached), 0, median(cachedRuns).toFixed(2)],
  ['A→B, predictions stored (text view, median)', items(cached), 0, median(textRuns).toFixed(2)],
  ['A→C, model A runs on 5,000 new items', items(inferData), inferData.a.model.computedNow, infer.seconds.toFixed(2)],
  ['A→C again, cached (median)', items(again), again.a.model.computedNow, median(inferCached).toFixed(2)],
]));
console.log(`\ntarget: diff of two built commits (10k test items) with cached predictions < 3 s: ${median(cachedRuns) < 3 ? 'met' : 'NOT met'} (${median(cachedRuns).toFixed(2)} s)`);
console.log(`inference: ${(inferData.a.model.computedNow / Math.max(1e-9, infer.seconds - median(inferCached))).toFixed(0)} items/s beyond the cached diff (decode, A's preprocessing, A's model)`);
console.log(`behaviour A→B: accuracy ${(cached.behaviour.accuracy.before * 100).toFixed(2)}% → ${(cached.behaviour.accuracy.after * 100).toFixed(2)}%, ${cached.behaviour.significance.fixed} fixed, ${cached.behaviour.significance.broken} broken, McNemar p = ${cached.behaviour.significance.pValue.toPrecision(3)}`);
