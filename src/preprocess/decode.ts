/**
 * Bytes to a decoded image: the choice between the fast PNG decoder and sharp.
 *
 * Invariants (the one-path rule):
 * - The choice depends only on the bytes: a PNG goes to the fast decoder first, and whatever
 *   it declines goes to sharp. It never depends on the configuration, the thread or the load.
 * - The fast decoder returns exactly what sharp returns for the same bytes (png.ts), and every
 *   later step is shared code, so which decoder ran never shows in the result. The test
 *   `decode.test.ts` checks this on every PNG kind the fast decoder accepts.
 * - Empty input and images above `maxPixels` are refused before any decoder runs, from the
 *   header alone.
 */
import { itemInvalid, tooManyPixels } from './item-errors.js';
import { decodePngFast, readPngHeader } from './png.js';
import { decodeWithSharp } from './sharp-decode.js';
import type { DecodedImage } from './types.js';

/** Which decoder `decodeImage` will use for these bytes (for tests and benchmarks). */
export function decoderFor(bytes: Uint8Array): 'fast-png' | 'sharp' {
  return readPngHeader(bytes) && decodePngFast(bytes) ? 'fast-png' : 'sharp';
}

export function refuseEmpty(bytes: Uint8Array): void {
  if (bytes.length === 0) throw itemInvalid('empty', 'empty file, not an image');
}

/**
 * The synchronous part of `decodeImage`: the refusals decided from the header, then the fast
 * decoder. Returns undefined when sharp has to decode the bytes.
 */
export function decodeImageSync(bytes: Uint8Array, maxPixels: number): DecodedImage | undefined {
  refuseEmpty(bytes);
  const png = readPngHeader(bytes);
  if (!png) return undefined;
  if (png.width * png.height > maxPixels) throw tooManyPixels('png', png.width, png.height, maxPixels);
  return decodePngFast(bytes);
}

export async function decodeImage(bytes: Uint8Array, maxPixels: number): Promise<DecodedImage> {
  return decodeImageSync(bytes, maxPixels) ?? decodeWithSharp(bytes, maxPixels);
}
