/**
 * The one-path rule: the fast PNG decoder gives exactly sharp's pixels on every PNG kind it
 * accepts, declines the rest, and the whole pipeline gives the same output whichever decoder
 * ran.
 */
import fs from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp, { type PngOptions } from 'sharp';
import { describe, expect, it } from 'vitest';
import { FIXTURE_IMAGES } from '../testing/index.js';
import { crc32 } from './crc32.js';
import { decodeImage, decoderFor } from './decode.js';
import { decodePngFast } from './png.js';
import { preprocessImage } from './preprocess-image.js';
import { decodeWithSharp } from './sharp-decode.js';
import { applyPixelOps, planImageSteps } from './steps.js';
import type { D2Error } from '../errors/index.js';
import type { ImagePixels, ImageStep } from './types.js';

// ---- a small PNG writer, so tests control filters, bit depths and chunks -------------------

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Forward PNG filter of one row (`prev` is the unfiltered row above, zeros for the first). */
function filterRow(row: Uint8Array, prev: Uint8Array, bpp: number, type: number): Uint8Array {
  const out = new Uint8Array(row.length + 1);
  out[0] = type;
  for (let i = 0; i < row.length; i++) {
    const a = i >= bpp ? row[i - bpp]! : 0, b = prev[i]!, c = i >= bpp ? prev[i - bpp]! : 0;
    const pred = type === 0 ? 0 : type === 1 ? a : type === 2 ? b : type === 3 ? (a + b) >> 1 : paeth(a, b, c);
    out[i + 1] = (row[i]! - pred) & 255;
  }
  return out;
}

interface PngSpec {
  width: number;
  height: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  bitDepth?: number;
  /** Packed, unfiltered rows (as the PNG stores them after unfiltering). */
  rows: Uint8Array[];
  filters?: (y: number) => number;
  plte?: Uint8Array;
  trns?: Uint8Array;
  before?: Uint8Array[];
  idatParts?: number;
  after?: Uint8Array;
}

function encodePng(s: PngSpec): Uint8Array {
  const depth = s.bitDepth ?? 8;
  const samples = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[s.colorType];
  const bpp = Math.max(1, (depth * samples) >> 3);
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, s.width);
  dv.setUint32(4, s.height);
  ihdr[8] = depth;
  ihdr[9] = s.colorType;
  const filtered: Uint8Array[] = [];
  s.rows.forEach((row, y) => filtered.push(filterRow(row, y > 0 ? s.rows[y - 1]! : new Uint8Array(row.length), bpp, s.filters ? s.filters(y) : y % 5)));
  const z = deflateSync(Buffer.concat(filtered));
  const parts = s.idatParts ?? 1;
  const idats: Uint8Array[] = [];
  const step = Math.ceil(z.length / parts);
  for (let i = 0; i < z.length; i += step) idats.push(chunk('IDAT', z.subarray(i, i + step)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...(s.before ?? []),
    ...(s.plte ? [chunk('PLTE', s.plte)] : []),
    ...(s.trns ? [chunk('tRNS', s.trns)] : []),
    ...idats,
    chunk('IEND', new Uint8Array(0)),
    ...(s.after ? [s.after] : []),
  ]);
}

function pattern(width: number, height: number, bytesPerRow: number, seed: number): Uint8Array[] {
  let x = seed;
  return Array.from({ length: height }, (_, y) => Uint8Array.from({ length: bytesPerRow }, (_, i) => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    // smooth gradients plus noise, so every filter sees real predictions
    return (i * 7 + y * 13 + (x >> 16) % 23) & 255;
  }));
}

function packed(width: number, height: number, depth: number, entries: number, seed: number): Uint8Array[] {
  const perRow = Math.ceil((width * depth) / 8);
  return Array.from({ length: height }, (_, y) => {
    const row = new Uint8Array(perRow);
    for (let x = 0; x < width; x++) {
      const index = (x * 3 + y * 5 + seed) % entries;
      const bit = x * depth;
      row[bit >> 3]! |= index << (8 - depth - (bit & 7));
    }
    return row;
  });
}

function palette(n: number): Uint8Array {
  return Uint8Array.from({ length: n * 3 }, (_, i) => (i * 71 + 13) & 255);
}

const text = (keyword: string, value: string) => chunk('tEXt', Buffer.from(`${keyword}\0${value}`, 'latin1'));
const ancillary = [
  text('Comment', 'made by a d2 test'),
  chunk('gAMA', Uint8Array.of(0, 0, 0xb1, 0x8f)),
  chunk('pHYs', Uint8Array.of(0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1)),
  chunk('tIME', Uint8Array.of(0x07, 0xe8, 1, 2, 3, 4, 5)),
];

async function sharpPng(raw: Uint8Array, width: number, height: number, channels: 1 | 2 | 3 | 4, png: PngOptions, grey = false): Promise<Uint8Array> {
  let img = sharp(Buffer.from(raw), { raw: { width, height, channels } });
  if (grey) img = img.toColourspace('b-w');
  return new Uint8Array(await img.png(png).toBuffer());
}

function rgbPattern(width: number, height: number, channels: number): Uint8Array {
  return Uint8Array.from({ length: width * height * channels }, (_, i) => {
    const p = Math.floor(i / channels), c = i % channels, x = p % width, y = Math.floor(p / width);
    return c === 3 ? ((x * y * 29) & 255) : (x * 37 + y * 91 + c * 53 + ((x * y * 11) % 17)) & 255;
  });
}

/** Every PNG kind the fast decoder is meant to accept. */
async function acceptedCases(): Promise<[string, Uint8Array][]> {
  const cases: [string, Uint8Array][] = [];
  for (let f = 0; f <= 4; f++) {
    cases.push([`grey, filter ${f} on every row`, encodePng({ width: 19, height: 11, colorType: 0, rows: pattern(19, 11, 19, f), filters: () => f })]);
  }
  cases.push(['grey, mixed filters', encodePng({ width: 28, height: 28, colorType: 0, rows: pattern(28, 28, 28, 9) })]);
  cases.push(['grey + alpha', encodePng({ width: 13, height: 9, colorType: 4, rows: pattern(13, 9, 26, 2) })]);
  cases.push(['RGB', encodePng({ width: 17, height: 10, colorType: 2, rows: pattern(17, 10, 51, 3) })]);
  cases.push(['RGBA', encodePng({ width: 15, height: 12, colorType: 6, rows: pattern(15, 12, 60, 4) })]);
  cases.push(['1x1 grey', encodePng({ width: 1, height: 1, colorType: 0, rows: [Uint8Array.of(77)] })]);
  cases.push(['one row RGB', encodePng({ width: 40, height: 1, colorType: 2, rows: pattern(40, 1, 120, 5) })]);
  cases.push(['one column RGBA', encodePng({ width: 1, height: 30, colorType: 6, rows: pattern(1, 30, 4, 6) })]);
  for (const depth of [1, 2, 4, 8]) {
    const entries = Math.min(1 << depth, 200);
    cases.push([`palette ${depth}-bit`, encodePng({ width: 21, height: 7, colorType: 3, bitDepth: depth, rows: packed(21, 7, depth, entries, depth), plte: palette(entries) })]);
    cases.push([`palette ${depth}-bit with tRNS`, encodePng({
      width: 21, height: 7, colorType: 3, bitDepth: depth, rows: packed(21, 7, depth, entries, depth), plte: palette(entries),
      trns: Uint8Array.from({ length: Math.max(1, entries >> 1) }, (_, i) => (i * 97) & 255),
    })]);
  }
  cases.push(['IDAT in 4 chunks', encodePng({ width: 28, height: 28, colorType: 0, rows: pattern(28, 28, 28, 11), idatParts: 4 })]);
  cases.push(['text, gAMA, pHYs and tIME chunks', encodePng({ width: 12, height: 8, colorType: 2, rows: pattern(12, 8, 36, 12), before: ancillary })]);
  cases.push(['bytes after IEND', encodePng({ width: 12, height: 8, colorType: 0, rows: pattern(12, 8, 12, 13), after: Buffer.from('trailing junk') })]);

  // PNGs as another encoder writes them (libvips/libpng through sharp).
  cases.push(['sharp grey', await sharpPng(rgbPattern(33, 21, 1), 33, 21, 1, {}, true)]);
  cases.push(['sharp RGB, level 9, adaptive filtering', await sharpPng(rgbPattern(33, 21, 3), 33, 21, 3, { compressionLevel: 9, adaptiveFiltering: true })]);
  cases.push(['sharp RGB, level 0', await sharpPng(rgbPattern(33, 21, 3), 33, 21, 3, { compressionLevel: 0 })]);
  cases.push(['sharp RGBA', await sharpPng(rgbPattern(33, 21, 4), 33, 21, 4, { adaptiveFiltering: true })]);
  cases.push(['sharp palette, 256 colours', await sharpPng(rgbPattern(33, 21, 3), 33, 21, 3, { palette: true, colours: 256, dither: 0 })]);
  cases.push(['sharp palette, 4 colours (2-bit)', await sharpPng(rgbPattern(33, 21, 3), 33, 21, 3, { palette: true, colours: 4, dither: 0 })]);
  cases.push(['sharp palette with alpha', await sharpPng(rgbPattern(33, 21, 4), 33, 21, 4, { palette: true, colours: 64 })]);
  return cases;
}

describe('fast PNG decoder', () => {
  it('gives exactly the pixels sharp decodes, on every PNG kind it accepts', async () => {
    for (const [name, png] of await acceptedCases()) {
      const fast = decodePngFast(png);
      expect(fast, `${name}: accepted by the fast decoder`).toBeDefined();
      const slow = await decodeWithSharp(png, 1e8);
      expect({ name, width: fast!.width, height: fast!.height, channels: fast!.channels }).toEqual({ name, width: slow.width, height: slow.height, channels: slow.channels });
      expect(Buffer.from(fast!.pixels).equals(Buffer.from(slow.pixels)), `${name}: same pixels`).toBe(true);
    }
  });

  it('gives sharp\'s pixels on the Fashion-MNIST fixtures (as writePngTree encodes them)', async () => {
    const files = fs.readdirSync(FIXTURE_IMAGES, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.png')).sort();
    expect(files.length).toBeGreaterThan(100);
    for (const f of files.slice(0, 120)) {
      const png = fs.readFileSync(path.join(FIXTURE_IMAGES, f));
      const fast = decodePngFast(png);
      expect(fast, f).toBeDefined();
      const slow = await decodeWithSharp(png, 1e8);
      expect(fast!.channels).toBe(slow.channels);
      expect(Buffer.from(fast!.pixels).equals(Buffer.from(slow.pixels)), f).toBe(true);
    }
  });

  it('declines what it does not fully handle, and sharp decodes those instead', async () => {
    const rgb = rgbPattern(24, 16, 3);
    const grey16 = await sharp(Buffer.from(rgbPattern(24, 16, 1)), { raw: { width: 24, height: 16, channels: 1 } }).toColourspace('grey16').png().toBuffer();
    const good = encodePng({ width: 12, height: 8, colorType: 2, rows: pattern(12, 8, 36, 1) });
    const badCrc = Buffer.from(good);
    badCrc[33 + 8 + 3]! ^= 0xff; // a byte inside the first IDAT's data
    const declined: [string, Uint8Array, boolean][] = [
      ['interlaced', await sharpPng(rgb, 24, 16, 3, { progressive: true }), true],
      ['16-bit', grey16, true],
      ['ICC profile', new Uint8Array(await sharp(Buffer.from(rgb), { raw: { width: 24, height: 16, channels: 3 } }).withIccProfile('p3').png().toBuffer()), true],
      ['EXIF orientation', new Uint8Array(await sharp(Buffer.from(rgb), { raw: { width: 24, height: 16, channels: 3 } }).withMetadata({ orientation: 6 }).png().toBuffer()), true],
      ['grey with tRNS', encodePng({ width: 8, height: 8, colorType: 0, rows: pattern(8, 8, 8, 1), before: [chunk('tRNS', Uint8Array.of(0, 7))] }), true],
      ['XMP text chunk', encodePng({ width: 8, height: 8, colorType: 0, rows: pattern(8, 8, 8, 1), before: [text('XML:com.adobe.xmp', '<x/>')] }), true],
      ['damaged CRC', badCrc, false],
      ['palette index beyond the palette', encodePng({ width: 8, height: 2, colorType: 3, rows: [Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 9)], plte: palette(8) }), false],
    ];
    for (const [name, png, sharpReadsIt] of declined) {
      expect(decodePngFast(png), name).toBeUndefined();
      expect(decoderFor(png), name).toBe('sharp');
      if (sharpReadsIt) {
        const viaPipeline = await decodeImage(png, 1e8);
        const viaSharp = await decodeWithSharp(png, 1e8);
        expect(Buffer.from(viaPipeline.pixels).equals(Buffer.from(viaSharp.pixels)), name).toBe(true);
      }
    }
  });

  it('makes preprocessImage give the same output whichever decoder ran, for every kind of step', async () => {
    const configs: ImageStep[][] = [
      [{ resize: { width: 32, height: 32, fit: 'fill', kernel: 'bilinear', background: 0 } }],
      [{ crop: { center: 0.8 } }, { resize: { width: 10, height: 14, fit: 'cover', kernel: 'bicubic', background: 0 } }, { channels: 3 }],
      [{ channels: 1 }, { resize: { width: 20, height: 9, fit: 'contain', kernel: 'nearest', background: 128 } }],
      [{ crop: { left: 1, top: 2, width: 5, height: 4 } }, { channels: 4 }],
    ];
    const outcome = async (run: () => Promise<ImagePixels>) => {
      try {
        const r = await run();
        return { width: r.width, height: r.height, channels: r.channels, pixels: Buffer.from(r.pixels).toString('base64') };
      } catch (e) {
        return { error: (e as D2Error).code, reason: (e as D2Error).data['reason'] };
      }
    };
    let compared = 0;
    for (const [name, png] of await acceptedCases()) {
      for (const steps of configs) {
        const viaPipeline = await outcome(() => preprocessImage(png, { steps, maxPixels: 1e8 }));
        const viaSharp = await outcome(async () => applyPixelOps(await decodeWithSharp(png, 1e8), planImageSteps(steps)));
        expect(viaPipeline, `${name} with ${JSON.stringify(steps)}`).toEqual(viaSharp);
        if (!('error' in viaPipeline)) compared++;
      }
    }
    expect(compared).toBeGreaterThan(100);
  });
});
