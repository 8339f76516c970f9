// Benchmark of issue 25, deliverable 3 (a text or table build keeps the better of softmax
// regression and an MLP, cross-validated when the data is small): on scikit-learn's small
// bundled tables, which candidate d2's 5-fold cross-validated choice keeps, which the single
// validation split would have kept (both scores are in the build record), and the same two
// choices made by scikit-learn's LogisticRegression and MLPClassifier on the same split, in
// the same run (bench/peers/sklearn_tables.py).
//
// Data: iris (150 rows), wine (178), breast_cancer (569), digits (1,797), shipped inside
// Debian's python3-sklearn (nothing is downloaded). Each row's split: the first 8 hex digits of
// SHA-256(row id) / 2^32: < 0.8 train, < 0.9 validation, else test; one d2 source per split,
// its split pinned, so d2 and the peer see the same rows.
//
//   node bench/model-selection.js [--only iris,wine]
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { D2, REPO, freshDir, table, timed } from './lib/measure.js';

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : ['iris', 'wine', 'breast_cancer', 'digits'];
const PY = '/usr/bin/python3';
const PEER = path.join(REPO, 'bench', 'peers', 'sklearn_tables.py');
const env = { ...process.env, CI: '1' };
const splitOf = (id) => {
  const u = parseInt(crypto.createHash('sha256').update(id).digest('hex').slice(0, 8), 16) / 2 ** 32;
  return u < 0.8 ? 'train' : u < 0.9 ? 'validation' : 'test';
};
const f4 = (x) => (x === null || x === undefined ? 'n/a' : x.toFixed(4));
const pick = (l, m) => (l !== null && m !== null && m < l ? 'mlp' : 'linear');

const rows = [];
const peerRows = [];
for (const name of only) {
  const dump = await execa(PY, [PEER, '--dump', name]);
  const [header, ...lines] = dump.stdout.trim().split('\n');
  const dir = freshDir(`model-selection-${name}`);
  fs.mkdirSync(path.join(dir, 'data'));
  const by = { train: [], validation: [], test: [] };
  for (const l of lines) by[splitOf(l.slice(0, l.indexOf(',')))].push(l);
  for (const [split, ls] of Object.entries(by)) fs.writeFileSync(path.join(dir, 'data', `${split}.csv`), `${header}\n${ls.join('\n')}\n`);
  const d2 = (a) => timed(process.execPath, [D2, ...a], { cwd: dir, env });
  await execa('git', ['init', '-q'], { cwd: dir });
  await d2(['init']);
  for (const split of Object.keys(by)) await d2(['add', `data/${split}.csv`, '--label-column', 'label', '--id-column', 'id']);
  let manifest = fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8');
  for (const split of Object.keys(by)) manifest = manifest.replace(`    path: data/${split}.csv\n`, `    path: data/${split}.csv\n    split: ${split}\n`);
  fs.writeFileSync(path.join(dir, 'd2.yaml'), manifest);
  const built = await d2(['build', '--json']);
  const b = JSON.parse(built.stdout.trim().split('\n').at(-1)).data.build;
  const s = b.selection;
  const c = s.candidates;
  const peer = await timed(PY, [PEER, '--peer', ...['train', 'validation', 'test'].map((x) => path.join(dir, 'data', `${x}.csv`))], { env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
  const p = JSON.parse(peer.stdout.trim().split('\n').at(-1));
  const n = by.train.length + by.validation.length;
  rows.push([name, `${n}/${by.validation.length}`, s.method === 'cross-validation' ? `cv(${s.k})` : 'split',
    s.chosen, pick(c.linear.valLoss, c.mlp.valLoss),
    `${f4(c.linear.cvLoss)} / ${f4(c.mlp.cvLoss)}`, `${f4(c.linear.valLoss)} / ${f4(c.mlp.valLoss)}`,
    f4(b.metrics.test.accuracy), b.seconds.toFixed(1), built.seconds.toFixed(1)]);
  peerRows.push([name, pick(p.linear.cvLoss, p.mlp.cvLoss), pick(p.linear.valLoss, p.mlp.valLoss),
    `${f4(p.linear.cvLoss)} / ${f4(p.mlp.cvLoss)}`, `${f4(p.linear.valLoss)} / ${f4(p.mlp.valLoss)}`,
    `${f4(p.linear.testAccuracy)} / ${f4(p.mlp.testAccuracy)}`, p.seconds.toFixed(1)]);
}
console.log('d2 (default build: both candidates on the split, and 5-fold CV below 2,000 items)');
console.log(table(['table', 'n/val', 'how', 'kept', 'split would keep', 'CV loss lin / mlp', 'val loss lin / mlp', 'test acc', 'final s', 'build s'], rows));
console.log("'final s': training the two candidates on the split (the build record's seconds); 'build s': the whole 'd2 build' (process start, preprocessing, the 10 fold trainings, evaluation)");
console.log('\nscikit-learn on the same split (LogisticRegression, MLPClassifier(64), standardised)');
console.log(table(['table', 'CV keeps', 'split keeps', 'CV loss lin / mlp', 'val loss lin / mlp', 'test acc lin / mlp', 'seconds'], peerRows));
