// Benchmark of issue "foundation": `d2 add` + `d2 commit` and a no-op `d2 status` over the 70,000
// Fashion-MNIST images written as PNG files in class folders, side by side in the same run with
// `git annex add` + commit, `git lfs` add + commit, and plain git (add + commit, status).
//
//   node bench/store.js [--files N] [--skip-annex] [--runs R]
//
// Prints seconds, files/s and d2's ratio to each peer. Every figure is measured in this run.
import fs from 'node:fs';
import path from 'node:path';
import { pngTree } from './lib/fashion-mnist.js';
import { D2, WORK, freshDir, have, median, shell, table, timed } from './lib/measure.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const runs = Number(opt('--runs', '5'));
const skipAnnex = args.includes('--skip-annex');

// The PNG tree, written once and reused: <WORK>/fmnist-png/fmnist/<class>/<split>-<index>.png
const tree = await pngTree(WORK);
const nFiles = Number((await shell(`find ${tree}/fmnist -type f | wc -l`)).stdout.trim());
const env = { ...process.env, CI: '1', GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid' };

async function copyTree(name) {
  const dir = freshDir(name);
  await shell(`cp -r ${tree}/fmnist ${dir}/fmnist`);
  // Flush the copy's dirty pages now, so no tool pays for writing the copy back to disk (d2
  // flushes with syncfs, git-annex and git with fsync: each would otherwise flush part of it).
  await shell('sync');
  return dir;
}

async function statusRuns(file, argv, cwd, before = () => undefined) {
  await timed(file, argv, { cwd, env }); // warm-up (and settles racily-clean entries)
  const xs = [];
  for (let i = 0; i < runs; i++) {
    before();
    xs.push((await timed(file, argv, { cwd, env })).seconds);
  }
  return median(xs);
}

const results = {};

// d2
{
  const dir = await copyTree('store-d2');
  await timed(D2, ['init', '-q'], { cwd: dir, env });
  const add = await timed(D2, ['add', 'fmnist', '--labels', 'dirname', '-q'], { cwd: dir, env });
  const commit = await timed(D2, ['commit', '-m', 'fmnist', '-q'], { cwd: dir, env });
  const status = await statusRuns(D2, ['status', '-q'], dir);
  // The same without the clean-status stamp (as after any change to what status reads): git,
  // the manifest and every source are read in full; only the folders fast path remains.
  const stamp = path.join(dir, '.d2', 'state', 'status-clean');
  const statusFull = await statusRuns(D2, ['status', '-q'], dir, () => fs.rmSync(stamp, { force: true }));
  const check = JSON.parse((await timed(D2, ['status', '--json'], { cwd: dir, env })).stdout.trim().split('\n').pop());
  if (!check.data.clean || check.data.filesHashed !== 0) throw new Error('d2 status after commit is not a clean no-op');
  results.d2 = { add: add.seconds, commit: commit.seconds, total: add.seconds + commit.seconds, status, statusFull };
}

// plain git
{
  const dir = await copyTree('store-git');
  await shell('git init -q', { cwd: dir, env });
  const t = await shell('git add . && git commit -qm fmnist', { cwd: dir, env });
  const status = await statusRuns('git', ['status', '--porcelain'], dir);
  results.git = { total: t.seconds, status };
}

// git-lfs
if (await have('git-lfs')) {
  const dir = await copyTree('store-lfs');
  await shell('git init -q && git lfs install --local >/dev/null && git lfs track "*.png" >/dev/null && git add .gitattributes && git commit -qm attrs', { cwd: dir, env });
  const t = await shell('git add . && git commit -qm fmnist', { cwd: dir, env });
  const status = await statusRuns('git', ['status', '--porcelain'], dir);
  results['git-lfs'] = { total: t.seconds, status };
}

// git-annex
if (!skipAnnex && (await have('git-annex'))) {
  const dir = await copyTree('store-annex');
  await shell('git init -q && git annex init -q bench', { cwd: dir, env });
  const t = await shell('git annex add --quiet fmnist >/dev/null && git commit -qm fmnist', { cwd: dir, env });
  const status = await statusRuns('git', ['status', '--porcelain'], dir);
  results['git-annex'] = { total: t.seconds, status };
}

const d2 = results.d2;
const rows = Object.entries(results).map(([tool, r]) => [
  tool,
  r.total.toFixed(2),
  Math.round(nFiles / r.total).toLocaleString('en'),
  tool === 'd2' ? '1.00' : (r.total / d2.total).toFixed(2),
  r.status.toFixed(3),
]);
console.log(`\nadd + commit and no-op status over ${nFiles.toLocaleString('en')} PNG files (median of ${runs} status runs)\n`);
console.log(table(['tool', 'add+commit s', 'files/s', 'peer/d2 time', 'status s'], rows));
console.log(`\nd2: add ${d2.add.toFixed(2)} s + commit ${d2.commit.toFixed(2)} s; no-op status ${d2.status.toFixed(3)} s (${d2.statusFull.toFixed(3)} s without the clean-status stamp)`);
const fastestPeer = Object.entries(results).filter(([t]) => t === 'git-lfs' || t === 'git-annex').sort((a, b) => a[1].total - b[1].total)[0];
if (fastestPeer) console.log(`target: d2 add+commit ≤ half of the faster peer (${fastestPeer[0]} ${fastestPeer[1].total.toFixed(2)} s → ≤ ${(fastestPeer[1].total / 2).toFixed(2)} s): ${d2.total <= fastestPeer[1].total / 2 ? 'met' : 'NOT met'}`);
console.log(`target: no-op status < 0.5 s: ${d2.status < 0.5 ? 'met' : 'NOT met'}`);
