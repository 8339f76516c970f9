// Benchmark of issue "report": `d2 report A..B` of a Fashion-MNIST diff whose test split is the
// official 10,000 test images — first run (both models run for their feature vectors, 10,000
// thumbnails drawn), then with everything cached (the target: ≤ 20 s, the page ≤ 15 MB), then
// with a UMAP map (first run, then cached) — and the page opened in headless Chromium (time
// until every chart is drawn), when Chromium is installed.
//
//   node bench/report.js [--train N] [--runs R]
//
// Project as bench/diff.js: source `train` (N train images, default 5,000, split by content
// hash), source `official` (the 10,000 t10k images, pinned to test); model preset fast; commit
// B relabels 100 train items and changes the seed. Every figure is measured in this run.
import fs from 'node:fs';
import path from 'node:path';
import { pngTree } from './lib/fashion-mnist.js';
import { D2, REPO, WORK, freshDir, median, table, timed } from './lib/measure.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const trainCount = Number(opt('--train', '5000'));
const runs = Number(opt('--runs', '3'));

const tree = await pngTree(WORK);
const env = { ...process.env, CI: '1', GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid' };
const dir = freshDir('report-d2');
const classes = fs.readdirSync(path.join(tree, 'fmnist')).sort();
const perClass = Math.floor(trainCount / classes.length);
function copySet(dest, pick) {
  for (const c of classes) {
    fs.mkdirSync(path.join(dir, dest, c), { recursive: true });
    for (const f of pick(fs.readdirSync(path.join(tree, 'fmnist', c)).sort())) fs.copyFileSync(path.join(tree, 'fmnist', c, f), path.join(dir, dest, c, f));
  }
}
copySet('train', (files) => files.filter((f) => f.startsWith('train-')).slice(0, perClass));
copySet('official', (files) => files.filter((f) => f.startsWith('t10k-')));

const d2 = (argv) => timed(D2, argv, { cwd: dir, env });
const last = (r) => JSON.parse(r.stdout.trim().split('\n').pop()).data;

await d2(['init', '-q']);
await d2(['add', 'train', '--labels', 'dirname', '-q']);
await d2(['add', 'official', '--labels', 'dirname', '-q']);
const yaml = path.join(dir, 'd2.yaml');
fs.writeFileSync(yaml, fs.readFileSync(yaml, 'utf8').replace(/(\n  official:\n(    .*\n)*)/, (m) => `${m}    split: test\n`) + 'model:\n  preset: fast\n  seed: 1\n');
console.error('building commit A…');
const buildA = await d2(['build', '-q']);
await d2(['commit', '-q', '-m', 'A']);
const labels = path.join(dir, 'd2.sources', 'train.labels.csv');
const lines = fs.readFileSync(labels, 'utf8').trimEnd().split('\n');
for (let i = 1, n = 0; i < lines.length && n < 100; i += 37, n++) {
  const [p, label] = lines[i].split(',');
  lines[i] = `${p},${classes[(classes.indexOf(label) + 1) % classes.length]}`;
}
fs.writeFileSync(labels, `${lines.join('\n')}\n`);
fs.writeFileSync(yaml, fs.readFileSync(yaml, 'utf8').replace('seed: 1', 'seed: 2'));
console.error('building commit B…');
const buildB = await d2(['build', '-q']);
await d2(['commit', '-q', '-m', 'B']);

console.error('report, first run…');
const cold = await d2(['report', 'HEAD~1..HEAD', '--out', 'report.html', '--json']);
const coldData = last(cold);
const warmRuns = [];
let warm;
for (let i = 0; i < runs; i++) {
  const r = await d2(['report', 'HEAD~1..HEAD', '--out', 'report.html', '--json', '--md']);
  warmRuns.push(r.seconds);
  warm = last(r);
}
if (warm.thumbnails.drawn !== 0) throw new Error(`expected cached thumbnails, ${warm.thumbnails.drawn} were drawn`);
const htmlBytes = fs.statSync(path.join(dir, 'report.html')).size;
console.error('report with UMAP, first run…');
const umapCold = await d2(['report', 'HEAD~1..HEAD', '--out', 'report-umap.html', '--map', 'umap', '--json']);
const umapColdData = last(umapCold);
const umapWarm = await d2(['report', 'HEAD~1..HEAD', '--out', 'report-umap.html', '--map', 'umap', '--json']);
const umapWarmData = last(umapWarm);
if (!umapWarmData.maps.every((m) => m.cached)) throw new Error('expected the UMAP maps to come from the cache');

// The page in a browser: time until every chart is drawn (10,000 points per map, two maps).
let browserSeconds = null;
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
if (chromium) {
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({ executablePath: chromium, args: ['--no-sandbox', '--headless=new', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    const t = performance.now();
    await page.goto(`file://${path.join(dir, 'report.html')}`);
    await page.waitForFunction(() => document.body.dataset.ready === '1', { timeout: 300_000 });
    browserSeconds = (performance.now() - t) / 1000;
    await page.screenshot({ path: path.join(dir, 'report.png'), fullPage: true });
  } finally {
    await browser.close();
  }
}

const items = warm.evaluatedOn.items + warm.evaluatedOn.modelTests;
const mb = (n) => (n / 1e6).toFixed(1);
console.log(`\nd2 report on Fashion-MNIST: ${items.toLocaleString('en')} evaluation items, two models (A→B); train source ${trainCount.toLocaleString('en')} images; builds took ${buildA.seconds.toFixed(1)} s and ${buildB.seconds.toFixed(1)} s (preset fast)\n`);
console.log(table(['scenario', 'thumbnails drawn', 'map seconds (A, B)', 'seconds'], [
  ['first run: features for both models, thumbnails, PCA', coldData.thumbnails.drawn, coldData.maps.map((m) => m.seconds.toFixed(2)).join(', '), cold.seconds.toFixed(2)],
  [`cached: PCA, --md (median of ${runs})`, warm.thumbnails.drawn, warm.maps.map((m) => m.seconds.toFixed(2)).join(', '), median(warmRuns).toFixed(2)],
  ['UMAP, first run', umapColdData.thumbnails.drawn, umapColdData.maps.map((m) => m.seconds.toFixed(2)).join(', '), umapCold.seconds.toFixed(2)],
  ['UMAP, cached', umapWarmData.thumbnails.drawn, umapWarmData.maps.map((m) => m.seconds.toFixed(2)).join(', '), umapWarm.seconds.toFixed(2)],
]));
console.log(`\npage: ${mb(htmlBytes)} MB (${warm.thumbnails.items.toLocaleString('en')} thumbnails inline); Markdown: ${warm.markdown.length.toLocaleString('en')} characters`);
if (browserSeconds !== null) console.log(`headless Chromium: every chart drawn ${browserSeconds.toFixed(2)} s after opening the page (screenshot: ${path.join(dir, 'report.png')})`);
else console.log('headless Chromium: not installed, page load not measured');
console.log(`target: report of a 10k-item diff with predictions cached (PCA) ≤ 20 s: ${median(warmRuns) <= 20 ? 'met' : 'NOT met'} (${median(warmRuns).toFixed(2)} s); page ≤ 15 MB: ${htmlBytes <= 15e6 ? 'met' : 'NOT met'} (${mb(htmlBytes)} MB)`);
console.log(`behaviour A→B: accuracy ${(warm.diff.accuracy.before * 100).toFixed(2)}% → ${(warm.diff.accuracy.after * 100).toFixed(2)}%, ${warm.diff.fixed} fixed, ${warm.diff.broken} broken (d2 ${path.relative(REPO, D2)})`);
