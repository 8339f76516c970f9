/**
 * The sharp (libvips) decoder: every format sharp reads from a buffer (PNG, JPEG, WebP, GIF,
 * TIFF, AVIF, SVG). sharp is loaded with a dynamic `import()` on first use, so commands that
 * never decode an image never pay for it.
 *
 * Invariants:
 * - sharp only decodes: the result is the stored image as sharp delivers it by default
 *   (colour-managed to sRGB through an embedded ICC profile, CMYK converted, 16-bit reduced to
 *   8-bit, first page/frame only), not yet oriented; grey images are returned with one channel
 *   (two with alpha). Every step after decoding is d2's own code (steps.ts), so the output
 *   does not change with libvips' resizing or colour code.
 * - The pixel limit is checked from the header (`metadata()`), before any pixel is decoded,
 *   and sharp's own `limitInputPixels` is set to the same limit as a second guard.
 * - Every decoder failure becomes ItemInvalid with a reason decided from the bytes where
 *   possible (sniff.ts), not from libvips' wording.
 */
import { EngineUnavailable } from '../errors/index.js';
import { itemInvalid, tooManyPixels } from './item-errors.js';
import { DECODABLE_FORMATS, looksTruncated, sniffFormat } from './sniff.js';
import type { ChannelCount, DecodedImage, ItemInvalidReason } from './types.js';

type SharpFactory = (typeof import('sharp'))['default'];
type SharpMetadata = Awaited<ReturnType<ReturnType<SharpFactory>['metadata']>>;

let loading: Promise<SharpFactory> | undefined;

/** sharp, loaded once per thread; its operation cache is turned off (inputs are never reused). */
export function loadSharp(): Promise<SharpFactory> {
  loading ??= import('sharp').then(
    (m) => {
      const sharp = m.default;
      sharp.cache(false);
      return sharp;
    },
    (e: unknown) => {
      loading = undefined;
      throw new EngineUnavailable(`image decoder 'sharp' cannot be loaded: ${e instanceof Error ? e.message : String(e)}`, {
        data: { component: 'sharp' },
        hint: "reinstall d2's dependencies for this platform (npm rebuild sharp)",
        cause: e,
      });
    },
  );
  return loading;
}

function sharpOptions(maxPixels: number) {
  // failOn 'error' refuses truncated and broken data but tolerates libjpeg's warnings
  // (extraneous bytes before a marker, a bad Huffman code in the scan, …), as Pillow does.
  // limitInputPixels 0 means no limit (metadata only).
  return { failOn: 'error', limitInputPixels: maxPixels, pages: 1 } as const;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Turn a sharp failure into ItemInvalid, judging by the bytes first. */
export function classifySharpError(e: unknown, bytes: Uint8Array): never {
  const detail = messageOf(e).trim();
  const sniffed = sniffFormat(bytes);
  let reason: ItemInvalidReason;
  let message: string;
  if (/exceeds pixel limit/i.test(detail)) {
    reason = 'too-many-pixels';
    message = `${sniffed ?? 'image'} exceeds the pixel limit`;
  } else if (sniffed === undefined) {
    reason = 'not-an-image';
    message = 'not an image in any format d2 reads (png, jpeg, webp, gif, tiff, avif, svg)';
  } else if (!DECODABLE_FORMATS.has(sniffed)) {
    reason = 'unsupported';
    message = `unsupported image format '${sniffed}'; d2 reads png, jpeg, webp, gif, tiff, avif and svg`;
  } else if (looksTruncated(sniffed, bytes) || /premature end|truncat|unexpected end|end of (file|data|stream)/i.test(detail)) {
    reason = 'truncated';
    message = `truncated ${sniffed} image`;
  } else {
    reason = 'corrupt';
    message = `corrupt ${sniffed} image`;
  }
  throw itemInvalid(reason, detail ? `${message} (${detail})` : message, { format: sniffed ?? null, detail }, { cause: e });
}

/** Header-only metadata, with failures classified. No pixel limit here: callers judge the size. */
export async function readMetadata(bytes: Uint8Array): Promise<SharpMetadata> {
  const sharp = await loadSharp();
  let meta: SharpMetadata;
  try {
    meta = await sharp(bytes, sharpOptions(0)).metadata();
  } catch (e) {
    classifySharpError(e, bytes);
  }
  if (!DECODABLE_FORMATS.has(meta.format)) {
    // sharp recognised something (e.g. a libvips-native format) that is not an image format d2 accepts.
    throw itemInvalid('unsupported', `unsupported image format '${meta.format}'; d2 reads png, jpeg, webp, gif, tiff, avif and svg`, { format: meta.format });
  }
  return meta;
}

export function isGrey(meta: SharpMetadata): boolean {
  return meta.space === 'b-w' || meta.space === 'grey16';
}

/** Channels of the decoded image as d2 returns it: 1 or 3, plus alpha. */
export function decodedChannels(meta: SharpMetadata): ChannelCount {
  return ((isGrey(meta) ? 1 : 3) + (meta.hasAlpha ? 1 : 0)) as ChannelCount;
}

export async function decodeWithSharp(bytes: Uint8Array, maxPixels: number): Promise<DecodedImage> {
  const meta = await readMetadata(bytes);
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width * height > maxPixels) throw tooManyPixels(meta.format, width, height, maxPixels);
  const sharp = await loadSharp();
  let data: Buffer;
  let info: { width: number; height: number; channels: number };
  try {
    ({ data, info } = await sharp(bytes, sharpOptions(maxPixels)).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }));
  } catch (e) {
    classifySharpError(e, bytes);
  }
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.length);
  const n = info.width * info.height;
  const orientation = meta.orientation !== undefined && meta.orientation >= 1 && meta.orientation <= 8 ? meta.orientation : 1;
  if (info.channels < 1 || info.channels > 4 || raw.length !== n * info.channels) {
    throw itemInvalid('unsupported', `unsupported ${meta.format} image layout (${info.channels} channels)`, { format: meta.format, channels: info.channels });
  }
  // sharp delivers grey as sRGB (R = G = B); keep one channel, plus alpha.
  if (isGrey(meta) && info.channels >= 3) {
    const withAlpha = info.channels === 4;
    const out = new Uint8Array(n * (withAlpha ? 2 : 1));
    for (let i = 0, p = 0, o = 0; i < n; i++, p += info.channels) {
      out[o++] = raw[p] as number;
      if (withAlpha) out[o++] = raw[p + 3] as number;
    }
    return { width: info.width, height: info.height, channels: withAlpha ? 2 : 1, pixels: out, orientation };
  }
  return { width: info.width, height: info.height, channels: info.channels as ChannelCount, pixels: raw, orientation };
}
