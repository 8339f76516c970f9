/**
 * Thumbnails: a small picture of a raw image item for the report page, through sharp.
 *
 * Invariants:
 * - Bounded: at most `size` pixels on each side (never enlarged), and a small file. A PNG
 *   already within `size` on each side and `PASS_THROUGH_BYTES` in bytes, with no orientation
 *   metadata, is its own thumbnail (no re-encoding: a 28 × 28 Fashion-MNIST PNG is ≈ 300
 *   bytes); every other image is oriented (EXIF), shrunk to fit and encoded as WebP.
 * - Never throws for a bad image: an item that cannot be drawn has no thumbnail (undefined),
 *   and the page says so; the report of a model must not fail on one broken file.
 * - The pixel limit of decoding applies (no decompression bomb is decoded for a picture).
 */
import { readPngHeader } from './png.js';
import { loadSharp } from './sharp-decode.js';
import { readU32 } from './sniff.js';

export interface Thumbnail {
  mime: 'image/png' | 'image/webp';
  bytes: Uint8Array;
}

/** A PNG this small (and within the size) is used as it is. */
export const PASS_THROUGH_BYTES = 8192;

const T_IDAT = 0x49444154;
const T_EXIF = 0x65584966;

/** A PNG whose header says it fits and that carries no EXIF orientation before its data. */
function fitsAsIs(bytes: Uint8Array, size: number): boolean {
  if (bytes.length > PASS_THROUGH_BYTES) return false;
  const h = readPngHeader(bytes);
  if (!h || h.width === 0 || h.height === 0 || h.width > size || h.height > size) return false;
  for (let off = 8; off + 8 <= bytes.length;) {
    const type = readU32(bytes, off + 4);
    if (type === T_IDAT) return true;
    if (type === T_EXIF) return false;
    off += 12 + readU32(bytes, off);
  }
  return false;
}

/**
 * The thumbnail of an image item: `size` pixels at most on each side.
 *
 * @example
 * const t = await thumbnail(fs.readFileSync('shirt.jpg'), 64); // { mime: 'image/webp', bytes }
 */
export async function thumbnail(bytes: Uint8Array, size: number, maxPixels = 100_000_000): Promise<Thumbnail | undefined> {
  if (fitsAsIs(bytes, size)) return { mime: 'image/png', bytes };
  try {
    const sharp = await loadSharp();
    const out = await sharp(bytes, { failOn: 'error', limitInputPixels: maxPixels, pages: 1 })
      .rotate()
      .resize(size, size, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 75, effort: 2 })
      .toBuffer();
    return { mime: 'image/webp', bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength) };
  } catch {
    return undefined;
  }
}
