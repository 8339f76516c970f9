/**
 * Preprocessing items for a built model (`featuresFor`): a bad item — unreadable bytes, or an
 * image the steps do not bring to the model's input shape — fails alone, in its own entry.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FIXTURE_IMAGES } from '../testing/index.js';
import { featuresFor, type Preprocessing } from './inference.js';

describe('featuresFor', () => {
  it('keeps the good items in order and reports each bad one', async () => {
    const bag = path.join(FIXTURE_IMAGES, 'bag');
    const good = fs.readFileSync(path.join(bag, fs.readdirSync(bag).sort()[0]!));
    const larger = await sharp({ create: { width: 30, height: 30, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toBuffer();
    const pre = { modality: 'image', steps: [{ channels: 1 }], shape: [28, 28, 1] } as unknown as Preprocessing;
    const f = await featuresFor(pre, [
      { key: 'a.png', bytes: good },
      { key: 'big.png', bytes: larger },
      { key: 'junk.png', bytes: new Uint8Array([1, 2, 3]) },
      { key: 'b.png', bytes: good },
    ], { workers: 0 });
    expect(f.keys).toEqual(['a.png', 'b.png']);
    expect(f.x).toHaveLength(2 * 28 * 28);
    expect(f.x.subarray(0, 784)).toEqual(f.x.subarray(784));
    expect(f.failed.map((x) => [x.key, x.error.code, x.error.message])).toEqual([
      ['big.png', 'ItemInvalid', "'big.png' preprocesses to 30×30×1, the model expects 28×28×1"],
      ['junk.png', 'ItemInvalid', expect.stringContaining('not an image')],
    ]);
  });
});
