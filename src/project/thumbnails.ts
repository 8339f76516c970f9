/**
 * Thumbnails of raw image items for the report page, cached by content: an item's thumbnail
 * is a function of its bytes (its oid) and the size, so it is made once per store. Chunks
 * (`d2-thumbnails` objects) are listed in `.d2/state/thumbnails-<size>`; each call adds at
 * most one chunk, holding the items it drew.
 *
 * Invariants:
 * - A thumbnail comes from the item's raw bytes in the store (preprocess `thumbnail`: at most
 *   `size` pixels a side), never from preprocessed tensors.
 * - A chunk lost to gc or damaged is only a cache miss; a value that is not a `data:` URI of
 *   an image is ignored (the page puts it in an `img` element's `src`).
 * - Expects the store lock held (the list is rewritten).
 */
import type { CommonOptions } from '../core/progress.js';
import { throwIfAborted } from '../errors/index.js';
import type { ObjectStore } from '../store/index.js';
import type { Project } from './project.js';

export interface ThumbnailItem {
  oid: string;
  size: number;
}

/** Longest side of a report thumbnail, in pixels. */
export const THUMBNAIL_SIZE = 64;

const DATA_URI = /^data:image\/(png|webp);base64,[A-Za-z0-9+/]+={0,2}$/;
/** Items drawn at once (sharp runs them on libuv's threads). */
const CONCURRENCY = 8;

interface ThumbnailChunk {
  format: 1;
  kind: 'd2-thumbnails';
  size: number;
  items: Record<string, string | null>;
}

function readChunks(store: ObjectStore, size: number): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const oid of store.state.readLines('thumbnails', String(size))) {
    if (!store.has(oid)) continue;
    try {
      const chunk = JSON.parse(store.readText(oid)) as ThumbnailChunk;
      if (chunk.kind !== 'd2-thumbnails' || chunk.format !== 1 || chunk.size !== size) continue;
      for (const [item, uri] of Object.entries(chunk.items)) {
        if (uri === null || (typeof uri === 'string' && DATA_URI.test(uri))) out.set(item, uri);
      }
    } catch {
      // a damaged chunk is only a cache miss
    }
  }
  return out;
}

/**
 * The thumbnails of image items, by oid (`data:` URIs; null: the item cannot be drawn), and
 * how many were drawn now (the others came from the cache).
 */
export async function thumbnailsFor(project: Project, items: readonly ThumbnailItem[], options: CommonOptions & { size?: number; maxPixels?: number } = {}): Promise<{ thumbnails: Map<string, string | null>; drawn: number }> {
  const { store } = project;
  const size = options.size ?? THUMBNAIL_SIZE;
  const cached = readChunks(store, size);
  const wanted = [...new Map(items.map((i) => [i.oid, i])).values()];
  const missing = wanted.filter((i) => !cached.has(i.oid));
  const out = new Map<string, string | null>();
  for (const i of wanted) if (cached.has(i.oid)) out.set(i.oid, cached.get(i.oid)!);
  if (!missing.length) return { thumbnails: out, drawn: 0 };
  const { thumbnail } = await import('../preprocess/index.js');
  const made: Record<string, string | null> = {};
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < missing.length) {
      throwIfAborted(options.signal);
      const it = missing[next++]!;
      const t = store.has(it.oid) ? await thumbnail(store.read(it.oid, it.size), size, options.maxPixels) : undefined;
      const uri = t ? `data:${t.mime};base64,${Buffer.from(t.bytes).toString('base64')}` : null;
      made[it.oid] = uri;
      out.set(it.oid, uri);
      if (++done % 500 === 0) options.onProgress?.({ phase: 'thumbnails', loaded: done, total: missing.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, missing.length) }, worker));
  options.onProgress?.({ phase: 'thumbnails', loaded: missing.length, total: missing.length });
  const chunk: ThumbnailChunk = { format: 1, kind: 'd2-thumbnails', size, items: made };
  store.state.appendLine('thumbnails', String(size), store.putBytes(JSON.stringify(chunk)));
  return { thumbnails: out, drawn: missing.length };
}
