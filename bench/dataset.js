// Benchmark of issue "dataset": `d2 data` over the 70,000 Fashion-MNIST PNGs preprocessed to
// 32x32 (resize + grey + float scaling), end to end — reading raw objects from the store,
// preprocessing on every core, writing packs — cold, then warm (nothing changed), after
// relabelling 100 items, and after adding 700 images. In the same run, Python PIL does the
// same decode + resize + scale over the same files on one core (bench/peers/pil_preprocess.py,
// from disk, what a PyTorch ImageFolder user gets).
//
//   node bench/dataset.js
//
// Prints seconds, images/s, the work each rebuild did, and d2's ratio to PIL.
import fs from 'node:fs';
import path from 'node:path';
import { pngTree } from './lib/fashion-mnist.js';
import { D2, WORK, freshDir, shell, table, timed } from './lib/measure.js';

// The PNG tree, written once and reused: <WORK>/fmnist-png/fmnist/<class>/<split>-<index>.png
const tree = await pngTree(WORK);
const env = { ...process.env, CI: '1', GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid' };
const dir = freshDir('dataset-d2');
await shell(`cp -r ${tree}/fmnist ${dir}/fmnist`);
// Hold 700 images back, to add them later.
const held = path.join(dir, 'held');
const all = (await shell(`cd ${dir} && find fmnist -name '*.png' | sort`)).stdout.split('\n').filter(Boolean);
const heldBack = all.filter((_, i) => i % 100 === 7); // 700 of 70,000
for (const f of heldBack) {
  fs.mkdirSync(path.dirname(path.join(held, f)), { recursive: true });
  fs.renameSync(path.join(dir, f), path.join(held, f));
}
await timed(D2, ['init', '-q'], { cwd: dir, env });
fs.appendFileSync(path.join(dir, 'd2.yaml'), 'preprocess:\n  image:\n    - resize: { width: 32, height: 32 }\n    - channels: 1\n');
await timed(D2, ['add', 'fmnist', '--labels', 'dirname', '-q'], { cwd: dir, env });

async function data(label) {
  const r = await timed(D2, ['data', '--json'], { cwd: dir, env });
  const res = JSON.parse(r.stdout.trim().split('\n').pop()).data;
  return { label, seconds: r.seconds, items: Object.values(res.counts).reduce((n, c) => n + c.total, 0), stats: res.preprocess.stats };
}

const rows = [];
rows.push(await data('cold'));
rows.push(await data('warm (nothing changed)'));
// relabel 100 items in the labels file
const labelsFile = path.join(dir, 'd2.sources', 'fmnist.labels.csv');
const lines = fs.readFileSync(labelsFile, 'utf8').split('\n');
for (let i = 1; i <= 100; i++) lines[i * 600] = lines[i * 600].replace(/,[^,]+$/, ',relabelled');
fs.writeFileSync(labelsFile, lines.join('\n'));
rows.push(await data('after relabelling 100 items'));
// add 700 images
for (const f of heldBack) fs.renameSync(path.join(held, f), path.join(dir, f));
await timed(D2, ['add', 'fmnist', '-q'], { cwd: dir, env });
rows.push(await data('after adding 700 images'));

// The peer: PIL over the same 70,000 files, from disk, one core.
const list = path.join(WORK, 'dataset-files.txt');
fs.writeFileSync(list, all.map((f) => path.join(dir, f)).join('\n'));
const pil = JSON.parse((await timed('/usr/bin/python3', [path.join(path.dirname(new URL(import.meta.url).pathname), 'peers', 'pil_preprocess.py'), '--files', list], { env: { ...env, OPENBLAS_NUM_THREADS: '1' } })).stdout.trim().split('\n').pop());

console.log('\n`d2 data` over 70,000 Fashion-MNIST PNGs → 32×32×1 (wall time of the whole command)\n');
console.log(table(['run', 'seconds', 'items', 'preprocessed', 'copied from cache', 'sets reused'], rows.map((r) => [
  r.label, r.seconds.toFixed(2), r.items, r.stats.computed, r.stats.copied, r.stats.reused ? 'all (no work)' : r.stats.reusedSets,
])));
const cold = rows[0];
const d2Rate = cold.stats.computed / cold.seconds;
console.log(`\ncold: d2 ${Math.round(d2Rate)} images/s (whole command, 2 cores) vs PIL ${Math.round(pil.imagesPerSecond)} images/s (one core, from disk): ratio ${(d2Rate / pil.imagesPerSecond).toFixed(2)}`);
console.log(`targets: cold ≥ 1.0× PIL: ${d2Rate >= pil.imagesPerSecond ? 'met' : 'NOT met'}; warm < 2 s: ${rows[1].seconds < 2 ? 'met' : 'NOT met'}; relabel does no image work: ${rows[2].stats.computed === 0 ? 'met' : 'NOT met'}; adding 700 preprocesses 700: ${rows[3].stats.computed === 700 ? 'met' : `NOT met (${rows[3].stats.computed})`}`);
