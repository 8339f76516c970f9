// Benchmark of issue "predict": prediction throughput of a Fashion-MNIST model over the 10,000
// test images, against the PyTorch reference CNN on the same CPU in the same run
// (bench/peers/torch_predict.py: OPENBLAS_NUM_THREADS=1, two threads). The model is d2's 'fast'
// preset — the same network as the PyTorch reference — trained on 6,000 training images (the
// figures are throughput; accuracy is printed as a sanity check).
//
//   node bench/predict.js
//
// Figures: `d2 predict` over the 10,000 PNG files, cold (process start, model load, decode,
// preprocess, infer, JSON lines out); the library's loadModel().predictFeatures over the test
// tensors already in memory (what PyTorch's ≈ 14,000 images/s in the notes measures); and the
// same two for PyTorch.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { CLASS_NAMES, loadSplit, pngTree } from './lib/fashion-mnist.js';
import { D2, REPO, WORK, freshDir, median, table, timed } from './lib/measure.js';

const runs = 3;
const tree = path.join(await pngTree(WORK), 'fmnist');
const dir = freshDir('predict-d2');
const env = { ...process.env, CI: '1', GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid' };
const d2 = (args, options = {}) => timed(process.execPath, [D2, ...args], { cwd: dir, env, ...options });

// Train on 600 training images per class; predict the t10k images (in their class folders).
const testDir = path.join(dir, 'test');
for (const cls of CLASS_NAMES) {
  fs.mkdirSync(path.join(dir, 'train', cls), { recursive: true });
  fs.mkdirSync(path.join(testDir, cls), { recursive: true });
  const names = fs.readdirSync(path.join(tree, cls)).sort();
  for (const f of names.filter((n) => n.startsWith('train-')).slice(0, 600)) fs.copyFileSync(path.join(tree, cls, f), path.join(dir, 'train', cls, f));
  for (const f of names.filter((n) => n.startsWith('t10k-'))) fs.copyFileSync(path.join(tree, cls, f), path.join(testDir, cls, f));
}
await d2(['init']);
await d2(['add', 'train', '--labels', 'dirname']);
fs.appendFileSync(path.join(dir, 'd2.yaml'), '\nmodel:\n  preset: fast\n');
console.error('training the fast preset on 6,000 images…');
await d2(['build']);

// d2 predict, cold, from files (median of runs); accuracy from the folder names
const files = [];
let predicted;
for (let r = 0; r < runs; r++) {
  const out = path.join(dir, `predict-${r}.jsonl`);
  const t = await timed('bash', ['-c', `${JSON.stringify(process.execPath)} ${JSON.stringify(D2)} predict test --top 1 --json > ${JSON.stringify(out)}`], { cwd: dir, env });
  files.push(t.seconds);
  predicted = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'prediction');
}
const correct = predicted.filter((p) => p.top[0]?.label === p.input.split('/').at(-2)).length;

// The library over tensors in memory (the items preprocessed as the build does: x / 255)
const { loadModel } = await import(path.join(REPO, 'dist', 'index.js'));
const t10k = await loadSplit('t10k');
const x = new Float32Array(t10k.images.length);
for (let i = 0; i < x.length; i++) x[i] = t10k.images[i] / 255;
const model = await loadModel({ dir });
await model.predictFeatures(x.subarray(0, 784 * 256));
const tensor = [];
for (let r = 0; r < runs; r++) {
  const t = performance.now();
  await model.predictFeatures(x);
  tensor.push((performance.now() - t) / 1000);
}
const engine = model.engine;
await model.dispose();

// PyTorch, same machine, same run
const torch = [];
for (let r = 0; r < runs; r++) {
  const p = await execa('/usr/bin/python3', [path.join(REPO, 'bench', 'peers', 'torch_predict.py'), '--png-dir', testDir], { env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
  torch.push(JSON.parse(p.stdout.trim().split('\n').at(-1)));
}
const tt = median(torch.map((t) => t.tensorSeconds));
const tf = median(torch.map((t) => t.importSeconds + t.fileSeconds));
const n = t10k.n;
const rate = (s) => Math.round(n / s).toLocaleString('en-US');
const df = median(files);
const dt = median(tensor);
console.log(`\nprediction of the ${n.toLocaleString('en-US')} Fashion-MNIST test images; reference CNN (d2 preset fast); ${engine}; median of ${runs} runs; 2 cores`);
console.log(table(['job', 'd2 s', 'd2 images/s', 'PyTorch s', 'PyTorch images/s', 'd2 / PyTorch'], [
  ['from PNG files, cold (whole process / import + decode + infer)', df.toFixed(2), rate(df), tf.toFixed(2), rate(tf), `${(tf / df).toFixed(2)}×`],
  ['from tensors in memory', dt.toFixed(3), rate(dt), tt.toFixed(3), rate(tt), `${(tt / dt).toFixed(2)}×`],
]));
console.log(`runs (s): d2 predict ${files.map((s) => s.toFixed(2)).join(', ')}; d2 tensors ${tensor.map((s) => s.toFixed(3)).join(', ')}; PyTorch import + files ${torch.map((t) => `${t.importSeconds.toFixed(2)} + ${t.fileSeconds.toFixed(2)}`).join(', ')}; PyTorch tensors ${torch.map((t) => t.tensorSeconds.toFixed(3)).join(', ')}`);
console.log(`d2 predict accuracy on the test images: ${(correct / predicted.length * 100).toFixed(2)} % (${predicted.length.toLocaleString('en-US')} rows); PyTorch: ${(torch[0].accuracy * 100).toFixed(2)} % (both trained briefly: throughput is the figure)`);
