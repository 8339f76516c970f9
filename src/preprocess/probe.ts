/**
 * `probeImage`: an image's format, size and channels from its header, as `preprocessImage`
 * would return the image with no steps (after EXIF orientation). Used to derive zero-
 * configuration defaults (resize target and channels) from the data.
 *
 * Invariant: for every image `preprocessImage` accepts, `probeImage` gives the width, height
 * and channels of `preprocessImage(bytes, { steps: [] })` (tested in probe.test.ts). PNGs are
 * read from their chunk headers without loading sharp; other formats through sharp's
 * header-only `metadata()`.
 */
import { refuseEmpty } from './decode.js';
import { readPngHeader } from './png.js';
import { decodedChannels, readMetadata } from './sharp-decode.js';
import { readU32 } from './sniff.js';
import type { ChannelCount, ImageProbe } from './types.js';

const T_IDAT = 0x49444154;
const T_TRNS = 0x74524e53;
const T_EXIF = 0x65584966;

/** From the PNG chunks before the image data; undefined when orientation metadata may apply. */
function probePng(bytes: Uint8Array): ImageProbe | undefined {
  const h = readPngHeader(bytes);
  if (!h || h.width === 0 || h.height === 0 || ![0, 2, 3, 4, 6].includes(h.colorType)) return undefined;
  let transparency = false;
  let off = 8;
  while (off + 8 <= bytes.length) {
    const len = readU32(bytes, off);
    const type = readU32(bytes, off + 4);
    if (type === T_IDAT) break;
    if (type === T_EXIF) return undefined;
    if (type === T_TRNS) transparency = true;
    off += 12 + len;
  }
  if (off + 8 > bytes.length) return undefined; // no image data: let sharp judge
  const base = h.colorType === 0 || h.colorType === 4 ? 1 : 3;
  const alpha = h.colorType === 4 || h.colorType === 6 || transparency;
  return { format: 'png', width: h.width, height: h.height, channels: (base + (alpha ? 1 : 0)) as ChannelCount };
}

export async function probeImage(bytes: Uint8Array): Promise<ImageProbe> {
  refuseEmpty(bytes);
  const png = probePng(bytes);
  if (png) return png;
  const meta = await readMetadata(bytes);
  const oriented = meta.autoOrient ?? { width: meta.width, height: meta.height };
  return { format: meta.format, width: oriented.width, height: oriented.height, channels: decodedChannels(meta) };
}
