// Benchmark of issue 25 (text as a third modality): d2's default text build against
// scikit-learn's TfidfVectorizer + LogisticRegression on the same split, in the same run.
//
// Data: Debian's package list, on every machine of this kind. Recipe (also docs/text.md):
//   1. `apt-get update` (once, as root; this script does not run it), then `apt-cache dumpavail`;
//   2. each stanza is a package: `Package`, `Section` (an archive prefix such as 'contrib/' cut)
//      and the first line of `Description` (the short description); a package listed twice
//      (bookworm, -updates, -security) is kept once, its first stanza;
//   3. the 10 sections with most packages are the classes; other packages are left out;
//   4. split by the first 8 hex digits of SHA-256(package name) / 2^32: < 0.8 train, < 0.9
//      validation, else test; written as train.csv, validation.csv, test.csv
//      (package,description,section), one d2 source each with its split pinned.
// Then, timed: `d2 build --json` (cold: texts counted, both models trained, evaluated), and the
// peer fitted on train.csv and scored on test.csv. Then 100 training items relabelled (in
// d2.sources/train.labels.csv, to the next class) and `d2 build --json` again: it must count no
// text (data.preprocess.stats.computed = 0).
//
//   node bench/text.js [--limit N]     (--limit: the first N packages of the list, for a quick run)
//
// Target (issue): d2's test accuracy within 1 point of the peer's.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { D2, REPO, freshDir, table, timed } from './lib/measure.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const limit = Number(opt('--limit', '0'));

const dump = await execa('apt-cache', ['dumpavail'], { reject: false, maxBuffer: 1 << 30 });
if (dump.exitCode !== 0 || !dump.stdout.includes('Package:')) {
  console.error("bench text: 'apt-cache dumpavail' gave no packages: run 'apt-get update' first");
  process.exit(1);
}
const seen = new Set();
let packages = [];
for (const stanza of dump.stdout.split(/\n\s*\n/)) {
  const field = (name) => new RegExp(`^${name}: (.*)$`, 'm').exec(stanza)?.[1]?.trim();
  const name = field('Package');
  const section = field('Section');
  const description = field('Description');
  if (!name || !section || !description || seen.has(name)) continue;
  seen.add(name);
  packages.push({ name, section: section.slice(section.lastIndexOf('/') + 1), description });
}
if (limit > 0) packages = packages.slice(0, limit);
const counts = new Map();
for (const p of packages) counts.set(p.section, (counts.get(p.section) ?? 0) + 1);
const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10).map(([s]) => s);
packages = packages.filter((p) => top.includes(p.section));
const splitOf = (name) => {
  const u = parseInt(crypto.createHash('sha256').update(name).digest('hex').slice(0, 8), 16) / 2 ** 32;
  return u < 0.8 ? 'train' : u < 0.9 ? 'validation' : 'test';
};

const dir = freshDir('text');
fs.mkdirSync(path.join(dir, 'data'));
const csvCell = (s) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const bySplit = { train: [], validation: [], test: [] };
for (const p of packages) bySplit[splitOf(p.name)].push(p);
for (const [split, rows] of Object.entries(bySplit)) {
  fs.writeFileSync(path.join(dir, 'data', `${split}.csv`), `package,description,section\n${rows.map((p) => [p.name, p.description, p.section].map(csvCell).join(',')).join('\n')}\n`);
}
console.log(`${packages.length} packages in the 10 largest sections (${top.join(', ')}): train ${bySplit.train.length}, validation ${bySplit.validation.length}, test ${bySplit.test.length}`);

const env = { ...process.env, CI: '1' };
const d2 = (a) => timed(process.execPath, [D2, ...a], { cwd: dir, env });
await execa('git', ['init', '-q'], { cwd: dir });
await d2(['init']);
for (const split of ['train', 'validation', 'test']) {
  await d2(['add', `data/${split}.csv`, '--text-column', 'description', '--label-column', 'section', '--id-column', 'package']);
}
// Pin each source's split (the same split the peer gets).
let manifest = fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8');
for (const split of ['train', 'validation', 'test']) manifest = manifest.replace(`    path: data/${split}.csv\n`, `    path: data/${split}.csv\n    split: ${split}\n`);
fs.writeFileSync(path.join(dir, 'd2.yaml'), manifest);

const result = (stdout) => JSON.parse(stdout.trim().split('\n').at(-1)).data;
const cold = await d2(['build', '--json']);
const built = result(cold.stdout);
const m = built.build.metrics;

const peer = await timed('/usr/bin/python3', [path.join(REPO, 'bench', 'peers', 'sklearn_text.py'), '--train', path.join(dir, 'data', 'train.csv'), '--test', path.join(dir, 'data', 'test.csv'), '--text-column', 'description', '--label-column', 'section'], { env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
const sk = JSON.parse(peer.stdout.trim().split('\n').at(-1));

// Relabel 100 training items to the next class, then build again.
const labelsFile = path.join(dir, 'd2.sources', 'train.labels.csv');
const lines = fs.readFileSync(labelsFile, 'utf8').split('\n');
let changed = 0;
for (let i = 1; i < lines.length && changed < 100; i += Math.max(1, Math.floor(lines.length / 100))) {
  const at = lines[i].lastIndexOf(',');
  if (at < 0) continue;
  const label = lines[i].slice(at + 1);
  lines[i] = `${lines[i].slice(0, at + 1)}${top[(top.indexOf(label) + 1) % top.length]}`;
  changed++;
}
fs.writeFileSync(labelsFile, lines.join('\n'));
const again = await d2(['build', '--json']);
const rebuilt = result(again.stdout);
const stats = rebuilt.data.preprocess.stats;

const sel = built.build.selection;
console.log(table(['', 'test accuracy', 'macro-F1', 'seconds'], [
  ['d2 build (cold)', m.test.accuracy.toFixed(4), m.test.macroF1.toFixed(4), cold.seconds.toFixed(1)],
  ['scikit-learn', sk.accuracy.toFixed(4), sk.macroF1.toFixed(4), sk.seconds.toFixed(1)],
]));
console.log(`d2 kept '${sel?.chosen}' (validation loss: linear ${sel?.candidates.linear.valLoss?.toFixed(4)} in ${sel?.candidates.linear.epochs} epochs, small MLP ${sel?.candidates.mlp.valLoss?.toFixed(4)} in ${sel?.candidates.mlp.epochs} epochs); input ${built.build.preprocess.shape[0]} columns, peer vocabulary ${sk.vocabulary}`);
console.log(`accuracy d2 − peer: ${((m.test.accuracy - sk.accuracy) * 100).toFixed(2)} points (target ≥ −1.00); wall time ratio d2/peer ${(cold.seconds / sk.seconds).toFixed(2)}×`);
console.log(`rebuild after relabelling ${changed} items: ${again.seconds.toFixed(1)} s, texts counted ${stats.computed}, reused from the cache ${stats.copied} (target: 0 counted)`);
if (stats.computed !== 0) process.exitCode = 1;
