/**
 * Moving objects between the local store and a remote, for push, pull and fsck --repair.
 *
 * Invariants:
 * - Nothing enters the local store unverified: downloaded bytes are hashed and must equal the
 *   oid they were asked for, else they are discarded (reported as corrupt on the remote).
 * - Nothing corrupt leaves it: a local object is re-hashed before upload.
 * - Downloads are made durable in batches (one filesystem sync per batch), and a batch is
 *   committed before an interruption is reported, so a stopped pull keeps what it fetched and
 *   the next one continues from there.
 * Transfers run `remote.concurrency` at a time; the remote retries transient faults itself.
 */
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import type { ProgressHandler } from '../core/progress.js';
import { D2Error, Interrupted, ObjectCorrupt, throwIfAborted } from '../errors/index.js';
import type { Remote, Sink } from '../remote/index.js';
import type { ObjectBatch, ObjectStore, ObjectWriter } from '../store/index.js';
import { hashFileSync } from '../util/hash.js';

/** Objects at most this large are received in memory and committed in batches; larger ones stream to a file. */
const IN_MEMORY = 8 << 20;
/** Commit a download batch after this many objects or bytes. */
const BATCH_OBJECTS = 2000;
const BATCH_BYTES = 256 << 20;

export interface TransferFailure {
  oid: string;
  where?: string;
  problem: 'corrupt' | 'missing' | 'failed';
  message: string;
}

export interface TransferStats {
  objects: number;
  bytes: number;
  failures: TransferFailure[];
}

interface TransferOptions {
  signal?: AbortSignal;
  onProgress?: ProgressHandler;
  phase: string;
  where?: (oid: string) => string | undefined;
}

/** Every request in flight listens to the signal: more than Node's default warning level of 10. */
export function allowListeners(signal: AbortSignal | undefined): void {
  if (signal) setMaxListeners(256, signal);
}

/** Run `fn` over `items`, `limit` at a time; stops starting new work once the signal aborts. */
async function eachLimit<T>(items: readonly T[], limit: number, signal: AbortSignal | undefined, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let error: unknown;
  const worker = async (): Promise<void> => {
    while (error === undefined && next < items.length && !signal?.aborted) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (e) {
        error ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (error !== undefined) throw error;
}

function isFatal(e: unknown): boolean {
  // Errors that concern the remote as a whole (unreachable, credentials, missing bucket) stop
  // the transfer; a problem with one object is recorded and the others continue.
  return e instanceof Interrupted || (e instanceof D2Error && /^Remote(Unavailable|AccessDenied|NotFound)$/.test(e.code)) || !(e instanceof D2Error);
}

/** Download `oids` from `remote` into `store` (the caller holds the store lock). */
export async function download(store: ObjectStore, remote: Remote, oids: readonly string[], options: TransferOptions): Promise<TransferStats> {
  const stats: TransferStats = { objects: 0, bytes: 0, failures: [] };
  let batch: ObjectBatch = store.batch();
  let batchBytes = 0;
  const flush = (): void => {
    batch.commit();
    batch = store.batch();
    batchBytes = 0;
  };
  const total = oids.length;
  let done = 0;
  try {
    await eachLimit(oids, remote.concurrency, options.signal, async (oid) => {
      if (store.has(oid)) {
        done++;
        return;
      }
      let writer: ObjectWriter | undefined;
      let chunks: Buffer[] = [];
      let size = 0;
      const open = (): Sink => {
        chunks = [];
        size = 0;
        writer = undefined;
        const sink: Sink = {
          write(chunk: Uint8Array) {
            size += chunk.length;
            if (writer) {
              writer.write(chunk);
            } else if (size > IN_MEMORY) {
              writer = store.writer();
              for (const c of chunks) writer.write(c);
              chunks = [];
              writer.write(chunk);
            } else {
              chunks.push(Buffer.from(chunk));
            }
          },
          abort() {
            writer?.abort();
            writer = undefined;
            chunks = [];
          },
        };
        return sink;
      };
      try {
        await remote.get(oid, open, options.signal ? { signal: options.signal } : {});
        if (writer) {
          (writer as ObjectWriter).commit(oid);
        } else {
          const buf = Buffer.concat(chunks);
          const actual = createHash('sha256').update(buf).digest('hex');
          if (actual !== oid) throw new ObjectCorrupt(`received bytes for object '${oid}' hash to ${actual}`, { data: { oid, actual } });
          batch.putBytes(buf);
          batchBytes += buf.length;
          if (batch.size >= BATCH_OBJECTS || batchBytes >= BATCH_BYTES) flush();
        }
        stats.objects++;
        stats.bytes += size;
      } catch (e) {
        if (isFatal(e)) throw e;
        const where = options.where?.(oid);
        stats.failures.push({
          oid,
          ...(where !== undefined ? { where } : {}),
          problem: e instanceof ObjectCorrupt ? 'corrupt' : (e as D2Error).code === 'RemoteObjectMissing' ? 'missing' : 'failed',
          message: e instanceof ObjectCorrupt ? `the remote's copy is corrupt (its content hashes to ${String((e.data as { actual?: string }).actual).slice(0, 12)}…); it was not stored` : (e as Error).message,
        });
      } finally {
        done++;
        options.onProgress?.({ phase: options.phase, loaded: done, total, detail: { bytes: stats.bytes } });
      }
    });
  } finally {
    // What arrived intact is kept even when the transfer stops: the next pull starts from it.
    flush();
  }
  throwIfAborted(options.signal);
  return stats;
}

/** Objects per `putBatch` call, for remotes that take batches (each costs a flush or two). */
const PUT_BATCH = 5000;
/** Objects up to this size are read once, hashed from memory and handed to `putBatch` as bytes. */
const KEEP_IN_MEMORY = 1 << 20;

/** Upload `oids` (all in the local store) to `remote`, re-hashing each first. */
export async function upload(store: ObjectStore, remote: Remote, oids: readonly string[], options: TransferOptions): Promise<TransferStats> {
  const stats: TransferStats = { objects: 0, bytes: 0, failures: [] };
  const total = oids.length;
  let done = 0;
  const signal = options.signal ? { signal: options.signal } : {};
  /** The object's file and size when its content still hashes to its name; else a failure is recorded. */
  const verified = (oid: string, keep = false): { file: string; size: number; bytes?: Uint8Array } | undefined => {
    // the remote streams the object from its file (the store names it; nothing here builds it)
    const file = store.objectPath(oid);
    let actual: string;
    let size: number;
    let bytes: Buffer | undefined;
    if (keep && localSize(store, oid) <= KEEP_IN_MEMORY) {
      bytes = fs.readFileSync(file);
      size = bytes.length;
      actual = createHash('sha256').update(bytes).digest('hex');
    } else {
      ({ oid: actual, size } = hashFileSync(file));
    }
    if (actual === oid) return { file, size, ...(bytes ? { bytes } : {}) };
    const where = options.where?.(oid);
    stats.failures.push({ oid, ...(where !== undefined ? { where } : {}), problem: 'corrupt', message: `the local copy is corrupt (its content hashes to ${actual.slice(0, 12)}…): not uploaded; run 'd2 fsck --repair'` });
    return undefined;
  };
  if (remote.putBatch) {
    for (let i = 0; i < oids.length; i += PUT_BATCH) {
      throwIfAborted(options.signal);
      const items = oids.slice(i, i + PUT_BATCH).flatMap((oid) => {
        const v = verified(oid, true);
        return v ? [{ oid, ...v }] : [];
      });
      await remote.putBatch(items, signal);
      for (const it of items) stats.bytes += it.size;
      stats.objects += items.length;
      done = Math.min(total, i + PUT_BATCH);
      options.onProgress?.({ phase: options.phase, loaded: done, total, detail: { bytes: stats.bytes } });
    }
    return stats;
  }
  await eachLimit(oids, remote.concurrency, options.signal, async (oid) => {
    try {
      const v = verified(oid);
      if (!v) return;
      await remote.put(oid, v.file, v.size, signal);
      stats.objects++;
      stats.bytes += v.size;
    } finally {
      done++;
      options.onProgress?.({ phase: options.phase, loaded: done, total, detail: { bytes: stats.bytes } });
    }
  });
  throwIfAborted(options.signal);
  return stats;
}

/** Sizes of local objects, for reports. */
export function localSize(store: ObjectStore, oid: string): number {
  return store.size(oid) ?? 0;
}
