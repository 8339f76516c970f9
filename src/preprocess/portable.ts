/**
 * d2's preprocessing for runtimes without Node and without d2: a browser, a worker, the edge.
 * `npm run build` bundles this file into one dependency-free ES module
 * (`dist/portable/d2-preprocess.js`), and `d2 export` copies it into every bundle as
 * `preprocess.js`, so a TensorFlow.js application feeds the exported model exactly what d2
 * fed it in training and evaluation.
 *
 * Invariants:
 * - No second implementation: the pixel steps (steps.ts), x / 255 and normalisation
 *   (float.ts) and row encoding (table.ts) are the very functions d2 itself runs; this module
 *   only adapts their inputs. Given the pixels d2's decoder gives, the output is bit-identical
 *   to d2's (tested against the worker pool's `processToFloat`).
 * - Decoding is the runtime's (a canvas gives RGBA). For opaque images that changes nothing:
 *   opaque alpha is dropped and equal R = G = B collapses to grey before any step, and the pixel
 *   steps give the same values for grey stored as RGB(A) (luma of equal values is the value;
 *   resampling is per channel). Lossy formats may decode differently in another decoder.
 * - EXIF orientation: pass `orientation` when the pixels are as stored; a browser that already
 *   applied it (createImageBitmap's default) passes nothing (1).
 */
import { InvalidArgument } from '../errors/index.js';
import type { ImageStep } from '../manifest/schema.js';
import { toFloatWith } from './float.js';
import { applyPixelOps, convertChannels, planImageSteps } from './steps.js';
import { encodeRow as encodeTableRow, type TableEncoding } from './table.js';
import { checkText, decodeText, encodeText, type TextEncoding } from '../core/text.js';
import type { ChannelCount } from './types.js';

/** The `preprocess` record of a bundle's d2-bundle.json (or of a build). */
export interface PortablePreprocess {
  modality: 'image' | 'table' | 'text';
  steps: readonly ImageStep[];
  /** The model's input shape: [height, width, channels] for images, [features] for tables and texts. */
  shape: readonly number[];
  table?: TableEncoding;
  text?: TextEncoding;
}

/** Decoded pixels, interleaved HWC (RGBA when `channels` is omitted, as a canvas gives them). */
export interface PortablePixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels?: ChannelCount;
  /** EXIF orientation (1–8) still to apply; 1 or omitted when the pixels are upright. */
  orientation?: number;
}

function view(data: Uint8Array | Uint8ClampedArray): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Drop an alpha channel that is opaque everywhere, and collapse colour that is grey everywhere:
 * what d2's decoders give for the same file in the common cases (the result is the same in the
 * other cases too, see the module header).
 */
export function compactPixels(image: PortablePixels): { width: number; height: number; channels: ChannelCount; pixels: Uint8Array } {
  const channels = image.channels ?? 4;
  const src = view(image.data);
  const n = image.width * image.height;
  if (src.length !== n * channels) throw new InvalidArgument(`pixel data has ${src.length} bytes, expected ${image.width}×${image.height}×${channels}`);
  let opaque = channels === 2 || channels === 4;
  let grey = channels >= 3;
  for (let i = 0; i < n && (opaque || grey); i++) {
    const p = i * channels;
    if (opaque && src[p + channels - 1] !== 255) opaque = false;
    if (grey && (src[p] !== src[p + 1] || src[p] !== src[p + 2])) grey = false;
  }
  const to: ChannelCount = grey ? (opaque || channels === 3 ? 1 : 2) : opaque ? (channels === 4 ? 3 : 1) : channels;
  const img = { width: image.width, height: image.height, channels, pixels: src };
  return to === channels ? img : convertChannels(img, to);
}

/**
 * Pixels to the model's float32 input (length = product of `preprocess.shape`): the bundle's
 * steps in order, x / 255, normalisation, then the model's channel count if the steps left
 * another one (an RGBA canvas for an RGB model). Throws when the result is not the model's shape.
 */
export function preprocessPixels(image: PortablePixels, preprocess: PortablePreprocess): Float32Array {
  if (preprocess.modality !== 'image') throw new InvalidArgument(`this model reads ${preprocess.modality} rows, not images`);
  const plan = planImageSteps(preprocess.steps);
  let px = applyPixelOps({ ...compactPixels(image), orientation: image.orientation ?? 1 }, plan);
  const [h, w, c] = preprocess.shape as [number, number, number];
  if (px.channels !== c && px.width === w && px.height === h) px = convertChannels(px, c as ChannelCount);
  if (px.width !== w || px.height !== h || px.channels !== c) {
    throw new InvalidArgument(`the image preprocesses to ${px.height}×${px.width}×${px.channels}, the model expects ${preprocess.shape.join('×')}`);
  }
  return toFloatWith(px, plan.normalize).data;
}

/** A canvas's ImageData (RGBA, upright) to the model's float32 input. */
export function preprocessImageData(imageData: { data: Uint8ClampedArray | Uint8Array; width: number; height: number }, preprocess: PortablePreprocess): Float32Array {
  return preprocessPixels({ data: imageData.data, width: imageData.width, height: imageData.height, channels: 4 }, preprocess);
}

/** A table row (column name → text) to the model's float32 input, with the encoding fitted at build time. */
export function preprocessRow(row: Record<string, string>, preprocess: PortablePreprocess): Float32Array {
  if (preprocess.modality !== 'table' || !preprocess.table) throw new InvalidArgument('this model reads images, not table rows');
  return encodeTableRow(row, preprocess.table);
}

/**
 * A text to the model's float32 input: NFKC, lower case, n-grams, the vocabulary (or hash
 * buckets) and IDF weights fitted at build time, L2 norm, chunks averaged (core/text.ts, the
 * functions d2 runs). Throws on a text d2 would refuse (NUL characters, too large, empty).
 */
export function preprocessText(text: string, preprocess: PortablePreprocess): Float32Array {
  if (preprocess.modality !== 'text' || !preprocess.text) throw new InvalidArgument(`this model reads ${preprocess.modality === 'table' ? 'table rows' : 'images'}, not texts`);
  return encodeText(checkText(text, preprocess.text.settings.maxBytes), preprocess.text);
}

/** UTF-8 bytes (a file's content) to the model's float32 input, as `preprocessText`. */
export function preprocessTextBytes(bytes: Uint8Array, preprocess: PortablePreprocess): Float32Array {
  if (preprocess.modality !== 'text' || !preprocess.text) throw new InvalidArgument('this model does not read texts');
  return preprocessText(decodeText(bytes, preprocess.text.settings.maxBytes), preprocess);
}

/** The k most probable classes of one row of probabilities, most probable first. */
export function topClasses(probs: ArrayLike<number>, classes: readonly string[], k = 1): { label: string; probability: number }[] {
  const order = Array.from({ length: classes.length }, (_, i) => i).sort((a, b) => (probs[b] as number) - (probs[a] as number) || a - b);
  return order.slice(0, k).map((i) => ({ label: classes[i]!, probability: probs[i] as number }));
}
