/**
 * PNG header reading and the fast PNG decoder: a small, strict decoder for the common 8-bit
 * PNGs (grey, grey + alpha, RGB, RGBA, palette), built on `node:zlib`. Per-image set-up in
 * sharp costs more than decoding a thumbnail, so small PNGs are decoded here instead.
 *
 * Invariant (the fast-path rule): `decodePngFast` either returns exactly the pixels the sharp
 * path decodes from the same bytes (same size, channels, values, orientation 1), or returns
 * undefined ("decline") and the caller uses sharp. It never throws for bad bytes: anything it
 * does not fully understand or cannot verify is declined, so errors and unusual files are
 * always judged by sharp. It declines: interlaced images; 16-bit and sub-8-bit grey; tRNS on
 * non-palette images; colour profiles (iCCP) and anything that may carry an EXIF orientation
 * (eXIf, EXIF/XMP text chunks); unknown critical chunks; bad CRCs; bad or surplus zlib data;
 * out-of-range palette indices; chunk order it does not expect.
 */
import { inflateSync } from 'node:zlib';
import { crc32 } from './crc32.js';
import { isPngSignature, readU32 } from './sniff.js';
import type { ChannelCount, DecodedImage } from './types.js';

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace: number;
}

const T_IHDR = 0x49484452;
const T_PLTE = 0x504c5445;
const T_IDAT = 0x49444154;
const T_IEND = 0x49454e44;
const T_TRNS = 0x74524e53;
const T_ICCP = 0x69434350;
const T_EXIF = 0x65584966;
const T_TEXT = 0x74455874;
const T_ZTXT = 0x7a545874;
const T_ITXT = 0x69545874;

/** Inflated data above this is left to sharp (which streams); keeps Buffers well below Node's limits. */
const MAX_FAST_BYTES = 1 << 30;

/** The IHDR fields, or undefined when the bytes do not start with a PNG signature and an IHDR. */
export function readPngHeader(bytes: Uint8Array): PngHeader | undefined {
  if (!isPngSignature(bytes) || bytes.length < 33) return undefined;
  if (readU32(bytes, 8) !== 13 || readU32(bytes, 12) !== T_IHDR) return undefined;
  return {
    width: readU32(bytes, 16),
    height: readU32(bytes, 20),
    bitDepth: bytes[24] as number,
    colorType: bytes[25] as number,
    interlace: bytes[28] as number,
  };
}

/** Channels after decoding (palette with tRNS gains alpha; grey with tRNS is declined). */
function channelsOf(colorType: number, paletteAlpha: boolean): ChannelCount {
  switch (colorType) {
    case 0: return 1;
    case 4: return 2;
    case 2: return 3;
    case 6: return 4;
    default: return paletteAlpha ? 4 : 3;
  }
}

function keywordMentionsMetadata(bytes: Uint8Array, from: number, to: number): boolean {
  let kw = '';
  for (let i = from; i < Math.min(to, from + 80) && bytes[i] !== 0; i++) kw += String.fromCharCode(bytes[i] as number);
  return /exif|xmp/i.test(kw);
}

/** See the module header: exact sharp-equivalent pixels, or undefined. */
export function decodePngFast(bytes: Uint8Array): DecodedImage | undefined {
  const h = readPngHeader(bytes);
  if (!h) return undefined;
  const { width, height, bitDepth, colorType } = h;
  if (width === 0 || height === 0 || h.interlace !== 0 || bytes[26] !== 0 || bytes[27] !== 0) return undefined;
  const paletted = colorType === 3;
  if (paletted ? ![1, 2, 4, 8].includes(bitDepth) : bitDepth !== 8 || ![0, 2, 4, 6].includes(colorType)) return undefined;

  // Walk the chunks: verify every CRC, collect PLTE/tRNS/IDAT, decline what we do not handle.
  let off = 8;
  let plte = -1, plteLen = 0, trns = -1, trnsLen = 0;
  let idatFirst = -1, idatLen = 0, idatCount = 0, idatClosed = false, ended = false;
  const idatParts: Uint8Array[] = [];
  while (off + 12 <= bytes.length) {
    const len = readU32(bytes, off);
    const type = readU32(bytes, off + 4);
    const data = off + 8;
    if (data + len + 4 > bytes.length) return undefined;
    if (crc32(bytes, off + 4, data + len) !== readU32(bytes, data + len)) return undefined;
    if (type === T_IHDR) {
      if (off !== 8) return undefined;
    } else if (type === T_IDAT) {
      if (idatClosed) return undefined;
      if (idatCount === 0) idatFirst = data;
      idatParts.push(bytes.subarray(data, data + len));
      idatLen += len;
      idatCount++;
    } else if (type === T_IEND) {
      ended = true;
      break;
    } else {
      if (idatCount > 0) idatClosed = true;
      if (type === T_PLTE) {
        if (plte >= 0 || idatCount > 0 || len === 0 || len % 3 !== 0 || len > 768) return undefined;
        plte = data;
        plteLen = len;
      } else if (type === T_TRNS) {
        if (!paletted || trns >= 0 || plte < 0 || idatCount > 0 || len > plteLen / 3) return undefined;
        trns = data;
        trnsLen = len;
      } else if (type === T_ICCP || type === T_EXIF) {
        return undefined;
      } else if (type === T_TEXT || type === T_ZTXT || type === T_ITXT) {
        if (keywordMentionsMetadata(bytes, data, data + len)) return undefined;
      } else if (((type >>> 24) & 0x20) === 0) {
        return undefined; // an unknown critical chunk
      }
    }
    off = data + len + 4;
  }
  if (!ended || idatCount === 0 || (paletted && plte < 0)) return undefined;

  const bitsPerPixel = bitDepth * (colorType === 0 || paletted ? 1 : colorType === 4 ? 2 : colorType === 2 ? 3 : 4);
  const rowBytes = Math.ceil((width * bitsPerPixel) / 8);
  const expected = (rowBytes + 1) * height;
  if (expected > MAX_FAST_BYTES) return undefined;

  let raw: Uint8Array;
  try {
    const zdata = idatCount === 1 ? bytes.subarray(idatFirst, idatFirst + idatLen) : concat(idatParts, idatLen);
    raw = inflateSync(zdata, { maxOutputLength: expected });
  } catch {
    return undefined; // bad zlib data, or more data than the image holds
  }
  if (raw.length !== expected) return undefined;

  const bpp = Math.max(1, bitsPerPixel >> 3);
  const filtered = new Uint8Array(height * rowBytes);
  if (!unfilter(raw, filtered, rowBytes, height, bpp)) return undefined;

  if (!paletted) {
    return { width, height, channels: channelsOf(colorType, false), pixels: filtered, orientation: 1 };
  }
  const channels = channelsOf(colorType, trns >= 0);
  const entries = plteLen / 3;
  const lut = new Uint8Array(256 * 4);
  for (let i = 0; i < entries; i++) {
    lut[4 * i] = bytes[plte + 3 * i] as number;
    lut[4 * i + 1] = bytes[plte + 3 * i + 1] as number;
    lut[4 * i + 2] = bytes[plte + 3 * i + 2] as number;
    lut[4 * i + 3] = i < trnsLen ? (bytes[trns + i] as number) : 255;
  }
  const pixels = new Uint8Array(width * height * channels);
  const perByte = 8 / bitDepth;
  const mask = (1 << bitDepth) - 1;
  let o = 0;
  for (let y = 0; y < height; y++) {
    const row = y * rowBytes;
    for (let x = 0; x < width; x++) {
      const index = bitDepth === 8
        ? (filtered[row + x] as number)
        : ((filtered[row + ((x / perByte) | 0)] as number) >> (8 - bitDepth * ((x % perByte) + 1))) & mask;
      if (index >= entries) return undefined;
      pixels[o++] = lut[4 * index] as number;
      pixels[o++] = lut[4 * index + 1] as number;
      pixels[o++] = lut[4 * index + 2] as number;
      if (channels === 4) pixels[o++] = lut[4 * index + 3] as number;
    }
  }
  return { width, height, channels, pixels, orientation: 1 };
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Reverse the PNG row filters of `raw` (a filter byte then `rowBytes` bytes per row) into
 * `rows`. The row above the first row is zeros. Returns false on an unknown filter type.
 * (Writes into a Uint8Array wrap modulo 256, which is the filters' arithmetic.)
 */
function unfilter(raw: Uint8Array, rows: Uint8Array, rowBytes: number, height: number, bpp: number): boolean {
  for (let y = 0; y < height; y++) {
    const src = y * (rowBytes + 1) + 1;
    const dst = y * rowBytes;
    const up = dst - rowBytes;
    let filter = raw[src - 1] as number;
    if (y === 0) {
      // With a zero row above: Up is None, Paeth is Sub; Average keeps half the left byte.
      if (filter === 2) filter = 0;
      else if (filter === 4) filter = 1;
      else if (filter === 3) {
        for (let i = 0; i < bpp; i++) rows[i] = raw[src + i] as number;
        for (let i = bpp; i < rowBytes; i++) rows[i] = (raw[src + i] as number) + ((rows[i - bpp] as number) >> 1);
        continue;
      }
    }
    switch (filter) {
      case 0:
        rows.set(raw.subarray(src, src + rowBytes), dst);
        break;
      case 1:
        for (let i = 0; i < bpp; i++) rows[dst + i] = raw[src + i] as number;
        for (let i = bpp; i < rowBytes; i++) rows[dst + i] = (raw[src + i] as number) + (rows[dst + i - bpp] as number);
        break;
      case 2:
        for (let i = 0; i < rowBytes; i++) rows[dst + i] = (raw[src + i] as number) + (rows[up + i] as number);
        break;
      case 3:
        for (let i = 0; i < bpp; i++) rows[dst + i] = (raw[src + i] as number) + ((rows[up + i] as number) >> 1);
        for (let i = bpp; i < rowBytes; i++) {
          rows[dst + i] = (raw[src + i] as number) + (((rows[dst + i - bpp] as number) + (rows[up + i] as number)) >> 1);
        }
        break;
      case 4:
        for (let i = 0; i < bpp; i++) rows[dst + i] = (raw[src + i] as number) + (rows[up + i] as number);
        for (let i = bpp; i < rowBytes; i++) {
          const a = rows[dst + i - bpp] as number;
          const b = rows[up + i] as number;
          const c = rows[up + i - bpp] as number;
          const pa = Math.abs(b - c);
          const pb = Math.abs(a - c);
          const pc = Math.abs(a + b - 2 * c);
          rows[dst + i] = (raw[src + i] as number) + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
        }
        break;
      default:
        return false;
    }
  }
  return true;
}
