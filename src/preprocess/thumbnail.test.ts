import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FIXTURE_IMAGES } from '../testing/index.js';
import { PASS_THROUGH_BYTES, thumbnail } from './thumbnail.js';

const first = (cls: string) => fs.readFileSync(path.join(FIXTURE_IMAGES, cls, fs.readdirSync(path.join(FIXTURE_IMAGES, cls)).sort()[0]!));

describe('thumbnail', () => {
  it('keeps a small PNG that fits as it is (no re-encoding)', async () => {
    const png = first('bag');
    expect(png.length).toBeLessThanOrEqual(PASS_THROUGH_BYTES);
    const t = await thumbnail(png, 64);
    expect(t?.mime).toBe('image/png');
    expect(Buffer.from(t!.bytes).equals(png)).toBe(true);
  });

  it('shrinks a larger image to fit the size, keeping its proportions, as WebP', async () => {
    const big = await sharp({ create: { width: 400, height: 200, channels: 3, background: { r: 200, g: 10, b: 10 } } }).jpeg().toBuffer();
    const t = await thumbnail(big, 64);
    expect(t?.mime).toBe('image/webp');
    const meta = await sharp(Buffer.from(t!.bytes)).metadata();
    expect([meta.width, meta.height]).toEqual([64, 32]);
    // a PNG within the size but too big in bytes is re-encoded too
    const noisy = await sharp(Buffer.from(Array.from({ length: 60 * 60 * 3 }, (_, i) => (i * 7919) % 256)), { raw: { width: 60, height: 60, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
    expect(noisy.length).toBeGreaterThan(PASS_THROUGH_BYTES);
    expect((await thumbnail(noisy, 64))?.mime).toBe('image/webp');
  });

  it('gives nothing (never throws) for bytes that are not an image', async () => {
    expect(await thumbnail(Buffer.from('not an image'), 64)).toBeUndefined();
    expect(await thumbnail(first('bag').subarray(0, 40), 64)).toBeUndefined();
  });
});
