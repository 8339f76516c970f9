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
  /** Prepended to every path (a folder with its trailing separator, or ''). */
  prefix: string;
  /** The paths joined by NUL, as a string or UTF-8 bytes; exactly `count` of them. */
  paths: string | Uint8Array;
  count: number;
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
export function statChunks(prefix: string, paths: readonly string[], job: Pick<ParallelStatJob, 'results' | 'counter'>): void {
  const out = new Float64Array(job.results);
  const counter = new Int32Array(job.counter);
  for (;;) {
    const start = Atomics.add(counter, 0, CHUNK);
    if (start >= paths.length) return;
    statRange(prefix, paths, out, start, Math.min(paths.length, start + CHUNK));
    Atomics.store(counter, 1 + start / CHUNK, 1);
  }
}

const LSTAT_OPTIONS = { throwIfNoEntry: false } as const;

function statRange(prefix: string, paths: readonly string[], out: Float64Array, start: number, end: number): void {
  for (let i = start; i < end; i++) {
    const k = i * STRIDE;
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(prefix + paths[i]!, LSTAT_OPTIONS);
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

/**
 * The paths to stat, in a form that need not be decoded on this thread: a stat cache hands
 * the helper its raw bytes, and decodes them here only if this thread joins in.
 */
export interface PathList {
  readonly count: number;
  /** The paths joined by NUL (a copy the helper may keep). */
  joined(): string | Uint8Array;
  list(): readonly string[];
}

export function pathList(paths: readonly string[]): PathList {
  return { count: paths.length, joined: () => paths.join('\0'), list: () => paths };
}

/** The worker's side of a PathList: exactly `count` paths (damage shows as '', no file). */
export function splitPaths(joined: string | Uint8Array, count: number): string[] {
  const text = typeof joined === 'string' ? joined : Buffer.from(joined.buffer, joined.byteOffset, joined.byteLength).toString('utf8');
  const paths = count === 0 ? [] : text.split('\0');
  paths.length = count;
  for (let i = 0; i < count; i++) paths[i] ??= '';
  return paths;
}

/** A stat of many paths under way; see `beginStatAll`. */
export interface StatRun {
  /** Stat, on this thread, every chunk the helper has not claimed; then all the results. */
  finish(): Promise<Float64Array>;
  /** The results are not wanted: stop the helper. */
  cancel(): Promise<void>;
}

/**
 * Start the lstat of `prefix + path` for every path: the helper (started here for long lists
 * when none is given) begins at once, while this thread goes on with other work; `finish`
 * joins in and returns STRIDE numbers per path (size, mtimeMs, ctimeMs, ino, kind).
 */
export function beginStatAll(prefix: string, list: PathList, helper?: StatHelper): StatRun {
  const count = list.count;
  const chunks = Math.ceil(count / CHUNK);
  const job = { results: new SharedArrayBuffer(count * STRIDE * 8), counter: new SharedArrayBuffer(4 * (1 + chunks)) };
  const h = helper ?? (count >= PARALLEL_MIN ? startStatHelper() : undefined);
  const shared = h !== undefined && count > CHUNK;
  if (shared) h.worker.postMessage({ prefix, paths: list.joined(), count, ...job } satisfies ParallelStatJob);
  // Until someone waits for it, the helper must not keep the process alive.
  h?.worker.unref();
  let settled = false;
  return {
    async finish() {
      if (settled) throw new Error('beginStatAll: finish or cancel called twice');
      settled = true;
      h?.worker.ref();
      const paths = list.list();
      statChunks(prefix, paths, job);
      if (shared) await h.finished;
      await h?.release();
      // A chunk the worker claimed but did not finish (it failed or was killed): redo it here.
      const out = new Float64Array(job.results);
      const done = new Int32Array(job.counter);
      for (let c = 0; c < chunks; c++) {
        if (Atomics.load(done, 1 + c) !== 1) statRange(prefix, paths, out, c * CHUNK, Math.min(count, (c + 1) * CHUNK));
      }
      return out;
    },
    async cancel() {
      if (settled) return;
      settled = true;
      await h?.release();
    },
  };
}

/** lstat every path; returns STRIDE numbers per path (size, mtimeMs, ctimeMs, ino, kind). */
export async function statAll(paths: readonly string[], helper?: StatHelper): Promise<Float64Array> {
  return beginStatAll('', pathList(paths), helper).finish();
}
