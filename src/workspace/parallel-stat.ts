/**
 * lstat of many files on every core: git's preloaded index, for d2. Over 70,000 files one
 * thread spends ~250 ms in lstat (a third of it building Node's Stats objects); the calling
 * thread and one worker thread share the work through an atomic chunk counter, so the worker's
 * start-up overlaps useful work and neither waits for the other.
 *
 * Invariant: the result for file i is at offset i*STRIDE whichever thread stat'ed it; a kind
 * of KIND_MISSING means the file vanished between listing and stat.
 */
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';

export const STRIDE = 5;
export const KIND_MISSING = 0;
export const KIND_FILE = 1;
export const KIND_DIR = 2;
export const KIND_SYMLINK = 3;
export const KIND_OTHER = 4;
const CHUNK = 1024;
/** Below this many files a worker's start-up costs more than it saves. */
export const PARALLEL_MIN = 20_000;

export interface ParallelStatJob {
  paths: string;
  results: SharedArrayBuffer;
  /** Int32: [0] the next unclaimed index; [1 + c] is 1 once chunk c is complete. */
  counter: SharedArrayBuffer;
}

function kindOf(st: fs.Stats): number {
  if (st.isFile()) return KIND_FILE;
  if (st.isDirectory()) return KIND_DIR;
  if (st.isSymbolicLink()) return KIND_SYMLINK;
  return KIND_OTHER;
}

/** Claim and stat chunks until none is left (runs on both threads). */
export function statChunks(paths: readonly string[], job: Pick<ParallelStatJob, 'results' | 'counter'>): void {
  const out = new Float64Array(job.results);
  const counter = new Int32Array(job.counter);
  for (;;) {
    const start = Atomics.add(counter, 0, CHUNK);
    if (start >= paths.length) return;
    statRange(paths, out, start, Math.min(paths.length, start + CHUNK));
    Atomics.store(counter, 1 + start / CHUNK, 1);
  }
}

function statRange(paths: readonly string[], out: Float64Array, start: number, end: number): void {
  for (let i = start; i < end; i++) {
    const k = i * STRIDE;
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(paths[i]!, { throwIfNoEntry: false });
    } catch {
      st = undefined; // ENOTDIR and the like: the path no longer names a file
    }
    if (!st) {
      out[k + 4] = KIND_MISSING;
      continue;
    }
    out[k] = st.size;
    out[k + 1] = st.mtimeMs;
    out[k + 2] = st.ctimeMs;
    out[k + 3] = st.ino;
    out[k + 4] = kindOf(st);
  }
}

/**
 * A worker started ahead of need (while the folders are still being read), so that its
 * start-up is over when the stat work begins. Call `release` when it is not used.
 */
export interface StatHelper {
  worker: Worker;
  /** Settles when the worker reports 'done', fails to start, errors or exits. */
  finished: Promise<void>;
  release(): Promise<void>;
}

export function startStatHelper(): StatHelper | undefined {
  let worker: Worker;
  try {
    worker = new Worker(new URL('./stat-worker.js', import.meta.url));
  } catch {
    return undefined; // no worker file (unusual packaging): the calling thread does it all
  }
  // Listen at once: a worker that cannot start reports it before anyone asks.
  const finished = new Promise<void>((resolve) => {
    worker.once('message', () => resolve());
    worker.once('error', () => resolve());
    worker.once('exit', () => resolve());
  });
  return { worker, finished, release: async () => { await worker.terminate(); } };
}

/** lstat every path; returns STRIDE numbers per path (size, mtimeMs, ctimeMs, ino, kind). */
export async function statAll(paths: readonly string[], helper?: StatHelper): Promise<Float64Array> {
  const chunks = Math.ceil(paths.length / CHUNK);
  const job = { results: new SharedArrayBuffer(paths.length * STRIDE * 8), counter: new SharedArrayBuffer(4 * (1 + chunks)) };
  let own: StatHelper | undefined;
  if (!helper && paths.length >= PARALLEL_MIN) own = startStatHelper();
  const h = helper ?? own;
  if (h && paths.length > CHUNK) h.worker.postMessage({ paths: paths.join('\0'), ...job } satisfies ParallelStatJob);
  statChunks(paths, job);
  if (h && paths.length > CHUNK) await h.finished;
  await h?.release();
  // A chunk the worker claimed but did not finish (it failed or was killed): redo it here.
  const out = new Float64Array(job.results);
  const done = new Int32Array(job.counter);
  for (let c = 0; c < chunks; c++) {
    if (Atomics.load(done, 1 + c) !== 1) statRange(paths, out, c * CHUNK, Math.min(paths.length, (c + 1) * CHUNK));
  }
  return out;
}
