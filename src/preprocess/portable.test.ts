/**
 * The portable preprocessing (what an exported bundle's preprocess.js runs in a browser) gives
 * the float32 inputs d2's own pipeline gives, bit for bit, from the same decoded pixels —
 * whether they arrive as d2's decoder gives them or as a canvas does (RGBA, already upright).
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { ImageStep } from '../manifest/schema.js';
import { FIXTURE_IMAGES } from '../testing/index.js';
import { decodeImage } from './decode.js';
import { compactPixels, preprocessImageData, preprocessPixels, preprocessRow, topClasses } from './portable.js';
import { planPipeline } from './preprocess-image.js';
import { convertChannels, orientImage } from './steps.js';
import { encodeRow, fitTableEncoding } from './table.js';

const resize = (width: number, height: number, fit: 'fill' | 'cover' | 'contain', kernel: 'nearest' | 'bilinear' | 'bicubic', background = 0): ImageStep =>
  ({ resize: { width, height, fit, kernel, background } }) as ImageStep;

const STEPS: Record<string, ImageStep[]> = {
  none: [],
  'contain, rgb, normalize': [resize(9, 7, 'contain', 'bicubic', 40), { channels: 3 } as ImageStep, { normalize: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] } } as ImageStep],
  'crop, cover, grey, normalize': [{ crop: { center: 0.8 } } as ImageStep, resize(12, 12, 'cover', 'bilinear'), { channels: 1 } as ImageStep, { normalize: { mean: 0.5, std: 0.5 } } as ImageStep],
  'fill, keep channels': [resize(5, 6, 'fill', 'nearest')],
};

function pattern(width: number, height: number, channels: 3 | 4): Buffer {
  const px = Buffer.alloc(width * height * channels);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37 + Math.floor(i / 7) * 11) % 256;
  if (channels === 4) for (let i = 3; i < px.length; i += 4) px[i] = i % 3 ? 255 : 128;
  return px;
}

async function images(): Promise<Record<string, Uint8Array>> {
  const cls = fs.readdirSync(FIXTURE_IMAGES).find((n) => fs.statSync(path.join(FIXTURE_IMAGES, n)).isDirectory())!;
  const grey = fs.readFileSync(path.join(FIXTURE_IMAGES, cls, fs.readdirSync(path.join(FIXTURE_IMAGES, cls)).sort()[0]!));
  return {
    'grey png (fixture)': grey,
    'rgb jpeg, EXIF orientation 6': await sharp(pattern(20, 14, 3), { raw: { width: 20, height: 14, channels: 3 } }).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer(),
    'rgba png, partly transparent': await sharp(pattern(15, 11, 4), { raw: { width: 15, height: 11, channels: 4 } }).png().toBuffer(),
  };
}

describe('portable preprocessing (bundle preprocess.js)', async () => {
  const inputs = await images();
  for (const [imageName, bytes] of Object.entries(inputs)) {
    for (const [stepsName, steps] of Object.entries(STEPS)) {
      it(`${imageName}, steps ${stepsName}: bit-identical to d2's pipeline`, async () => {
        const pipeline = planPipeline({ steps, maxPixels: 1e8 });
        const expected = pipeline.toFloat(await pipeline.run(bytes));
        const preprocess = { modality: 'image' as const, steps, shape: [expected.height, expected.width, expected.channels] };
        const decoded = await decodeImage(bytes, 1e8);
        expect(decoded.orientation).toBe(imageName.includes('orientation 6') ? 6 : 1);
        // as d2's decoder gives them, orientation still to apply
        const fromDecoder = preprocessPixels({ data: decoded.pixels, width: decoded.width, height: decoded.height, channels: decoded.channels, orientation: decoded.orientation }, preprocess);
        expect(Buffer.from(fromDecoder.buffer).equals(Buffer.from(expected.data.buffer))).toBe(true);
        // as a canvas gives them: RGBA, upright
        const upright = convertChannels(orientImage(decoded, decoded.orientation), 4);
        const fromCanvas = preprocessImageData({ data: new Uint8ClampedArray(upright.pixels), width: upright.width, height: upright.height }, preprocess);
        expect(Buffer.from(fromCanvas.buffer).equals(Buffer.from(expected.data.buffer))).toBe(true);
      });
    }
  }

  it("compacts opaque alpha and grey colour the way d2's decoders store them", () => {
    const rgba = new Uint8Array([10, 10, 10, 255, 200, 200, 200, 255]);
    expect(compactPixels({ data: rgba, width: 2, height: 1 })).toMatchObject({ channels: 1, pixels: new Uint8Array([10, 200]) });
    const colour = new Uint8Array([10, 20, 30, 255, 200, 200, 200, 255]);
    expect(compactPixels({ data: colour, width: 2, height: 1 })).toMatchObject({ channels: 3, pixels: new Uint8Array([10, 20, 30, 200, 200, 200]) });
    const translucent = new Uint8Array([10, 10, 10, 128, 200, 200, 200, 255]);
    expect(compactPixels({ data: translucent, width: 2, height: 1 })).toMatchObject({ channels: 2, pixels: new Uint8Array([10, 128, 200, 255]) });
    expect(() => compactPixels({ data: rgba, width: 3, height: 1 })).toThrow(/expected 3×1×4/);
  });

  it('refuses an image whose steps do not give the model its input shape', () => {
    const px = { data: new Uint8Array(4 * 4 * 4).fill(255), width: 4, height: 4 };
    expect(() => preprocessImageData(px, { modality: 'image', steps: [], shape: [28, 28, 1] })).toThrow(/preprocesses to 4×4×1, the model expects 28×28×1/);
  });

  it('encodes table rows with the stored encoding, as encodeRow does; ranks classes as d2 does', () => {
    const rows = [{ size: '10', city: 'paris' }, { size: '30', city: 'lyon' }, { size: '', city: 'nice' }];
    const table = fitTableEncoding(rows, { features: ['size', 'city'], scale: 'standard', missing: { numeric: 'mean', categorical: 'category' } });
    const preprocess = { modality: 'table' as const, steps: [], shape: [table.width], table };
    for (const r of rows) expect(Array.from(preprocessRow(r, preprocess))).toEqual(Array.from(encodeRow(r, table)));
    expect(() => preprocessRow({ size: 'big', city: 'paris' }, preprocess)).toThrow(/not a number/);
    expect(topClasses(new Float32Array([0.1, 0.6, 0.3]), ['a', 'b', 'c'], 2)).toEqual([{ label: 'b', probability: Math.fround(0.6) }, { label: 'c', probability: Math.fround(0.3) }]);
  });
});
