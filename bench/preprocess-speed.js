// Benchmark of image preprocessing: d2 against Python PIL on the 70,000 Fashion-MNIST PNGs
// (28x28 grey), each decoded, resized to 32x32 (bilinear) and scaled to float32 / 255.
//
//   npm run build && node bench/preprocess-speed.js [--runs 3] [--workers N] [--batch N]
//                                                   [--limit N] [--no-verify] [--options]
//
// Every measurement runs in a fresh process (cold: no JIT warm-up, workers started inside the
// timed region, no preprocessing cache), in two modes: `memory` (every file's bytes read
// before the clock starts) and `disk` (reading the 70,000 files is timed too; the OS page
// cache is warm, as it is after the tree is written). d2 runs with its worker pool and with
// no workers (the calling thread only); PIL runs bench/peers/pil_preprocess.py on one core.
// `--verify` (default) first checks that d2 and PIL produce the same float32 numbers
// (sha256 of all outputs). `--options` also measures the alternatives that were considered
// for d2 (plain sharp pipelines, fast-png, sharp as d2's decoder, pool batch sizes) on a
// subset. Prints medians and d2's ratio to PIL. Every figure is measured in this run.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { haveFashionMnist, pngTree } from './lib/fashion-mnist.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..');
const DIST = path.join(REPO, 'dist');
// Outside d2's own repository, shared with bench/store.js (same tree, same marker file).
const WORK = process.env.D2_BENCH_DIR ?? path.join(os.tmpdir(), 'd2-bench');
const PYTHON = process.env.D2_BENCH_PYTHON ?? '/usr/bin/python3';
const PEER = path.join(here, 'peers', 'pil_preprocess.py');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const CONFIG = {
  // convert('L') + resize((32, 32), BILINEAR), as the peer does
  steps: [{ channels: 1 }, { resize: { width: 32, height: 32, fit: 'fill', kernel: 'bilinear', background: 0 } }],
  maxPixels: 50_000_000,
};
const dist = (rel) => pathToFileURL(path.join(DIST, rel)).href;

function readList(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

// ---------------------------------------------------------------- child processes (one run)

async function child(variant, listFile) {
  const files = readList(listFile);
  const memory = args.includes('--memory');
  const bufs = memory ? files.map((f) => fs.readFileSync(f)) : undefined;
  const bytesOf = (i) => (memory ? bufs[i] : fs.readFileSync(files[i]));
  const digest = args.includes('--hash') ? createHash('sha256') : undefined;
  let ok = 0;
  let failed = 0;
  let checksum = 0;
  const take = (data) => {
    ok++;
    checksum += data[16 * 32 + 16];
    digest?.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  };

  if (variant === 'd2') {
    const { createImagePool } = await import(dist('preprocess/index.js'));
    const workers = Number(opt('--workers', String(os.availableParallelism())));
    const batch = opt('--batch', undefined);
    const t0 = performance.now();
    const pool = createImagePool({ workers, ...(batch ? { batchSize: Number(batch) } : {}) });
    function* items() {
      for (let i = 0; i < files.length; i++) yield { key: files[i], bytes: bytesOf(i) };
    }
    for await (const r of pool.processToFloat(items(), CONFIG)) {
      if (r.error) failed++;
      else take(r.result.data);
    }
    await pool.close();
    return finish(t0);
  }

  // The alternatives considered for d2 (all in the calling thread, `inflight` images at once).
  const inflight = Number(opt('--inflight', '1'));
  let one;
  if (variant.startsWith('sharp')) {
    const sharp = (await import('sharp')).default;
    sharp.cache(false);
    if (variant === 'sharp-concurrency1') sharp.concurrency(1);
    const { toFloat } = await import(dist('preprocess/index.js'));
    one = async (bytes) => {
      const { data, info } = await sharp(bytes).resize(32, 32, { kernel: 'linear', fit: 'fill' }).grayscale().raw().toBuffer({ resolveWithObject: true });
      return toFloat({ width: info.width, height: info.height, channels: info.channels, pixels: data }).data;
    };
  } else if (variant === 'd2-sharp-decoder' || variant === 'fast-png-decoder') {
    const { decodeWithSharp } = await import(dist('preprocess/sharp-decode.js'));
    const { planImageSteps, applyPixelOps } = await import(dist('preprocess/steps.js'));
    const { toFloatWith } = await import(dist('preprocess/float.js'));
    const { decode } = await import('fast-png');
    const plan = planImageSteps(CONFIG.steps);
    one = async (bytes) => {
      let decoded;
      if (variant === 'fast-png-decoder') {
        const png = decode(bytes);
        decoded = { width: png.width, height: png.height, channels: png.channels, pixels: png.data, orientation: 1 };
      } else {
        decoded = await decodeWithSharp(bytes, CONFIG.maxPixels);
      }
      return toFloatWith(applyPixelOps(decoded, plan), plan.normalize).data;
    };
  } else {
    throw new Error(`unknown variant '${variant}'`);
  }
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: inflight }, async () => {
    while (next < files.length) {
      const i = next++;
      take(await one(bytesOf(i)));
    }
  }));
  return finish(t0);

  function finish(t0) {
    const seconds = (performance.now() - t0) / 1000;
    const out = { images: ok, failed, seconds, imagesPerSecond: ok / seconds, checksum };
    if (digest) out.sha256 = digest.digest('hex');
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
}

// ---------------------------------------------------------------- parent

function runChild(variant, listFile, extra = []) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', variant, '--files', listFile, ...extra], {
    encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop());
}

function runPil(listFile, extra = []) {
  const out = execFileSync(PYTHON, [PEER, '--files', listFile, ...extra], {
    encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
  });
  return JSON.parse(out.trim().split('\n').pop());
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x) => Math.round(x).toLocaleString('en-US');

function table(headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map(String));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r, k) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
    + (k === 0 ? `\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : '')).join('\n');
}

async function parent() {
  if (!haveFashionMnist()) {
    console.error('Fashion-MNIST is missing: apt-get update && apt-get install -y dataset-fashion-mnist');
    process.exit(1);
  }
  if (!fs.existsSync(path.join(DIST, 'preprocess', 'index.js'))) {
    console.error("dist/preprocess is missing: run 'npm run build' first");
    process.exit(1);
  }
  const runs = Number(opt('--runs', '3'));
  const workers = Number(opt('--workers', String(os.availableParallelism())));
  const poolArgs = ['--workers', String(workers), ...(opt('--batch') ? ['--batch', opt('--batch')] : [])];

  // The PNG tree, written once and reused: <WORK>/fmnist-png/fmnist/<class>/<split>-<index>.png
  const tree = await pngTree(WORK);
  const root = path.join(tree, 'fmnist');
  let files = [];
  for (const c of fs.readdirSync(root).sort()) for (const f of fs.readdirSync(path.join(root, c)).sort()) files.push(path.join(root, c, f));
  const limit = opt('--limit');
  if (limit) files = files.slice(0, Number(limit));
  const listFile = path.join(WORK, `preprocess-files-${process.pid}.txt`);
  fs.writeFileSync(listFile, `${files.join('\n')}\n`);

  try {
    console.log(`images: ${files.length} Fashion-MNIST PNGs (28x28 grey) -> 32x32 float32 (bilinear, / 255)`);
    const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
    console.log(`machine: ${os.availableParallelism()} cores, Node ${process.versions.node}; d2 pool: ${workers} workers; runs: ${runs} (median shown); load average at start: ${load()}`);

    if (!args.includes('--no-verify')) {
      const d2 = runChild('d2', listFile, [...poolArgs, '--memory', '--hash']);
      const pil = runPil(listFile, ['--memory', '--hash']);
      const same = d2.sha256 === pil.sha256 && d2.images === pil.images;
      console.log(`outputs: ${same ? 'identical to PIL' : 'DIFFERENT from PIL'} (sha256 of all float32 outputs: d2 ${d2.sha256.slice(0, 16)}…, PIL ${pil.sha256.slice(0, 16)}…; PIL ${pil.pil}, numpy ${pil.numpy})`);
    }

    const series = { 'd2 pool, memory': [], 'd2 pool, disk': [], 'd2 one thread, memory': [], 'd2 one thread, disk': [], 'PIL one core, memory': [], 'PIL one core, disk': [] };
    for (let r = 0; r < runs; r++) {
      series['PIL one core, memory'].push(runPil(listFile, ['--memory']).imagesPerSecond);
      series['d2 pool, memory'].push(runChild('d2', listFile, [...poolArgs, '--memory']).imagesPerSecond);
      series['d2 one thread, memory'].push(runChild('d2', listFile, ['--workers', '0', '--memory']).imagesPerSecond);
      series['PIL one core, disk'].push(runPil(listFile).imagesPerSecond);
      series['d2 pool, disk'].push(runChild('d2', listFile, poolArgs).imagesPerSecond);
      series['d2 one thread, disk'].push(runChild('d2', listFile, ['--workers', '0']).imagesPerSecond);
    }
    const med = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, median(v)]));
    console.log(`\n${table(['', 'images/s (median)', 'runs'], Object.entries(series).map(([k, v]) => [k, fmt(med[k]), v.map(fmt).join(' ')]))}`);
    console.log('\nratio to PIL (same mode, medians):');
    for (const mode of ['memory', 'disk']) {
      const pil = med[`PIL one core, ${mode}`];
      console.log(`  ${mode}: d2 pool ${(med[`d2 pool, ${mode}`] / pil).toFixed(2)}x, d2 one thread ${(med[`d2 one thread, ${mode}`] / pil).toFixed(2)}x`);
    }

    console.log(`load average after the main runs: ${load()}`);

    if (args.includes('--options')) {
      const subset = files.slice(0, Number(opt('--options-limit', '10000')));
      const subsetFile = `${listFile}.subset`;
      fs.writeFileSync(subsetFile, `${subset.join('\n')}\n`);
      const rows = [];
      const measure = (name, fn) => {
        const v = Array.from({ length: runs }, fn);
        rows.push([name, fmt(median(v)), v.map(fmt).join(' ')]);
      };
      measure('PIL one core', () => runPil(subsetFile, ['--memory']).imagesPerSecond);
      for (const k of [1, 8, 16]) measure(`sharp resize pipeline, ${k} in flight`, () => runChild('sharp', subsetFile, ['--memory', '--inflight', String(k)]).imagesPerSecond);
      measure('sharp resize pipeline, concurrency(1), 8 in flight', () => runChild('sharp-concurrency1', subsetFile, ['--memory', '--inflight', '8']).imagesPerSecond);
      measure('sharp decode + d2 steps, 8 in flight', () => runChild('d2-sharp-decoder', subsetFile, ['--memory', '--inflight', '8']).imagesPerSecond);
      measure('fast-png decode + d2 steps, one thread', () => runChild('fast-png-decoder', subsetFile, ['--memory']).imagesPerSecond);
      measure('d2 (own PNG decoder), one thread', () => runChild('d2', subsetFile, ['--workers', '0', '--memory']).imagesPerSecond);
      for (const b of [16, 64, 256]) measure(`d2 pool, ${workers} workers, batch ${b}`, () => runChild('d2', subsetFile, ['--workers', String(workers), '--batch', String(b), '--memory']).imagesPerSecond);
      console.log(`\noptions considered (${subset.length} images, bytes in memory, cold process each):\n${table(['', 'images/s (median)', 'runs'], rows)}`);
      console.log(`load average after the options: ${load()}`);
      fs.rmSync(subsetFile, { force: true });
    }
  } finally {
    fs.rmSync(listFile, { force: true });
  }
}

if (args[0] === '--child') await child(args[1], opt('--files'));
else await parent();
