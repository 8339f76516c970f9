/**
 * A pool of worker threads that preprocesses a stream of items on every core.
 *
 * Invariants:
 * - Results come out in input order, one per item, each tagged with the item's key.
 * - Bounded memory: at most 2 batches per worker are in flight, and the input is read only as
 *   results are consumed, so a stream of any length never sits in memory at once. A batch
 *   closes at `batchSize` items, at 4 MiB of input, or at the number of items that make about
 *   16 MiB of output judging by the batches already done (the first batches hold 8 items).
 * - A bad item yields `{ key, error }` (an ItemInvalid, or another D2Error such as an
 *   InvalidArgument for a normalisation that does not fit its channels) and the stream goes
 *   on. A bug, a worker that dies, an aborted signal or `close()` end the stream by throwing.
 * - Workers start on first use, are unreferenced while idle (a forgotten `close()` never keeps
 *   the process alive) and are terminated by `close()`, which first lets running batches
 *   finish (at most 10 s). The main thread loads sharp when the first worker starts, as sharp
 *   requires on glibc Linux.
 * - Workers run the same `runBatch` as the calling thread does with `workers: 0`, so where an
 *   item was processed never shows in its result.
 * - A result's array is a view into its batch's buffer when that buffer is at most 1 MiB and
 *   a copy otherwise, so keeping one result never keeps more than 1 MiB of others alive.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { type D2Error, InvalidArgument, throwIfAborted } from '../errors/index.js';
import { type BatchOutput, type BatchRequest, type BatchResponse, FIELDS, reviveError, runBatch } from './batch.js';
import type { FatalReport } from './image-worker.js';
import { planPipeline } from './preprocess-image.js';
import { loadSharp } from './sharp-decode.js';
import type { ChannelCount, ImageConfig, ImagePixels, ImageTensor } from './types.js';

export interface ImagePoolOptions {
  /** Worker threads (default: the number of cores); 0 processes in the calling thread. */
  workers?: number;
  /** Items per batch sent to a worker (default 64). */
  batchSize?: number;
  /**
   * The compiled worker script. Only for tests that run from TypeScript sources; the default
   * is `image-worker.js` next to this module.
   */
  workerUrl?: URL;
}

export interface PoolItem {
  key: string;
  bytes: Uint8Array;
}

export type PoolOutcome<T> = { key: string; result: T; error?: undefined } | { key: string; error: D2Error; result?: undefined };

export interface ProcessOptions {
  signal?: AbortSignal;
}

type Items = AsyncIterable<PoolItem> | Iterable<PoolItem>;

export interface ImagePool {
  /** Number of worker threads (0: the calling thread). */
  readonly workers: number;
  /** `preprocessImage` over a stream: uint8 pixels (what the preprocessing cache stores). */
  process(items: Items, config: ImageConfig, options?: ProcessOptions): AsyncIterable<PoolOutcome<ImagePixels>>;
  /** `preprocessImageToFloat` over a stream: float32 tensors (what a model is fed). */
  processToFloat(items: Items, config: ImageConfig, options?: ProcessOptions): AsyncIterable<PoolOutcome<ImageTensor>>;
  /** Terminate the workers (after the batches they are running); streams still running end with an error. */
  close(): Promise<void>;
}

/** A batch closes at this much input… */
const BATCH_BYTES = 4 << 20;
/** …or at as many items as make about this much output, judged from the batches already done. */
const BATCH_OUTPUT_BYTES = 16 << 20;
/** Items in the first batches, before the output size per item is known. */
const FIRST_BATCH = 8;
const VIEW_LIMIT = 1 << 20;
/** How long `close()` lets running batches finish before terminating the workers. */
const CLOSE_GRACE_MS = 10_000;

interface Executor {
  pending(): number;
  run(req: BatchRequest): Promise<BatchResponse>;
  close(): Promise<void>;
}

class InlineExecutor implements Executor {
  private count = 0;
  private closed = false;
  pending(): number {
    return this.count;
  }
  async run(req: BatchRequest): Promise<BatchResponse> {
    if (this.closed) throw new InvalidArgument('the image pool is closed');
    this.count++;
    try {
      return await runBatch(req);
    } finally {
      this.count--;
    }
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

class WorkerExecutor implements Executor {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, { resolve: (r: BatchResponse) => void; reject: (e: Error) => void }>();
  private closing = false;
  private readonly inFlight = new Set<Promise<BatchResponse>>();

  constructor(private readonly url: URL) {}

  pending(): number {
    return this.waiting.size;
  }

  private start(): Worker {
    const worker = new Worker(this.url);
    worker.on('message', (msg: BatchResponse | FatalReport) => {
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (this.waiting.size === 0) worker.unref();
      if ('fatal' in msg) {
        const e = new Error(`image worker failed: ${msg.fatal.message}`);
        if (msg.fatal.stack !== undefined) e.stack = msg.fatal.stack;
        w.reject(e);
      } else {
        w.resolve(msg);
      }
    });
    const fail = (e: Error) => {
      if (this.worker === worker) this.worker = undefined;
      const all = [...this.waiting.values()];
      this.waiting.clear();
      for (const w of all) w.reject(e);
    };
    worker.on('error', (e) => fail(new Error(`image worker crashed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => {
      if (!this.closing) fail(new Error(`image worker exited unexpectedly (code ${code})`));
      else fail(new Error('the image pool was closed'));
    });
    return worker;
  }

  run(req: BatchRequest): Promise<BatchResponse> {
    if (this.closing) return Promise.reject(new InvalidArgument('the image pool is closed'));
    if (!this.worker) {
      // sharp's native libraries must stay loaded in the main thread while workers use them:
      // on glibc Linux a worker's exit can otherwise unload them under libvips' own threads
      // (lovell/sharp#2263). Loaded in the background; a failure shows in the items instead.
      loadSharp().catch(() => {});
      this.worker = this.start();
    }
    const worker = this.worker;
    const done = new Promise<BatchResponse>((resolve, reject) => {
      this.waiting.set(req.id, { resolve, reject });
      worker.ref();
      worker.postMessage(req, [req.data]);
    });
    this.inFlight.add(done);
    const forget = () => this.inFlight.delete(done);
    done.then(forget, forget);
    return done;
  }

  async close(): Promise<void> {
    this.closing = true;
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    // Let batches already started finish (terminating a thread inside libvips is unsafe), but
    // never wait without bound.
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_GRACE_MS);
      timer.unref();
    });
    await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
    clearTimeout(timer);
    await worker.terminate();
  }
}

function defaultWorkers(): number {
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

/**
 * Start a pool (workers are spawned on first use). Use one pool per command and close it.
 *
 * @example
 * const pool = createImagePool();
 * try {
 *   for await (const r of pool.processToFloat(items, { steps, maxPixels })) {
 *     if (r.error) problems.push({ key: r.key, error: r.error.toJSON() });
 *     else batch.push(r.result.data);
 *   }
 * } finally {
 *   await pool.close();
 * }
 */
export function createImagePool(options: ImagePoolOptions = {}): ImagePool {
  const workers = options.workers ?? defaultWorkers();
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(workers) || workers < 0) throw new InvalidArgument(`'workers' must be a whole number >= 0, not ${workers}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgument(`'batchSize' must be a whole number >= 1, not ${batchSize}`);
  const url = options.workerUrl ?? new URL('./image-worker.js', import.meta.url);
  const executors: Executor[] = workers === 0 ? [new InlineExecutor()] : Array.from({ length: workers }, () => new WorkerExecutor(url));
  let nextId = 1;
  let closed = false;

  function dispatch(req: BatchRequest): Promise<BatchResponse> {
    let best = executors[0] as Executor;
    for (const e of executors) if (e.pending() < best.pending()) best = e;
    return best.run(req);
  }

  async function readBatch(
    iterator: AsyncIterator<PoolItem> | Iterator<PoolItem>,
    config: ImageConfig,
    output: BatchOutput,
    maxItems: number,
  ): Promise<{ keys: string[]; request: BatchRequest } | undefined> {
    const keys: string[] = [];
    const parts: Uint8Array[] = [];
    let bytes = 0;
    while (keys.length < maxItems && bytes < BATCH_BYTES) {
      const next = await iterator.next();
      if (next.done) break;
      const { key, bytes: b } = next.value;
      if (!(b instanceof Uint8Array)) throw new InvalidArgument(`item '${String(key)}' has no bytes (expected a Uint8Array)`);
      keys.push(key);
      parts.push(b);
      bytes += b.length;
    }
    if (keys.length === 0) return undefined;
    const data = new ArrayBuffer(bytes);
    const view = new Uint8Array(data);
    const ends: number[] = [];
    let off = 0;
    for (const p of parts) {
      view.set(p, off);
      off += p.length;
      ends.push(off);
    }
    return { keys, request: { id: nextId++, steps: config.steps, maxPixels: config.maxPixels, output, data, ends } };
  }

  async function* run(items: Items, config: ImageConfig, output: BatchOutput, signal?: AbortSignal): AsyncGenerator<PoolOutcome<ImagePixels | ImageTensor>> {
    if (closed) throw new InvalidArgument('the image pool is closed');
    planPipeline(config); // a bad configuration fails once, here, not once per item
    const iterator = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
    const window: { keys: string[]; response: Promise<BatchResponse> }[] = [];
    const maxInFlight = workers === 0 ? 1 : workers * 2;
    let exhausted = false;
    let maxItems = Math.min(batchSize, FIRST_BATCH);
    try {
      for (;;) {
        while (!exhausted && window.length < maxInFlight) {
          throwIfAborted(signal);
          const batch = await readBatch(iterator, config, output, maxItems);
          if (!batch) {
            exhausted = true;
            break;
          }
          const response = dispatch(batch.request);
          response.catch(() => {}); // observed when its turn comes; stops an early exit from leaving it unhandled
          window.push({ keys: batch.keys, response });
        }
        const head = window.shift();
        if (!head) return;
        const res = await head.response;
        throwIfAborted(signal);
        const perItem = res.data.byteLength / head.keys.length;
        maxItems = Math.max(1, Math.min(batchSize, Math.floor(BATCH_OUTPUT_BYTES / Math.max(1, perItem))));
        const copy = res.data.byteLength > VIEW_LIMIT;
        const refused = new Map(res.errors);
        if (res.table.length !== head.keys.length * FIELDS) throw new Error(`image worker returned ${res.table.length / FIELDS} outcomes for ${head.keys.length} items`);
        for (let i = 0; i < head.keys.length; i++) {
          const key = head.keys[i] as string;
          const t = res.table;
          const b = i * FIELDS;
          const [width, height, channels] = [t[b] as number, t[b + 1] as number, t[b + 2] as ChannelCount];
          const [offset, length] = [t[b + 3] as number, t[b + 4] as number];
          const error = refused.get(i);
          if (error) {
            yield { key, error: reviveError(error) };
          } else if (output === 'float') {
            const data = new Float32Array(res.data, offset, length);
            yield { key, result: { width, height, channels, data: copy ? data.slice() : data } };
          } else {
            const pixels = new Uint8Array(res.data, offset, length);
            yield { key, result: { width, height, channels, pixels: copy ? pixels.slice() : pixels } };
          }
        }
      }
    } finally {
      if (!exhausted) await iterator.return?.();
    }
  }

  return {
    workers,
    process: (items, config, opts = {}) => run(items, config, 'pixels', opts.signal) as AsyncIterable<PoolOutcome<ImagePixels>>,
    processToFloat: (items, config, opts = {}) => run(items, config, 'float', opts.signal) as AsyncIterable<PoolOutcome<ImageTensor>>,
    async close() {
      closed = true;
      await Promise.all(executors.map((e) => e.close()));
    },
  };
}
