/**
 * Packed sets as the float32 tensors a model is fed: training, evaluation and prediction of
 * stored items all read through `loadSet`, so the numbers a model was evaluated on are the
 * numbers it was trained on.
 *
 * Images: uint8 pixels from the pack, then preprocess's `toFloatWith` (x / 255, then the
 * `normalize` steps). That function is applied once to every byte value of every channel to
 * make a lookup table; a pixel's float is then a table read, the same number `toFloatWith`
 * gives for it (it is a function of the byte and the channel only). Tables: float32 features,
 * stored as they are fed. Texts: term counts from the text pack through core/text.ts
 * `encodeTerms` with the encoding fitted on train (the function prediction runs).
 *
 * Invariant: no second implementation of normalisation: the table is computed by
 * preprocess's function, not re-derived here.
 */
import type { ItemSet } from '../core/dataset.js';
import { itemBytes, itemOffset } from '../core/pack.js';
import { toFloatWith, type ChannelCount, type ImageStep } from '../preprocess/index.js';
import type { ObjectStore } from '../store/index.js';
import { parseTextPack } from '../core/text-pack.js';
import { encodeTerms } from '../core/text.js';
import { ObjectCorrupt } from '../errors/index.js';
import { readPackTrailer, type PackedDataset } from './packing.js';

export interface LoadedSet {
  /** N × product(shape) float32, item-major (HWC per image). */
  x: Float32Array;
  /** Class index per item. */
  y: Int32Array;
  shape: number[];
  /** '<source>/<path>' per item. */
  paths: string[];
  /** Raw object oid per item. */
  oids: string[];
}

/** float32 value of byte b in channel c: table[b * channels + c]. */
export function normalizeTable(steps: readonly ImageStep[], channels: number): Float32Array {
  const pixels = new Uint8Array(256 * channels);
  for (let b = 0; b < 256; b++) pixels.fill(b, b * channels, (b + 1) * channels);
  const normalize = steps.map((s) => s.normalize).filter((n) => n !== undefined);
  return toFloatWith({ width: 256, height: 1, channels: channels as ChannelCount, pixels }, normalize).data;
}

/** uint8 HWC pixels of `count` items to floats through the table (in place into `out`). */
export function pixelsToFloat(pixels: Uint8Array, table: Float32Array, channels: number, out = new Float32Array(pixels.length)): Float32Array {
  if (channels === 1) {
    for (let i = 0; i < pixels.length; i++) out[i] = table[pixels[i] as number] as number;
  } else {
    for (let i = 0; i < pixels.length; i++) out[i] = table[(pixels[i] as number) * channels + (i % channels)] as number;
  }
  return out;
}

/** One set of a packed dataset, as floats (empty arrays when the set is empty). */
export function loadSet(store: ObjectStore, record: PackedDataset, set: ItemSet): LoadedSet {
  const s = record.sets[set];
  const shape = record.shape;
  const rowSize = shape.reduce((a, b) => a * b, 1);
  if (!s.pack || s.count === 0) return { x: new Float32Array(0), y: new Int32Array(0), shape, paths: [], oids: [] };
  if (record.modality === 'text') {
    if (!record.text) throw new ObjectCorrupt('packed record of texts has no text encoding', { hint: "run 'd2 fsck'" });
    let pack;
    try {
      pack = parseTextPack(store.readText(s.pack));
    } catch (e) {
      throw new ObjectCorrupt(`text pack ${s.pack.slice(0, 12)} is damaged: ${(e as Error).message}`, { data: { oid: s.pack }, hint: "run 'd2 fsck'" });
    }
    const x = new Float32Array(pack.items.length * rowSize);
    pack.terms.forEach((doc, i) => encodeTerms(doc, record.text!, x.subarray(i * rowSize, (i + 1) * rowSize)));
    return { x, y: Int32Array.from(s.labels), shape, paths: s.paths, oids: pack.items };
  }
  const trailer = readPackTrailer(store, s.pack);
  const bytes = store.readRange(s.pack, itemOffset(trailer, 0), itemBytes(trailer) * trailer.count);
  let x: Float32Array;
  if (trailer.dtype === 'float32') {
    x = new Float32Array(trailer.count * rowSize);
    new Uint8Array(x.buffer).set(bytes);
  } else {
    const channels = shape[2] ?? 1;
    x = pixelsToFloat(bytes, normalizeTable(record.steps, channels), channels);
  }
  return { x, y: Int32Array.from(s.labels), shape, paths: s.paths, oids: trailer.items };
}
