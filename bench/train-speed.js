// Benchmark of issue "fast default engine": the two reference networks trained on Fashion-MNIST
// on d2's default engine (TensorFlow.js on WebAssembly, one engine per core in worker threads)
// and, in the same run, in PyTorch on the same cores at its best (OPENBLAS_NUM_THREADS=1, two
// intra-op threads): samples/s over training steps (start-up and evaluation excluded, on both
// sides), their ratio, and test accuracy on the 10,000 test images after the same epochs.
//
//   node bench/train-speed.js [--epochs E] [--train N] [--repeat R] [--quick]
//                             [--workers W|auto] [--engine wasm] [--net cnn|mlp] [--profile]
//
// CNN: conv3x3·16 – maxpool – conv3x3·32 – maxpool – dense 64 – dense 10 (d2 preset 'fast' on
// 28×28×1). MLP: 784 – 256 – 128 – 10 (preset 'fast' on [784]). Batch 64, Adam 1e-3, a fixed
// number of epochs, no early stopping. Each configuration runs R times, d2 and PyTorch
// alternately (so both see the same background load); medians are reported, and every run's
// figure is printed to stderr. --quick: 8,000 training images, one run. --profile: where one
// training step's time goes (per kernel and per d2 phase), on one thread.
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { loadSplit, haveFashionMnist } from './lib/fashion-mnist.js';
import { median, REPO, table } from './lib/measure.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const quick = args.includes('--quick');
const epochs = Number(opt('--epochs', '1'));
const trainN = Number(opt('--train', quick ? '8000' : '60000'));
const repeat = Number(opt('--repeat', quick ? '1' : '3'));
const workersOpt = opt('--workers', 'auto');
const workers = workersOpt === 'auto' ? 'auto' : Number(workersOpt);
const engine = opt('--engine', 'wasm');
const nets = opt('--net', 'cnn,mlp').split(',');
const profile = args.includes('--profile');
for (const [name, v] of [['--epochs', epochs], ['--train', trainN], ['--repeat', repeat]]) {
  if (!Number.isInteger(v) || v < 1) { console.error(`${name} must be a whole number >= 1`); process.exit(1); }
}

if (!haveFashionMnist()) {
  console.error('Fashion-MNIST is missing: apt-get update && apt-get install -y dataset-fashion-mnist');
  process.exit(1);
}
const { train } = await import(path.join(REPO, 'dist/engine/train.js'));
const { loadModel, predict } = await import(path.join(REPO, 'dist/engine/model.js'));
const { profileTrainingSummary } = await import(path.join(REPO, 'dist/engine/profile.js'));

const tr = await loadSplit('train');
const te = await loadSplit('t10k');
const toFloat = (u8) => { const x = new Float32Array(u8.length); for (let i = 0; i < u8.length; i++) x[i] = u8[i] / 255; return x; };
const n = Math.min(trainN, tr.n);
const trainX = toFloat(tr.images.subarray(0, n * 784));
const trainY = Int32Array.from(tr.labels.subarray(0, n));
const testX = toFloat(te.images);
const testY = Int32Array.from(te.labels);

async function d2(net) {
  const shape = net === 'cnn' ? [28, 28, 1] : [784];
  const result = await train({
    train: { x: trainX, y: trainY, shape }, validation: { x: new Float32Array(0), y: new Int32Array(0), shape },
    numClasses: 10, seed: 1, preset: 'fast', engine, workers, epochsOverride: epochs,
  });
  const model = await loadModel(result.model, { engine });
  const probs = await predict(model, testX);
  model.dispose();
  let right = 0;
  for (let i = 0; i < testY.length; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (probs[i * 10 + c] > probs[i * 10 + best]) best = c;
    if (best === testY[i]) right++;
  }
  return { sps: result.samplesPerSecond, acc: right / testY.length, workers: result.workers, engine: result.engine.id };
}

// PyTorch at its best on these cores: OpenBLAS on one thread, two torch threads (left alone,
// the two thread pools fight and it runs about 2.5× slower).
async function torch(net) {
  const r = await execa('/usr/bin/python3', [path.join(REPO, 'bench/peers/torch_train.py'), '--net', net, '--epochs', String(epochs), '--train', String(n), '--threads', '2'], {
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
  });
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  return { sps: out.samples_per_second, acc: out.test_accuracy };
}

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const loadAtStart = os.loadavg()[0];
console.error(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}; load average at start: ${load()}`);
const rows = [];
for (const net of nets) {
  const ours = [];
  const theirs = [];
  for (let r = 0; r < repeat; r++) {
    const a = await d2(net);
    ours.push(a);
    console.error(`  ${net} run ${r + 1}/${repeat}: d2 ${Math.round(a.sps)} samples/s (${a.engine} × ${a.workers || 1}), test accuracy ${(a.acc * 100).toFixed(2)} %`);
    const b = await torch(net);
    theirs.push(b);
    console.error(`  ${net} run ${r + 1}/${repeat}: PyTorch ${Math.round(b.sps)} samples/s, test accuracy ${(b.acc * 100).toFixed(2)} %`);
  }
  const d2Sps = median(ours.map((a) => a.sps));
  const torchSps = median(theirs.map((b) => b.sps));
  const last = ours.at(-1);
  rows.push([
    net, Math.round(d2Sps).toLocaleString('en'), Math.round(torchSps).toLocaleString('en'), (d2Sps / torchSps).toFixed(3),
    (last.acc * 100).toFixed(2), (median(theirs.map((b) => b.acc)) * 100).toFixed(2), `${last.engine} × ${last.workers || 1}`,
  ]);
  if (profile) {
    const shape = net === 'cnn' ? [28, 28, 1] : [784];
    const p = await profileTrainingSummary({ train: { x: trainX, y: trainY, shape }, numClasses: 10, preset: 'fast', seed: 1, engine, steps: 30 });
    console.log(`\n${net}: one training step on ${p.engine} (one thread, batch ${p.batchSize}, ${p.steps} steps): ${p.msPerStep.toFixed(2)} ms, ${Math.round(p.samplesPerSecond)} samples/s`);
    console.log(table(['kernel or d2 phase (self time)', 'ms/step', 'calls/step', 'share'], p.rows.filter((x) => x.share >= 0.002).map((x) => [x.kernel, (x.ms / p.steps).toFixed(3), (x.calls / p.steps).toFixed(1), `${(x.share * 100).toFixed(1)}%`])));
  }
}
console.log(`\nreference networks, ${n.toLocaleString('en')} Fashion-MNIST training images, ${epochs} epoch(s), batch 64, Adam 1e-3; median of ${repeat} run(s); test accuracy on 10,000`);
console.log(`${os.cpus().length} cores, load average at the end: ${load()}\n`);
console.log(table(['net', 'd2 samples/s', 'PyTorch samples/s', 'd2/PyTorch', 'd2 test acc %', 'PyTorch test acc %', 'd2 engine × workers'], rows));
// Issue 19's targets: reference CNN ≥ 0.75 × PyTorch, MLP ≥ 0.6 ×.
const TARGETS = { cnn: 0.75, mlp: 0.6 };
for (const r of rows) {
  const target = TARGETS[r[0]];
  if (target !== undefined) console.log(`target (issue 19): ${r[0]} d2/PyTorch >= ${target}: ${Number(r[3]) >= target ? 'met' : 'NOT met'} (${r[3]})`);
}
// PyTorch's two threads spin while they wait for each other: on a machine busier than its
// cores it slows far more than d2, and the ratio says nothing about PyTorch at its best.
const busy = Math.max(loadAtStart, os.loadavg()[0]);
if (busy > os.cpus().length) console.log(`warning: load average ${busy.toFixed(1)} on ${os.cpus().length} cores: PyTorch was not at its best, the ratios overstate d2`);
