/**
 * toFloat: x / 255 and normalisation in float32, as numpy computes them; and the end-to-end
 * function is exactly the composition of its two halves.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { InvalidArgument } from '../errors/index.js';
import { toFloat } from './float.js';
import { preprocessImage, preprocessImageToFloat } from './preprocess-image.js';
import type { ImagePixels, ImageStep } from './types.js';

const bytes = (p: ImagePixels) => Uint8Array.of(...p.pixels);

describe('toFloat', () => {
  it('scales each byte to the float32 nearest x / 255', () => {
    const all: ImagePixels = { width: 256, height: 1, channels: 1, pixels: Uint8Array.from({ length: 256 }, (_, i) => i) };
    const out = toFloat(all).data;
    for (let i = 0; i < 256; i++) expect(out[i]).toBe(Math.fround(i / 255));
    // numpy: (np.arange(256, dtype=np.float32) / np.float32(255)).tobytes()[4:8] == 81 80 80 3b
    expect(Buffer.from(out.buffer, 4, 4).toString('hex')).toBe('8180803b');
  });

  it('normalises in float32 as numpy does: f32(f32(x - mean) / std)', () => {
    const img: ImagePixels = { width: 4, height: 1, channels: 1, pixels: Uint8Array.of(0, 1, 128, 255) };
    const out = toFloat(img, [{ normalize: { mean: 0.286, std: 0.353 } }]).data;
    // (np.float32(x) / 255 - np.float32(0.2860)) / np.float32(0.3530), numpy 1.24
    expect([...out]).toEqual([-0.8101983666419983, -0.7990891337394714, 0.6117870211601257, 2.022662878036499]);
  });

  it('applies per-channel values, and several normalize steps in order', () => {
    const img: ImagePixels = { width: 1, height: 1, channels: 3, pixels: Uint8Array.of(255, 0, 51) };
    const once = toFloat(img, [{ normalize: { mean: [1, 0, 0], std: [1, 1, 0.5] } }]).data;
    expect([...once]).toEqual([0, 0, Math.fround(Math.fround(51 / 255) / 0.5)]);
    const twice = toFloat(img, [{ normalize: { mean: 0, std: 2 } }, { normalize: { mean: 0.5, std: 1 } }]).data;
    expect(twice[0]).toBe(Math.fround(0.5 - 0.5));
  });

  it('refuses a normalisation with the wrong number of channel values', () => {
    const img: ImagePixels = { width: 1, height: 1, channels: 1, pixels: Uint8Array.of(1) };
    expect(() => toFloat(img, [{ normalize: { mean: [0.1, 0.2, 0.3], std: 1 } }])).toThrow(InvalidArgument);
  });
});

describe('preprocessImageToFloat', () => {
  it('is toFloat(preprocessImage(...)), with normalize steps taken wherever they stand', async () => {
    const raw = Uint8Array.from({ length: 12 * 9 * 3 }, (_, i) => (i * 29) & 255);
    const png = await sharp(Buffer.from(raw), { raw: { width: 12, height: 9, channels: 3 } }).png().toBuffer();
    const steps: ImageStep[] = [
      { normalize: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] } },
      { resize: { width: 8, height: 8, fit: 'fill', kernel: 'bicubic', background: 0 } },
    ];
    const config = { steps, maxPixels: 1e6 };
    const pixels = await preprocessImage(png, config);
    const whole = await preprocessImageToFloat(png, config);
    expect([whole.width, whole.height, whole.channels]).toEqual([8, 8, 3]);
    expect(Buffer.from(whole.data.buffer).equals(Buffer.from(toFloat(pixels, steps).data.buffer))).toBe(true);
    expect(bytes(pixels).length).toBe(8 * 8 * 3);
  });
});
