// Benchmark of issue "model.backbone": transfer learning from a real pretrained network against
// d2's default from-scratch build, in the same run, on the same items.
//
// Data: Fashion-MNIST, the first --per-class (100) training images of each class as the
// labelled pool (split by hash into train 85 % / validation 15 %), and the first
// --test-per-class (100) t10k images of each class as a source pinned to the test split.
// Backbone: MobileNetV2 as shipped inside the npm package `nsfwjs` (a devDependency; its weights
// are ImageNet MobileNetV2 fine-tuned for nsfwjs's five classes; d2 cuts before its classifier,
// at flatten_1: 1,280 features). The package wraps model.json and the weights in JS modules;
// this script writes them out as a plain TensorFlow.js folder ("vendored") in the project.
//
// Measured (the real bin/d2, wall time):
//   1. from scratch: `d2 build` with d2.yaml's defaults (derived steps 28×28×1, the default CNN);
//   2. backbone, cold: `d2 build` with `model.backbone` (pack at 224×224×3, embed every item,
//      train the head);
//   3. head only: `d2 build` again after changing the seed (a new build: every embedding is
//      cached, only the head trains), --head-runs times (seeds 1, 2, 3: the median is
//      reported) — target ≤ 15 s for 1,000 labelled images;
// and the test accuracy of 1 and 2 (same test items).
//
//   node bench/backbone.js [--per-class 100] [--test-per-class 100] [--head-runs 3] [--quick]
//
// --quick: 20 labelled and 10 test images per class.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { CLASS_NAMES, loadSplit, pngTree } from './lib/fashion-mnist.js';
import { D2, REPO, WORK, freshDir, table, timed } from './lib/measure.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const quick = args.includes('--quick');
const perClass = Number(opt('--per-class', quick ? '20' : '100'));
const testPerClass = Number(opt('--test-per-class', quick ? '10' : '100'));
const headRuns = Number(opt('--head-runs', '3'));
const TARGET_HEAD_SECONDS = 15;

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.error(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}; load average at start: ${load()}`);

// The pretrained network, from the npm package (no download at run time).
const require = createRequire(path.join(REPO, 'package.json'));
let nsfwDir;
try {
  nsfwDir = path.dirname(require.resolve('nsfwjs/package.json'));
} catch {
  nsfwDir = path.join(REPO, 'node_modules', 'nsfwjs');
}
const modelDir = path.join(nsfwDir, 'dist', 'models', 'mobilenet_v2');
if (!fs.existsSync(path.join(modelDir, 'model.min.js'))) {
  console.error("nsfwjs is not installed: run 'npm install' (it is a devDependency of d2, for this benchmark only)");
  process.exit(1);
}

function vendorMobileNet(target) {
  const modelJson = require(path.join(modelDir, 'model.min.js'));
  fs.mkdirSync(target, { recursive: true });
  fs.writeFileSync(path.join(target, 'model.json'), JSON.stringify({ format: 'layers-model', generatedBy: 'nsfwjs 4.4.0 (mobilenet_v2)', ...modelJson }));
  for (const group of modelJson.weightsManifest) {
    for (const p of group.paths) fs.writeFileSync(path.join(target, p), Buffer.from(require(path.join(modelDir, `${p}.min.js`)), 'base64'));
  }
}

// The images: the first perClass training and testPerClass t10k images of each class.
const tree = await pngTree(WORK);
async function firstOfEach(split, n) {
  const { labels } = await loadSplit(split);
  const counts = new Array(CLASS_NAMES.length).fill(0);
  const out = [];
  for (let i = 0; i < labels.length; i++) {
    if (counts[labels[i]] >= n) continue;
    counts[labels[i]]++;
    out.push(`${CLASS_NAMES[labels[i]]}/${split}-${String(i).padStart(5, '0')}.png`);
  }
  return out;
}
const labelled = await firstOfEach('train', perClass);
const test = await firstOfEach('t10k', testPerClass);

const env = { ...process.env, CI: '1', GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid' };

async function project(name) {
  const dir = freshDir(`backbone-${name}-${perClass}`);
  for (const [folder, files] of [['labelled', labelled], ['test', test]]) {
    for (const rel of files) {
      fs.mkdirSync(path.join(dir, folder, path.dirname(rel)), { recursive: true });
      fs.copyFileSync(path.join(tree, 'fmnist', rel), path.join(dir, folder, rel));
    }
  }
  await timed(D2, ['init', '-q'], { cwd: dir, env });
  await timed(D2, ['add', 'labelled', '--labels', 'dirname', '-q'], { cwd: dir, env });
  await timed(D2, ['add', 'test', '--labels', 'dirname', '-q'], { cwd: dir, env });
  return dir;
}

function writeManifest(dir, model) {
  fs.writeFileSync(path.join(dir, 'd2.yaml'), `version: 1
sources:
  labelled:
    path: labelled
    labels: dirname
  test:
    path: test
    labels: dirname
    split: test
dataset:
  split: { train: 0.85, validation: 0.15, test: 0 }
model:
${model}`);
}

async function build(dir) {
  const r = await timed(D2, ['build', '--json'], { cwd: dir, env });
  const data = JSON.parse(r.stdout.trim().split('\n').at(-1)).data;
  return { seconds: r.seconds, data };
}

console.error(`${labelled.length} labelled images (${perClass} per class), ${test.length} test images (${testPerClass} per class)`);
const scratchDir = await project('scratch');
writeManifest(scratchDir, '  seed: 0\n');
const scratch = await build(scratchDir);
console.error(`from scratch: ${scratch.seconds.toFixed(1)} s, ${scratch.data.build.epochs} epochs, test accuracy ${(scratch.data.build.metrics.test.accuracy * 100).toFixed(2)} %`);

const bbDir = await project('mobilenet');
vendorMobileNet(path.join(bbDir, 'models', 'mobilenet_v2'));
writeManifest(bbDir, '  seed: 0\n  backbone:\n    path: models/mobilenet_v2\n');
const cold = await build(bbDir);
const b = cold.data.build;
console.error(`backbone, cold: ${cold.seconds.toFixed(1)} s (${cold.data.embeddings.embedded} items embedded, layer '${b.backbone.layer}', ${b.backbone.dims} features), head ${b.epochs} epochs in ${b.seconds.toFixed(1)} s, test accuracy ${(b.metrics.test.accuracy * 100).toFixed(2)} %`);
// head only: new builds (seeds 1…headRuns) on the cached embeddings; the median is reported
const heads = [];
for (let seed = 1; seed <= headRuns; seed++) {
  writeManifest(bbDir, `  seed: ${seed}\n  backbone:\n    path: models/mobilenet_v2\n`);
  const h = await build(bbDir);
  heads.push(h);
  console.error(`head only (seed ${seed}, embeddings cached): ${h.seconds.toFixed(1)} s wall, ${h.data.build.seconds.toFixed(1)} s training (${h.data.build.epochs} epochs; ${h.data.embeddings.embedded} embedded, ${h.data.embeddings.cached} cached), test accuracy ${(h.data.build.metrics.test.accuracy * 100).toFixed(2)} %, load ${load()}`);
}
const head = [...heads].sort((x, y) => x.seconds - y.seconds)[Math.floor(heads.length / 2)];

const pct = (x) => `${(x * 100).toFixed(2)} %`;
console.log(table(['build', 'wall s', 'test accuracy', 'macro-F1'], [
  ['from scratch (default CNN, 28×28×1)', scratch.seconds.toFixed(1), pct(scratch.data.build.metrics.test.accuracy), pct(scratch.data.build.metrics.test.macroF1)],
  ['MobileNetV2 backbone + head, cold', cold.seconds.toFixed(1), pct(b.metrics.test.accuracy), pct(b.metrics.test.macroF1)],
  [`head on cached embeddings (median of ${heads.length}, seed ${head.data.build.seed})`, head.seconds.toFixed(1), pct(head.data.build.metrics.test.accuracy), pct(head.data.build.metrics.test.macroF1)],
]));
const delta = b.metrics.test.accuracy - scratch.data.build.metrics.test.accuracy;
console.log(`\naccuracy, backbone − from scratch: ${(delta * 100).toFixed(2)} points (${delta > 0 ? 'the backbone wins' : delta < 0 ? 'from scratch wins' : 'a tie'})`);
console.log(`wall time, backbone cold / from scratch: ${(cold.seconds / scratch.seconds).toFixed(2)}×; head on cached embeddings / from scratch: ${(head.seconds / scratch.seconds).toFixed(2)}×`);
console.log(`head rebuild on cached embeddings of ${labelled.length} images: median ${head.seconds.toFixed(1)} s of ${heads.map((h) => h.seconds.toFixed(1)).join(', ')} (target ≤ ${TARGET_HEAD_SECONDS} s for 1,000: ${head.seconds <= TARGET_HEAD_SECONDS ? 'met' : 'missed'})`);
console.error(`load average at end: ${load()}`);
