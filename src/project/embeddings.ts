/**
 * Embeddings: a backbone's feature vector of each item, cached per (backbone, layer,
 * preprocessing, engine, item) in `.d2/state/embeddings-<key>`, and the sets a head trains and
 * is evaluated on, made of them. A rebuild after relabelling, or after adding items, embeds
 * only items never embedded under the same key.
 *
 * Cache file (a note: losing it costs recomputation only):
 *     "D2EMB001" · header length (u32 LE) · header JSON { format: 1, dims, oids } · float32 × dims per oid
 *
 * Invariants:
 * - An embedding is a function of the key and the item's packed pixels only (engine/backbone.ts
 *   embeds every item on its own), so a cached vector is the vector a fresh run computes, and
 *   a head trained on cached vectors is bit-identical to one trained on fresh ones.
 * - Pixels come from the packs through `tensors.ts`' normalisation table: the numbers the
 *   backbone sees are the numbers `d2 predict` feeds it (project/inference.ts).
 * - The cache is rewritten atomically every few hundred new vectors, so an interrupted run
 *   keeps what it embedded.
 */
import type { ItemSet } from '../core/dataset.js';
import { itemBytes, itemOffset } from '../core/pack.js';
import type { CommonOptions } from '../core/progress.js';
import { Interrupted, isD2Error, throwIfAborted } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import type { ObjectStore } from '../store/index.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import { readBackboneFiles, type ResolvedBackbone } from './backbone.js';
import { ITEM_SETS, readPackTrailer, type PackedDataset } from './packing.js';
import { normalizeTable, pixelsToFloat, type LoadedSet } from './tensors.js';

const MAGIC = 'D2EMB001';
/** Bump when embedding changes the numbers for the same inputs. */
const EMBEDDER_VERSION = 1;
/** New vectors between two writes of the cache file. */
const FLUSH_EVERY = 256;
/** Items preprocessed and embedded per call. */
const CHUNK = 32;

export interface EmbeddedSets {
  sets: Record<ItemSet, LoadedSet>;
  dims: number;
  /** Distinct items embedded now (0 when every vector was cached). */
  embedded: number;
  /** Distinct items whose vectors came from the cache. */
  cached: number;
  key: string;
}

/** The cache key of a backbone's embeddings of items packed with `record`'s preprocessing, on an engine. */
export function embeddingKey(backbone: Pick<ResolvedBackbone, 'oid' | 'layer'>, record: Pick<PackedDataset, 'config' | 'steps'>, engineId: string): string {
  return sha256Hex(canonicalJson({ kind: 'd2-embeddings', version: EMBEDDER_VERSION, backbone: backbone.oid, layer: backbone.layer, config: record.config, steps: record.steps, engine: engineId }));
}

interface Cache {
  dims: number;
  vectors: Map<string, Float32Array>;
}

function readCache(store: ObjectStore, key: string): Cache {
  const empty: Cache = { dims: 0, vectors: new Map() };
  const bytes = store.state.readBytes('embeddings', key);
  if (!bytes || bytes.length < 12 || bytes.subarray(0, 8).toString('latin1') !== MAGIC) return empty;
  try {
    const length = bytes.readUInt32LE(8);
    const header = JSON.parse(bytes.subarray(12, 12 + length).toString('utf8')) as { format: number; dims: number; oids: string[] };
    const values = bytes.subarray(12 + length);
    if (header.format !== 1 || !Number.isInteger(header.dims) || values.length !== header.oids.length * header.dims * 4) return empty;
    const all = new Float32Array(values.length / 4);
    new Uint8Array(all.buffer).set(values);
    const vectors = new Map<string, Float32Array>();
    header.oids.forEach((oid, i) => vectors.set(oid, all.subarray(i * header.dims, (i + 1) * header.dims)));
    return { dims: header.dims, vectors };
  } catch {
    return empty; // a damaged note is only a cache miss
  }
}

function writeCache(store: ObjectStore, key: string, cache: Cache): void {
  const oids = [...cache.vectors.keys()];
  const header = Buffer.from(JSON.stringify({ format: 1, dims: cache.dims, oids }));
  const values = new Float32Array(oids.length * cache.dims);
  oids.forEach((oid, i) => values.set(cache.vectors.get(oid)!, i * cache.dims));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length);
  store.state.write('embeddings', key, Buffer.concat([Buffer.from(MAGIC, 'latin1'), length, header, Buffer.from(values.buffer)]));
}

/**
 * Every set of a packed image dataset as embeddings: cached vectors, and the backbone run now
 * on items without one. Expects the store lock held (it rewrites the cache note).
 */
export async function embedSets(store: ObjectStore, record: PackedDataset, backbone: ResolvedBackbone, engine: EngineRequest, options: CommonOptions = {}): Promise<EmbeddedSets> {
  const { selectEngine } = await import('../engine/engines.js');
  const engineInfo = (await selectEngine(engine)).info;
  const key = embeddingKey(backbone, record, engineInfo.id);
  const cache = readCache(store, key);
  const channels = record.shape[2] ?? 1;
  const rowSize = record.shape.reduce((a, b) => a * b, 1);
  const table = normalizeTable(record.steps, channels);
  // which items (by pack and position) have no vector yet; each distinct content once
  const missing: { pack: string; index: number; oid: string }[] = [];
  const seen = new Set<string>();
  const trailers = new Map<string, ReturnType<typeof readPackTrailer>>();
  for (const set of ITEM_SETS) {
    const s = record.sets[set];
    if (!s.pack || s.count === 0) continue;
    const trailer = readPackTrailer(store, s.pack);
    trailers.set(s.pack, trailer);
    trailer.items.forEach((oid, index) => {
      if (cache.vectors.has(oid) || seen.has(oid)) return;
      seen.add(oid);
      missing.push({ pack: s.pack!, index, oid });
    });
  }
  const cachedCount = new Set([...trailers.values()].flatMap((t) => t.items)).size - missing.length;
  if (missing.length) {
    const { embeddingWorkers, openBackbone, openBackbonePool } = await import('../engine/backbone.js');
    const files = readBackboneFiles(store, backbone.record);
    const workers = await embeddingWorkers(engineInfo.name, missing.length);
    const model = workers > 1
      ? await openBackbonePool(files, backbone.layer, record.shape, backbone.source, engineInfo.name, workers)
      : await openBackbone(files, backbone.layer, record.shape, backbone.source, engineInfo.name);
    const chunkSize = CHUNK * Math.max(1, workers);
    try {
      if (cache.dims !== model.dims) cache.vectors.clear();
      cache.dims = model.dims;
      let sinceFlush = 0;
      let done = 0;
      try {
        for (let start = 0; start < missing.length; start += chunkSize) {
          throwIfAborted(options.signal);
          options.onProgress?.({ phase: 'embed', loaded: start, total: missing.length, detail: { backbone: backbone.source } });
          const chunk = missing.slice(start, start + chunkSize);
          const x = new Float32Array(chunk.length * rowSize);
          chunk.forEach((m, i) => {
            const t = trailers.get(m.pack)!;
            const pixels = store.readRange(m.pack, itemOffset(t, m.index), itemBytes(t));
            pixelsToFloat(pixels, table, channels, x.subarray(i * rowSize, (i + 1) * rowSize));
          });
          const vectors = await model.embed(x, options.signal);
          chunk.forEach((m, i) => cache.vectors.set(m.oid, vectors.slice(i * model.dims, (i + 1) * model.dims)));
          sinceFlush += chunk.length;
          done += chunk.length;
          if (sinceFlush >= FLUSH_EVERY) {
            writeCache(store, key, cache);
            sinceFlush = 0;
          }
        }
      } catch (e) {
        if (!(isD2Error(e) && e.code === Interrupted.code)) throw e;
        writeCache(store, key, cache); // what was embedded is kept: a rerun embeds the rest
        throw new Interrupted(`interrupted while embedding: ${done} of ${missing.length} items embedded`, {
          data: { ...e.data, embedded: done, total: missing.length },
          hint: 'run the same command again: the items embedded so far are kept',
        });
      }
      writeCache(store, key, cache);
      options.onProgress?.({ phase: 'embed', loaded: missing.length, total: missing.length, detail: { backbone: backbone.source } });
    } finally {
      model.dispose();
    }
  }
  const dims = cache.dims;
  const sets = {} as Record<ItemSet, LoadedSet>;
  for (const set of ITEM_SETS) {
    const s = record.sets[set];
    const trailer = s.pack ? trailers.get(s.pack) : undefined;
    if (!trailer || s.count === 0) {
      sets[set] = { x: new Float32Array(0), y: new Int32Array(0), shape: [dims], paths: [], oids: [] };
      continue;
    }
    const x = new Float32Array(trailer.count * dims);
    trailer.items.forEach((oid, i) => x.set(cache.vectors.get(oid)!, i * dims));
    sets[set] = { x, y: Int32Array.from(s.labels), shape: [dims], paths: s.paths, oids: trailer.items };
  }
  return { sets, dims, embedded: missing.length, cached: cachedCount, key };
}
