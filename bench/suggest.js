// Benchmark of issue "suggest": a simulated labelling loop on Fashion-MNIST. Start from 500
// labelled training images (seeded choice); in each of 5 rounds `d2 suggest -n 500` picks which
// of the remaining training images (the unlabelled pool) to label next, their true labels are
// revealed (the "labelling"), and the project is built again; the test accuracy on the 10,000
// official test images is recorded after each round. The same loop with `--strategy random` in
// the same run is the baseline.
//
//   node bench/suggest.js [--pool N] [--start N] [--batch N] [--rounds R] [--preset P]
//
// Project: source `pool` (flat folder of training images; a labels CSV lists only the labelled
// ones), source `official` (the t10k images, labels from folder names, pinned to test); split
// of the labelled pool items 0.9 train / 0.1 validation. Prints both curves, the suggest step's
// time per round, and how many labels random needs to reach suggest's final accuracy.
import fs from 'node:fs';
import path from 'node:path';
import { pngTree } from './lib/fashion-mnist.js';
import { D2, WORK, freshDir, table, timed } from './lib/measure.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const poolSize = Number(opt('--pool', '60000'));
const start = Number(opt('--start', '500'));
const batch = Number(opt('--batch', '500'));
const rounds = Number(opt('--rounds', '5'));
const preset = opt('--preset', 'default');

const tree = await pngTree(WORK);
const classes = fs.readdirSync(path.join(tree, 'fmnist')).sort();
const env = { ...process.env, CI: '1', GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid' };

// The pool: training images in one flat folder (file name → true class), taken evenly over classes.
const truth = new Map();
const perClass = Math.floor(poolSize / classes.length);
for (const c of classes) {
  for (const f of fs.readdirSync(path.join(tree, 'fmnist', c)).filter((x) => x.startsWith('train-')).sort().slice(0, perClass)) truth.set(f, c);
}
const poolFiles = [...truth.keys()].sort();
// A seeded shuffle (mulberry32) picks the first labelled images.
let a = 12345;
const rnd = () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
const shuffled = [...poolFiles];
for (let i = shuffled.length - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]]; }
const initial = shuffled.slice(0, start);

const last = (r) => JSON.parse(r.stdout.trim().split('\n').pop()).data;

async function loop(strategy) {
  const dir = freshDir(`suggest-${strategy}`);
  const d2 = (argv) => timed(D2, argv, { cwd: dir, env });
  fs.mkdirSync(path.join(dir, 'pool'));
  for (const f of poolFiles) fs.copyFileSync(path.join(tree, 'fmnist', truth.get(f), f), path.join(dir, 'pool', f));
  for (const c of classes) {
    fs.mkdirSync(path.join(dir, 'official', c), { recursive: true });
    for (const f of fs.readdirSync(path.join(tree, 'fmnist', c)).filter((x) => x.startsWith('t10k-'))) fs.copyFileSync(path.join(tree, 'fmnist', c, f), path.join(dir, 'official', c, f));
  }
  const labelled = new Set(initial);
  const writeLabels = () => fs.writeFileSync(path.join(dir, 'labels.csv'), `path,label\n${[...labelled].sort().map((f) => `${f},${truth.get(f)}`).join('\n')}\n`);
  writeLabels();
  await d2(['init', '-q']);
  await d2(['add', 'pool', '--labels', 'labels.csv', '-q']);
  await d2(['add', 'official', '--labels', 'dirname', '-q']);
  const yaml = path.join(dir, 'd2.yaml');
  fs.writeFileSync(yaml, fs.readFileSync(yaml, 'utf8').replace(/(\n  official:\n(    .*\n)*)/, (m) => `${m}    split: test\n`)
    + `dataset:\n  split: { seed: 0, train: 0.9, validation: 0.1, test: 0 }\nmodel:\n  preset: ${preset}\n  seed: 1\n`);
  const curve = [];
  for (let round = 0; ; round++) {
    const b = await d2(['build', '--json']);
    const acc = last(b).build.metrics.test.accuracy;
    curve.push({ round, labels: labelled.size, accuracy: acc, buildSeconds: b.seconds });
    console.error(`${strategy}: round ${round}, ${labelled.size} labels, test accuracy ${(acc * 100).toFixed(2)}% (build ${b.seconds.toFixed(1)} s)`);
    if (round === rounds) break;
    const s = await d2(['suggest', '-n', String(batch), '--checks', '0', '--strategy', strategy, '--source', 'pool', '--json']);
    const picks = last(s).suggestions;
    curve[curve.length - 1].suggestSeconds = s.seconds;
    curve[curve.length - 1].pool = last(s).pool;
    for (const p of picks) labelled.add(p.path.slice('pool/'.length));
    writeLabels();
    await d2(['add', 'pool', '--labels', 'labels.csv', '-q']);
  }
  return curve;
}

const margin = await loop('margin');
const random = await loop('random');

console.log(`\nsimulated labelling on Fashion-MNIST: pool ${poolFiles.length.toLocaleString('en')} training images, start ${start}, +${batch} per round, ${rounds} rounds; test = 10,000 t10k images; preset ${preset}\n`);
console.log(table(['round', 'labels', 'suggest (margin)', 'random', 'Δ points', 'suggest step s', 'pool'], margin.map((m, i) => [
  m.round, m.labels, `${(m.accuracy * 100).toFixed(2)}%`, `${(random[i].accuracy * 100).toFixed(2)}%`,
  ((m.accuracy - random[i].accuracy) * 100).toFixed(2), m.suggestSeconds?.toFixed(1) ?? '', m.pool ?? '',
])));
const final = margin[margin.length - 1].accuracy;
let needed = null;
for (let i = 1; i < random.length; i++) {
  if (random[i].accuracy >= final) {
    const [x0, y0, x1, y1] = [random[i - 1].labels, random[i - 1].accuracy, random[i].labels, random[i].accuracy];
    needed = Math.round(x0 + ((final - y0) / Math.max(1e-9, y1 - y0)) * (x1 - x0));
    break;
  }
}
const ahead = margin.slice(2).every((m, i) => m.accuracy > random[i + 2].accuracy);
console.log(`\nrandom needs ${needed === null ? `more than ${random[random.length - 1].labels}` : `about ${needed}`} labels to reach suggest's final ${(final * 100).toFixed(2)}% (suggest used ${margin[margin.length - 1].labels})`);
console.log(`target: suggest ahead of random at every round from round 2 on: ${ahead ? 'met' : 'NOT met'}`);
const maxStep = Math.max(...margin.filter((m) => m.suggestSeconds).map((m) => m.suggestSeconds));
console.log(`target: a round's suggest step ≤ 30 s for the pool: ${maxStep <= 30 ? 'met' : 'NOT met'} (slowest ${maxStep.toFixed(1)} s, pool up to ${margin[0].pool})`);
console.log(`build seconds per round (margin): ${margin.map((m) => m.buildSeconds.toFixed(0)).join(', ')}`);
