// Benchmark of issue "research journal": `d2 log --metrics` over a history of 1,000 commits
// (target: at most 2 s), and the other views of the same journal.
//
//   node bench/log.js [--commits N] [--items I] [--runs R] [--no-listings]
//
// History (written with `git fast-import`, so it takes seconds, not a thousand builds): one
// dirname-labelled source starting at I items (default 2,000); every commit adds 3 items,
// relabels one item in place and moves one to another class folder (a relabel too); every
// third commit records a new d2.lock (test metrics drift, a model test breaks now and then);
// every hundredth changes d2.yaml's model seed; every tenth has a note (refs/notes/d2). The
// listing objects the snapshots name are written to .d2/ (as `d2 add` leaves them), unless
// --no-listings (a clone that has not pulled: relabels by moving are then not counted).
// Prints seconds per command (median of R runs) and checks the journal's numbers.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { serializeListing, sortListing } from '../dist/core/listing.js';
import { serializeLabels, serializeLock, serializeSnapshot } from '../dist/manifest/index.js';
import { ObjectStore } from '../dist/store/index.js';
import { sha256Hex } from '../dist/util/hash.js';
import { D2, freshDir, median, table, timed } from './lib/measure.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const commits = Number(opt('--commits', '1000'));
const startItems = Number(opt('--items', '2000'));
const runs = Number(opt('--runs', '3'));
const listings = !args.includes('--no-listings');

const dir = freshDir('log-d2');
const env = { ...process.env, CI: '1', NO_COLOR: '1', GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid' };
const classes = ['bag', 'coat', 'dress', 'shirt', 'sneaker'];
const store = new ObjectStore(dir);
store.init();

// Items: path -> { oid, label }; deterministic.
const items = new Map();
let next = 0;
const addItem = () => {
  const label = classes[next % classes.length];
  const p = `${label}/img-${String(next).padStart(6, '0')}.png`;
  items.set(p, { oid: sha256Hex(`item ${next}`), label });
  next++;
};
for (let i = 0; i < startItems; i++) addItem();

const manifest = (seed) => `version: 1\nsources:\n  data:\n    path: data\n    labels: dirname\nmodel:\n  preset: fast\n  seed: ${seed}\n`;
const fakeOid = (s) => sha256Hex(s);
function lockText(i, accuracy, failed) {
  return serializeLock({
    format: 1, dataset: fakeOid(`dataset ${i}`), classes,
    preprocess: { modality: 'image', config: fakeOid('config'), derived: true, steps: [], shape: [28, 28, 1] },
    model: { oid: fakeOid(`model ${i}`), build: fakeOid(`key ${i}`), record: fakeOid(`record ${i}`), preset: 'fast', seed: 0, architecture: 'cnn conv16-pool', engine: 'wasm@4.22.0', trainer: 'd2-trainer-2', epochs: 10, stopped: 'patience' },
    evaluation: fakeOid(`evaluation ${i}`),
    metrics: {
      validation: { count: 200, accuracy, macroF1: accuracy - 0.01 },
      test: { count: 200, accuracy, macroF1: accuracy - 0.02 },
      modelTests: { count: 10, passed: 10 - failed.length, failed },
    },
  });
}

// The fast-import stream.
const chunks = [];
const data = (text) => { const b = Buffer.from(text, 'utf8'); chunks.push(Buffer.from(`data ${b.length}\n`), b, Buffer.from('\n')); };
const expected = [];
let seed = 0;
let accuracy = 0.8;
let lock;
let moved = 0;
const setup = Date.now();
for (let i = 0; i < commits; i++) {
  let relabels = 0;
  if (i > 0) {
    // items of the previous commit (a relabel of an item new in this commit is no relabel)
    const keys = [...items.keys()];
    for (let k = 0; k < 3; k++) addItem();
    // one relabel in place (the labels CSV says another class for the same path)…
    const inPlace = keys[(i * 7919) % keys.length];
    const it = items.get(inPlace);
    it.label = classes[(classes.indexOf(it.label) + 1) % classes.length];
    // …and one by moving the file to another class folder (same content, new path)
    const from = keys[(i * 104729 + 1) % keys.length];
    if (from !== inPlace) {
      const old = items.get(from);
      const to = classes[(classes.indexOf(from.split('/')[0]) + 2) % classes.length];
      const target = `${to}/moved-${moved++}.png`;
      items.delete(from);
      items.set(target, { oid: old.oid, label: to });
      if (old.label !== to) relabels++;
    }
    relabels++;
  }
  const entries = sortListing([...items].map(([p, v]) => ({ path: p, oid: v.oid, size: 300 })));
  const listingText = serializeListing(entries);
  const listingOid = listings ? store.putBytes(listingText) : sha256Hex(listingText);
  const snapshot = serializeSnapshot({ format: 1, source: 'data', listing: listingOid, items: items.size, bytes: items.size * 300, labelled: items.size });
  const labels = serializeLabels(new Map([...items].map(([p, v]) => [p, v.label])));
  if (i % 100 === 99) seed++;
  const newLock = i % 3 === 0;
  if (newLock) {
    accuracy = Math.min(0.95, Math.max(0.6, accuracy + (((i * 37) % 11) - 5) / 1000));
    lock = lockText(i, accuracy, i % 30 === 0 && i > 0 ? [`data/${[...items.keys()][i % items.size]}`] : []);
  }
  chunks.push(Buffer.from(`commit refs/heads/main\nmark :${i + 1}\ncommitter bench <bench@example.invalid> ${1700000000 + i * 60} +0000\n`));
  data(`commit ${i}`);
  if (i > 0) chunks.push(Buffer.from(`from :${i}\n`));
  chunks.push(Buffer.from('M 100644 inline d2.yaml\n')); data(manifest(seed));
  chunks.push(Buffer.from('M 100644 inline d2.sources/data.yaml\n')); data(snapshot);
  chunks.push(Buffer.from('M 100644 inline d2.sources/data.labels.csv\n')); data(labels);
  chunks.push(Buffer.from('M 100644 inline d2.lock\n')); data(lock);
  expected.push({ items: items.size, relabels: i === 0 ? null : relabels, lockChanged: newLock });
}
// notes on every tenth commit
chunks.push(Buffer.from(`commit refs/notes/d2\ncommitter bench <bench@example.invalid> 1800000000 +0000\n`));
data('notes');
for (let i = 0; i < commits; i += 10) {
  chunks.push(Buffer.from(`N inline :${i + 1}\n`));
  data(`tried variant ${i}: ${i % 20 === 0 ? 'worked' : 'did not help'}\n`);
}
await execa('git', ['init', '-q', '-b', 'main', dir]);
await execa('git', ['fast-import', '--quiet'], { cwd: dir, input: Buffer.concat(chunks) });
await execa('git', ['checkout', '-q', '-f', 'main'], { cwd: dir });
console.error(`history: ${commits} commits, ${startItems} → ${items.size} items, written in ${((Date.now() - setup) / 1000).toFixed(1)} s (listings in the store: ${listings ? 'yes' : 'no'})`);

// Check the journal against what was written.
const journal = JSON.parse((await timed(D2, ['log', '--json'], { cwd: dir, env })).stdout.trim().split('\n').pop()).data.commits;
const wrong = [];
if (journal.length !== commits) wrong.push(`${journal.length} entries, expected ${commits}`);
journal.forEach((c, k) => {
  const e = expected[commits - 1 - k];
  if (c.items !== e.items) wrong.push(`${c.commit.slice(0, 7)}: ${c.items} items, expected ${e.items}`);
  if (e.relabels !== null && listings && c.change.relabels !== e.relabels) wrong.push(`${c.commit.slice(0, 7)}: ${c.change.relabels} relabels, expected ${e.relabels}`);
  if (e.relabels !== null && e.lockChanged !== (c.build === 'new')) wrong.push(`${c.commit.slice(0, 7)}: build '${c.build}'`);
});
if ((journal.filter((c) => c.note).length) !== Math.ceil(commits / 10)) wrong.push('notes missing');
if (wrong.length) {
  console.error(`journal differs from the history written:\n  ${wrong.slice(0, 10).join('\n  ')}`);
  process.exitCode = 1;
}

const rows = [];
for (const [what, argv] of [['d2 log --metrics', ['log', '--metrics']], ['d2 log (text)', ['log']], ['d2 log --md', ['log', '--md']], ['d2 log --json', ['log', '--json']], ['d2 log --metrics -n 20', ['log', '--metrics', '-n', '20']]]) {
  const times = [];
  for (let r = 0; r < runs; r++) times.push((await timed(D2, argv, { cwd: dir, env })).seconds);
  rows.push([what, `${median(times).toFixed(2)} s`, times.map((t) => t.toFixed(2)).join(' ')]);
}
console.log(table(['command', 'median', 'runs'], rows));
const metrics = Number(rows[0][1].split(' ')[0]);
console.log(`\nd2 log --metrics over ${commits} commits: ${metrics.toFixed(2)} s (target ≤ 2 s: ${metrics <= 2 ? 'met' : 'NOT met'})`);
