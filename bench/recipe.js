// Benchmark of issue 19's recipe: the default image preset's training settings, one variant at a
// time, on Fashion-MNIST (54,000 training images, every tenth of the 60,000 held out for
// validation, the 10,000 t10k tested), through the library's `train()` on d2's default engine
// with its workers — what `d2 build` trains, without the adding and preprocessing around it.
// Each variant replaces plan settings (`planPatch`, a benchmark-only option) and reports its
// epochs, training seconds, best epoch, validation and test accuracy. This is the measurement
// behind the preset's choices in docs/training.md.
//
//   node bench/recipe.js [--variants a,b,...] [--patch JSON] [--train N] [--seed S] [--epochs E]
//
// --epochs E caps every variant at E epochs (a quick look at speed and early accuracy).
// --patch JSON adds a variant 'patch' (run after the named ones; `--variants ''` for it alone):
// plan settings over the current preset, e.g. '{"augment":{"shift":2,"flip":["horizontal"]}}';
// its "layers" key is a network in arch()'s short list, e.g. [["c",32,"valid",5],["p"],…].
//
// Variants (names as in docs/training.md's table):
//   old              the default image preset before issue 19 (conv·32 – conv·48 – dense 128,
//                    Adam 1e-3, cosine to 5 %, 10 epochs, no shifts, no batch norm)
//   old-shift2       the same with 2 px shifts
//   old-bn-warm-e15  the same with shifts, batch norm, a warm-up to 3e-3, 15 epochs
//   old-c64, old-c3, old-c4   the old training on wider or deeper networks (one-epoch probes)
//   current          the default preset as it is
//   current-ls       the same with label smoothing 0.1
//   The default's training with 2 px shifts on other networks (· filters, 5×5 or 3×3, valid or
//   same padding; then pool, and dense 256 – dropout 0.3 at the end):
//   k3               3×3·32 – 3×3·64 (the default from issue 19's first change until this one)
//   k3-ls, k3-flip   k3 with label smoothing 0.1; with horizontal mirrors (as if d2.yaml said so)
//   k5               5×5·32 – 3×3·64        k5-k5         5×5·32 – 5×5·64
//   k5-same          5×5·32 same – 3×3·64   k5-same-f24   5×5·24 same – 3×3·64
//   c48              5×5·32 same – 3×3·48 (the current network)
//   c48-lr5, c48-drop0.2   the same with Adam at 5e-3; with dropout 0.2
//   (current:        c48 with 1 px shifts)
import os from 'node:os';
import { loadSplit, haveFashionMnist } from './lib/fashion-mnist.js';
import { table } from './lib/measure.js';

const { train, planFor } = await import('../dist/engine/train.js');
const { loadModel, predict } = await import('../dist/engine/model.js');

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
if (!haveFashionMnist()) {
  console.error('Fashion-MNIST not found (Debian package dataset-fashion-mnist)');
  process.exit(2);
}
const trainN = Number(opt('--train', '60000'));
const seed = Number(opt('--seed', '0'));

const ADAM = (learningRate) => ({ name: 'adam', learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
const OLD_LAYERS = [['c', 32, 'valid'], ['p'], ['c', 48, 'valid'], ['p'], ['f'], ['d', 128], ['o', 0.3]];
/** The default image preset before issue 19, spelled out (the preset itself has changed). */
const old = (plan, layers = OLD_LAYERS) => ({
  architecture: arch(plan, layers), batchNorm: false, augment: null, labelSmoothing: 0,
  optimizer: ADAM(1e-3), schedule: { kind: 'cosine', minFactor: 0.05 }, maxEpochs: 10, patience: 3,
});
const SHIFT2 = { augment: { shift: 2, flip: [] } };
const VARIANTS = {
  old: (plan) => old(plan),
  'old-shift2': (plan) => ({ ...old(plan), ...SHIFT2 }),
  'old-bn-warm-e15': (plan) => ({ ...old(plan), ...SHIFT2, batchNorm: true, optimizer: ADAM(3e-3), schedule: { kind: 'cosine', minFactor: 0.02, warmup: 0.15 }, maxEpochs: 15 }),
  'old-c64': (plan) => ({ ...old(plan, [['c', 32, 'valid'], ['p'], ['c', 64, 'valid'], ['p'], ['f'], ['d', 128], ['o', 0.3]]), augment: { shift: 1, flip: [] } }),
  'old-c3': (plan) => ({ ...old(plan, [['c', 32, 'valid'], ['p'], ['c', 64, 'valid'], ['p'], ['c', 128, 'same'], ['f'], ['d', 128], ['o', 0.3]]), ...SHIFT2 }),
  'old-c4': (plan) => ({ ...old(plan, [['c', 32, 'same'], ['p'], ['c', 64, 'same'], ['p'], ['c', 128, 'same'], ['p'], ['f'], ['d', 128], ['o', 0.3]]), ...SHIFT2 }),
  current: () => ({}),
  'current-ls': () => ({ labelSmoothing: 0.1 }),
  c48: (plan) => net(plan, [32, 5, 'same'], 48),
  'c48-lr5': (plan) => ({ ...net(plan, [32, 5, 'same'], 48), optimizer: ADAM(5e-3) }),
  'c48-drop0.2': (plan) => net(plan, [32, 5, 'same'], 48, 3, 0.2),
  k3: (plan) => net(plan, [32, 3, 'valid'], 64),
  'k3-ls': (plan) => ({ ...net(plan, [32, 3, 'valid'], 64), labelSmoothing: 0.1 }),
  'k3-flip': (plan) => ({ ...net(plan, [32, 3, 'valid'], 64), augment: { shift: 2, flip: ['horizontal'] } }),
  k5: (plan) => net(plan, [32, 5, 'valid'], 64),
  'k5-k5': (plan) => net(plan, [32, 5, 'valid'], 64, 5),
  'k5-same': (plan) => net(plan, [32, 5, 'same'], 64),
  'k5-same-f24': (plan) => net(plan, [24, 5, 'same'], 64),
};
/**
 * The default's shape with another first convolution ([filters, kernel, padding]), second
 * convolution and dropout, trained with 2 px shifts (as these rows were measured).
 */
function net(plan, [f1, k1, pad1], f2, k2 = 3, dropout = 0.3) {
  return {
    architecture: arch(plan, [['c', f1, pad1, k1], ['p'], ['c', f2, 'valid', k2], ['p'], ['f'], ['d', 256], ['o', dropout]]),
    augment: { shift: 2, flip: [] },
  };
}
/** Layers from a short list: ['c', filters, padding, kernel = 3] (a convolution), ['p'] (2×2 pool), ['f'], ['d', units], ['o', dropout rate]. */
function arch(plan, spec) {
  const layers = spec.map(([k, a, b, size]) => (k === 'c' ? { kind: 'conv2d', filters: a, kernel: size ?? 3, padding: b }
    : k === 'p' ? { kind: 'maxPool', size: 2 } : k === 'f' ? { kind: 'flatten' } : k === 'd' ? { kind: 'dense', units: a, activation: 'relu' } : { kind: 'dropout', rate: a }));
  layers.push({ kind: 'dense', units: plan.architecture.numClasses, activation: 'linear' });
  return { ...plan.architecture, layers };
}
const epochsCap = opt('--epochs', undefined);
const patchJson = opt('--patch', undefined);
if (patchJson !== undefined) {
  let extra;
  try { extra = JSON.parse(patchJson); } catch (e) { console.error(`--patch: not JSON (${e.message})`); process.exit(2); }
  VARIANTS.patch = (plan) => {
    const { layers, ...rest } = extra;
    return layers ? { ...rest, architecture: arch(plan, layers) } : rest;
  };
}
const names = [...(opt('--variants', patchJson === undefined ? 'old,current' : '')).split(',').filter(Boolean), ...(patchJson === undefined ? [] : ['patch'])];
for (const n of names) if (!VARIANTS[n]) { console.error(`unknown variant '${n}' (known: ${Object.keys(VARIANTS).join(', ')})`); process.exit(2); }

function toSet(split, pick) {
  const size = split.height * split.width;
  const idx = [];
  for (let i = 0; i < split.n; i++) if (pick(i)) idx.push(i);
  const x = new Float32Array(idx.length * size);
  const y = new Int32Array(idx.length);
  idx.forEach((i, j) => {
    for (let p = 0; p < size; p++) x[j * size + p] = split.images[i * size + p] / 255;
    y[j] = split.labels[i];
  });
  return { x, y, shape: [split.height, split.width, 1] };
}
const tr = await loadSplit('train');
const te = await loadSplit('t10k');
const trainSet = toSet(tr, (i) => i < trainN && i % 10 !== 0);
const valSet = toSet(tr, (i) => i < trainN && i % 10 === 0);
const testSet = toSet(te, () => true);
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.error(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}; load average at start: ${load()}`);
console.error(`train ${trainSet.y.length}, validation ${valSet.y.length}, test ${testSet.y.length}; seed ${seed}`);

const rows = [];
for (const name of names) {
  const base = planFor({ train: trainSet, numClasses: 10, preset: 'default' });
  const patch = { ...VARIANTS[name](base), ...(epochsCap ? { maxEpochs: Number(epochsCap) } : {}) };
  const t0 = performance.now();
  const r = await train({
    train: trainSet, validation: valSet, numClasses: 10, seed, preset: 'default', planPatch: patch,
    onEpoch: (e) => console.error(`  ${name} epoch ${e.epoch}/${e.maxEpochs}: loss ${e.loss.toFixed(4)}, val loss ${e.valLoss?.toFixed(4)}, val acc ${(e.valAccuracy * 100).toFixed(2)} %, ${e.secondsPerEpoch.toFixed(1)} s/epoch`),
  });
  const seconds = (performance.now() - t0) / 1000;
  const model = await loadModel(r.model);
  const probs = await predict(model, testSet.x);
  let correct = 0;
  for (let i = 0; i < testSet.y.length; i++) {
    let arg = 0;
    for (let c = 1; c < 10; c++) if (probs[i * 10 + c] > probs[i * 10 + arg]) arg = c;
    if (arg === testSet.y[i]) correct++;
  }
  model.dispose?.();
  const best = r.history[r.bestEpoch - 1];
  const row = [name, `${r.epochs} / ${r.bestEpoch}`, r.stoppedBy, seconds.toFixed(1), Math.round(r.samplesPerSecond).toLocaleString('en'), (best.valAccuracy * 100).toFixed(2), ((correct / testSet.y.length) * 100).toFixed(2)];
  rows.push(row);
  console.error(`  ${name}: ${row.join(' | ')}`);
}
console.log(`\nrecipes of the default image preset on Fashion-MNIST (train ${trainSet.y.length.toLocaleString('en')}, validation ${valSet.y.length.toLocaleString('en')}, test ${testSet.y.length.toLocaleString('en')}), seed ${seed}; load average at the end: ${load()}\n`);
console.log(table(['variant', 'epochs / best', 'stopped by', 'train s', 'samples/s', 'val acc % (best)', 'test acc %'], rows));
