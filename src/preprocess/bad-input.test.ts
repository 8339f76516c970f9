/**
 * Bad items are refused with ItemInvalid and a stable `data.reason`, never a hang, a crash or
 * an untyped error; decompression bombs are refused from the header, before decoding.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ItemInvalid } from '../errors/index.js';
import { FIXTURE_IMAGES } from '../testing/index.js';
import { crc32 } from './crc32.js';
import { preprocessImage } from './preprocess-image.js';
import { probeImage } from './probe.js';
import type { ItemInvalidReason } from './types.js';

const config = { steps: [{ resize: { width: 32, height: 32, fit: 'fill' as const, kernel: 'bilinear' as const, background: 0 } }], maxPixels: 50_000_000 };

async function reasonOf(bytes: Uint8Array, maxPixels = config.maxPixels): Promise<{ reason: ItemInvalidReason; error: ItemInvalid }> {
  try {
    await preprocessImage(bytes, { ...config, maxPixels });
  } catch (e) {
    expect(e).toBeInstanceOf(ItemInvalid);
    const error = e as ItemInvalid;
    expect(error.code).toBe('ItemInvalid');
    expect(error.message).toMatch(/^[a-z0-9]/); // git's wording: lower-case first word
    return { reason: error.data['reason'] as ItemInvalidReason, error };
  }
  throw new Error('expected ItemInvalid');
}

const fixturePng = () => {
  const dir = path.join(FIXTURE_IMAGES, 'bag');
  return new Uint8Array(fs.readFileSync(path.join(dir, fs.readdirSync(dir).sort()[0]!)));
};

async function photoJpeg(): Promise<Uint8Array> {
  const raw = Buffer.from(Array.from({ length: 64 * 48 * 3 }, (_, i) => (i * 37 + (i >> 7) * 11) & 255));
  return new Uint8Array(await sharp(raw, { raw: { width: 64, height: 48, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
}

/** Rewrite a PNG's IHDR size (and its CRC), leaving the rest of the file as it is. */
function withPngSize(png: Uint8Array, width: number, height: number): Uint8Array {
  const out = Uint8Array.from(png);
  const dv = new DataView(out.buffer);
  dv.setUint32(16, width);
  dv.setUint32(20, height);
  dv.setUint32(29, crc32(out, 12, 29));
  return out;
}

describe('bad items', () => {
  it('refuses a zero-byte file as empty', async () => {
    expect((await reasonOf(new Uint8Array(0))).reason).toBe('empty');
    await expect(probeImage(new Uint8Array(0))).rejects.toThrow(ItemInvalid);
  });

  it('refuses truncated PNGs and JPEGs as truncated', async () => {
    const png = fixturePng();
    expect((await reasonOf(png.subarray(0, Math.floor(png.length / 2)))).reason).toBe('truncated');
    expect((await reasonOf(png.subarray(0, png.length - 20))).reason).toBe('truncated'); // the end of the image data
    // Only IEND missing: every pixel is there; the fast decoder declines it and sharp reads it.
    const whole = await preprocessImage(png, config);
    const noEnd = await preprocessImage(png.subarray(0, png.length - 12), config);
    expect(Buffer.from(noEnd.pixels).equals(Buffer.from(whole.pixels))).toBe(true);
    const jpeg = await photoJpeg();
    expect((await reasonOf(jpeg.subarray(0, Math.floor(jpeg.length / 2)))).reason).toBe('truncated');
    expect((await reasonOf(jpeg.subarray(0, jpeg.length - 2))).reason).toBe('truncated'); // only EOI missing
  });

  it('refuses corrupt PNGs and JPEGs as corrupt', async () => {
    const png = Uint8Array.from(fixturePng());
    for (let i = 45; i < png.length - 20; i++) png[i]! ^= 0x5a; // the image data, chunk structure intact
    expect((await reasonOf(png)).reason).toBe('corrupt');
    const jpeg = Uint8Array.from(await photoJpeg());
    for (let i = 20; i < 200; i++) jpeg[i]! ^= 0x5a; // tables and frame header
    const { reason, error } = await reasonOf(jpeg);
    expect(reason).toBe('corrupt');
    expect(error.data['format']).toBe('jpeg');
  });

  it('refuses text and random bytes as not an image', async () => {
    expect((await reasonOf(new TextEncoder().encode('label,path\ncat,a.png\n'))).reason).toBe('not-an-image');
    const noise = Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24);
    expect((await reasonOf(noise)).reason).toBe('not-an-image');
    await expect(probeImage(noise)).rejects.toThrow(ItemInvalid);
  });

  it('refuses formats sharp cannot read here as unsupported', async () => {
    const bmp = new Uint8Array(70);
    bmp.set([0x42, 0x4d, 70, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 24, 0]);
    expect((await reasonOf(bmp)).reason).toBe('unsupported');
    const heic = new Uint8Array(64);
    heic.set(new TextEncoder().encode('\0\0\0\x18ftypheic\0\0\0\0mif1heic'));
    expect((await reasonOf(heic)).reason).toBe('unsupported');
  });

  it('refuses a PNG decompression bomb from its header, before decoding anything', async () => {
    // A 100000 x 100000 IHDR over 28x28 data: decoding would fail, so 'too-many-pixels'
    // shows that the header was judged first.
    const { reason, error } = await reasonOf(withPngSize(fixturePng(), 100_000, 100_000));
    expect(reason).toBe('too-many-pixels');
    expect(error.data).toMatchObject({ width: 100_000, height: 100_000, maxPixels: 50_000_000 });
    // The limit is the configuration's: the same genuine image passes or fails with it.
    expect((await reasonOf(fixturePng(), 28 * 28 - 1)).reason).toBe('too-many-pixels');
    await expect(preprocessImage(fixturePng(), { ...config, maxPixels: 28 * 28 })).resolves.toBeDefined();
  });

  it('refuses a JPEG decompression bomb from its header', async () => {
    const jpeg = Uint8Array.from(await photoJpeg());
    let sof = -1;
    for (let i = 2; i < jpeg.length - 1 && sof < 0; i++) if (jpeg[i] === 0xff && jpeg[i + 1] === 0xc0) sof = i;
    const dv = new DataView(jpeg.buffer);
    dv.setUint16(sof + 5, 60_000);
    dv.setUint16(sof + 7, 60_000);
    const { reason, error } = await reasonOf(jpeg);
    expect(reason).toBe('too-many-pixels');
    expect(error.data).toMatchObject({ width: 60_000, height: 60_000 });
  });

  it('survives chunk lengths that point far beyond the file', async () => {
    const png = Uint8Array.from(fixturePng());
    new DataView(png.buffer).setUint32(33, 0xfffffff0); // the first chunk after IHDR
    expect(['truncated', 'corrupt']).toContain((await reasonOf(png)).reason);
  });
});
