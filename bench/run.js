// `npm run bench [-- name...]`: runs d2's benchmarks (all, or those named), each printing its
// figures and its ratio to the peer measured in the same run. Names: store, preprocess, dataset, train, diff, build, remote, predict, suggest, report, log, review, text, backbone, model-selection.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const all = { store: 'store.js', preprocess: 'preprocess-speed.js', dataset: 'dataset.js', train: 'train-speed.js', diff: 'diff.js', build: 'build.js', remote: 'remote.js', predict: 'predict.js', suggest: 'suggest.js',
  report: 'report.js',
  log: 'log.js',
  review: 'review.js',
  text: 'text.js',
  backbone: 'backbone.js',
  'model-selection': 'model-selection.js',
};
const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passthrough = process.argv.slice(2).filter((a) => a.startsWith('-'));
const chosen = names.length ? names : Object.keys(all);
let failed = 0;
for (const name of chosen) {
  const file = all[name];
  if (!file) { console.error(`unknown benchmark '${name}' (known: ${Object.keys(all).join(', ')})`); process.exit(1); }
  if (!fs.existsSync(path.join(here, file))) { console.error(`bench ${name}: ${file} not present, skipped`); continue; }
  console.log(`\n=== bench: ${name} ===`);
  const r = await execa(process.execPath, [path.join(here, file), ...passthrough], { stdio: 'inherit', reject: false });
  if (r.exitCode !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
