// Benchmark of issue "fast default engine": the two reference networks trained on Fashion-MNIST
// on d2's default engine (TensorFlow.js on WebAssembly, one engine per core) and, in the same
// run, in PyTorch on the same cores at its best (OPENBLAS_NUM_THREADS=1, two threads): samples/s
// over training steps, the ratio, and test accuracy after the same epochs.
//
//   node bench/train-speed.js [--epochs E] [--train N] [--workers W|auto] [--engine wasm] [--profile]
//
// CNN: conv3x3·16 – maxpool – conv3x3·32 – maxpool – dense 64 – dense 10 (d2 preset 'fast' on
// 28×28×1). MLP: 784 – 256 – 128 – 10 (preset 'fast' on [784]). Batch 64, Adam 1e-3, no early
// stopping. --profile prints where one training step's time goes per kernel.
import { execa } from 'execa';
import path from 'node:path';
import { loadSplit, haveFashionMnist } from './lib/fashion-mnist.js';
import { REPO, table } from './lib/measure.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const epochs = Number(opt('--epochs', '1'));
const trainN = Number(opt('--train', '60000'));
const workersOpt = opt('--workers', 'auto');
const workers = workersOpt === 'auto' ? 'auto' : Number(workersOpt);
const engine = opt('--engine', 'wasm');
const profile = args.includes('--profile');

if (!haveFashionMnist()) {
  console.error('Fashion-MNIST is missing: apt-get update && apt-get install -y dataset-fashion-mnist');
  process.exit(1);
}
const { train } = await import(path.join(REPO, 'dist/engine/train.js'));
const { loadModel, predict } = await import(path.join(REPO, 'dist/engine/model.js'));
const { profileTraining } = await import(path.join(REPO, 'dist/engine/profile.js'));

const tr = await loadSplit('train');
const te = await loadSplit('t10k');
const toFloat = (u8) => { const x = new Float32Array(u8.length); for (let i = 0; i < u8.length; i++) x[i] = u8[i] / 255; return x; };
const trainX = toFloat(tr.images.subarray(0, trainN * 784));
const trainY = Int32Array.from(tr.labels.subarray(0, trainN));
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
  let prof;
  if (profile) prof = await profileTraining({ train: { x: trainX, y: trainY, shape }, numClasses: 10, preset: 'fast', seed: 1, engine, steps: 30 });
  return { sps: result.samplesPerSecond, acc: right / testY.length, workers: result.workers, engine: result.engine.id, prof };
}

// PyTorch at its best: the configuration of the notes (OpenBLAS on one thread, two torch
// threads) and its mirror (OpenBLAS on two threads, one torch thread) are both run; the faster
// counts. Left alone, the two thread pools fight and it runs much slower.
async function torch(net) {
  const runs = [];
  for (const [blas, threads] of [['1', '2'], ['2', '1']]) {
    const r = await execa('/usr/bin/python3', [path.join(REPO, 'bench/peers/torch_train.py'), '--net', net, '--epochs', String(epochs), '--train', String(trainN), '--threads', threads], {
      env: { ...process.env, OPENBLAS_NUM_THREADS: blas },
    });
    runs.push({ ...JSON.parse(r.stdout.trim().split('\n').pop()), config: `OPENBLAS_NUM_THREADS=${blas}, torch threads ${threads}` });
  }
  for (const r of runs) console.error(`  PyTorch ${net} (${r.config}): ${Math.round(r.samples_per_second)} samples/s`);
  return runs.sort((a, b) => b.samples_per_second - a.samples_per_second)[0];
}

const rows = [];
const peers = [];
for (const net of ['cnn', 'mlp']) {
  console.error(`${net}: d2…`);
  const a = await d2(net);
  console.error(`${net}: PyTorch…`);
  const b = await torch(net);
  peers.push(`${net}: PyTorch best with ${b.config}`);
  rows.push([net, Math.round(a.sps).toLocaleString('en'), Math.round(b.samples_per_second).toLocaleString('en'), (a.sps / b.samples_per_second).toFixed(3), (a.acc * 100).toFixed(2), (b.test_accuracy * 100).toFixed(2), `${a.engine} ×${a.workers || 1}`]);
  if (a.prof) {
    console.log(`\n${net}: one training step on ${a.prof.engine} (one thread, batch ${a.prof.batchSize}): ${a.prof.msPerStep.toFixed(2)} ms, ${Math.round(a.prof.samplesPerSecond)} samples/s`);
    console.log(table(['kernel', 'ms/step', 'calls/step', 'share'], a.prof.rows.slice(0, 14).map((r) => [r.kernel, (r.ms / a.prof.steps).toFixed(3), (r.calls / a.prof.steps).toFixed(1), `${(r.share * 100).toFixed(1)}%`])));
  }
}
console.log(`\nreference networks, ${trainN.toLocaleString('en')} Fashion-MNIST training images, ${epochs} epoch(s), batch 64, Adam; test accuracy on 10,000\n`);
console.log(table(['net', 'd2 samples/s', 'PyTorch samples/s', 'd2/PyTorch', 'd2 test acc %', 'PyTorch test acc %', 'd2 engine'], rows));
for (const p of peers) console.log(p);
const ratios = rows.map((r) => Number(r[3]));
console.log(`\ntarget (issue: fast default engine): d2/PyTorch >= 0.25 for both networks: ${ratios.every((x) => x >= 0.25) ? 'met' : 'NOT met'}`);
