/**
 * The pixel steps: resampling against Pillow's output, orientation against sharp's, and the
 * documented conventions of crop, cover, contain and channel conversion.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { InvalidArgument, ItemInvalid } from '../errors/index.js';
import { preprocessImage } from './preprocess-image.js';
import { resample, type ResizeKernel } from './resample.js';
import { convertChannels, cropImage, planImageSteps, resizeImage } from './steps.js';
import type { ChannelCount, ImagePixels } from './types.js';

function pattern(width: number, height: number, channels: ChannelCount): ImagePixels {
  const pixels = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < channels; k++) pixels[(y * width + x) * channels + k] = (x * 37 + y * 91 + k * 53 + x * y * 11) % 256;
    }
  }
  return { width, height, channels, pixels };
}

const hex = (a: Uint8Array) => Buffer.from(a).toString('hex');

// Image.frombytes(mode, size, pattern).resize((W, H), kernel).tobytes().hex() from Pillow 9.4
// (modes L, RGB, RGBA for 1, 3, 4 channels), recorded once with /usr/bin/python3.
const PILLOW: [string, number, number, ResizeKernel, string][] = [
  ['7x5x1', 3, 2, 'nearest', '8beb4b57e36f'],
  ['7x5x1', 3, 2, 'bilinear', '6c8783757f6a'],
  ['7x5x1', 3, 2, 'bicubic', '6b8687787d67'],
  ['7x5x1', 11, 9, 'nearest', '0000254a4a6f9494b9dede0000254a4a6f9494b9dede5b5b8bbbbbeb1b1b4b7b7b5b5b8bbbbbeb1b1b4b7b7bb6b6f12c2c67a2a2dd18181111579d9de329296fb5b51111579d9de329296fb5b56c6cbd0e0e5fb0b00152526c6cbd0e0e5fb0b0015252'],
  ['7x5x1', 11, 9, 'bilinear', '00112840576f879eb6cdde1e314a657e987c7791aabd516684a2bfdd6b35537186839cb38c8eb07865876b4fb6d1df6241678db2d872185a78977882ac7b709a856f1b3c6682a7d471445f89aa4e719257598b86692e50736c91ad3e2b5f9380112d52'],
  ['7x5x1', 11, 9, 'bicubic', '000520374d658aa9bfd9e91523416180967a7392b4ca4d6083a9d4e7601948728b8eabc48d8fb4725b88623cb2d9e8562f678db9e16d0a5274987584af746aab906f0c2b5e85bade682b5b95ba4773994c4c88926c1e49796da0bd2b0b54aa94001d50'],
  ['5x4x3', 3, 2, 'nearest', '5b90c5bbf0251b508511467b9dd207295e93'],
  ['5x4x3', 3, 2, 'bilinear', '547a9a7e938b7e84a47d83798985697f756b'],
  ['5x4x3', 3, 2, 'bicubic', '4f7a9d82948d7e84a78186768e816a7e7565'],
  ['5x4x3', 11, 9, 'bilinear', '00356a073c71184d82285d92396ea34a7fb45b90c56ca1d67cb1e68dc2f794c9fe0f4479174c81285d92396e9f4b809e5d929c6f90ae818fc0829cd180ade280b5ea386da24075aa5489be679cc37bb0908fc45da39171b75e859163985f77ac4a7fb46095bc699cc57fabdb93bbdba3d283b3e82bc99042e039589d3868464e7823587e89be7393b07dab8f95b778a196908074a95e8c8776a5658f8e71786c8a565f9449b1e629bcc434d7724fdb3467884e7c3469904f7daa6991c57eaa8792c5349acf1376ab43829a4f9f706cac537f83706f588d5e757c7b926c988a7f7b799c5173a8402d626c3966785872987381a37fa0618abf1fa97d3ec83b5d99466c5866783d727c11467b1e53883e73a85d92b07db25c9dd207bd7d27dd29479f31664b5186295e93'],
  ['6x4x4', 3, 2, 'nearest', '8bc0f52aeb20558a4b80b5ea578cc1f6e3184d826fa4d90e'],
  ['6x4x4', 3, 2, 'bilinear', '4c71959d75738475687b877c6c74889b7d6270747259726f'],
  ['6x4x4', 3, 2, 'bicubic', '477299a079738571657f897e7076889f80616c7171556f6e'],
  ['6x4x4', 11, 9, 'bicubic', '0020539300346ba41d5287ca3568a2f14579b6fb4184c17d00070600ffffff09d0ffff2cd8ff2a42daff004d10427aa9134a80ab20588eaf3a71a0ca4f83abdb6182a77bc458931a8288e62971a5c44a90c766619cd2436d4378b6e43b74b2be2b78b66a53a495687bb5788ab87a6477e0245c63613d837829659c944b8b9eaf5c9da0bc6098cdfc6094c9bf83a5e93cc9ff5e2bb6f32558ea733871e31f568b5e3670a51b578bc03d73aadf507fb8ee7dc0aaa897a2998dff497753ae5f6a65588c6f93856b676fe22658486a5c5a60447166876d5c88b37e5394c9b0ff2754da9f3663ff2b5082953978b0306093ce1a659e6abfffff04afff001daab4174bca394474d3105088519933677e785d83a65a87b8805b8cbd3a6c859e51567a5edc28562c73826352628a5b6dba394855ff00354711486c9e33608dbb5c80b6ec6792a7b274ad3e51d9472552de1a5075604c7caa29668dab49638c45ff3a750d013477b3205999d24a8dc6ff5ca8b2b0c0ff0031ff3e004ddf1850915d4481cd1e5f9ac30875af3d00040000'],
];

describe('resample', () => {
  it.each(PILLOW)('%s to %ix%i %s is byte-identical to Pillow', (size, W, H, kernel, expected) => {
    const [w, h, c] = size.split('x').map(Number) as [number, number, ChannelCount];
    expect(hex(resample(pattern(w, h, c), W, H, kernel).pixels)).toBe(expected);
  });

  it('returns a copy, never the caller\'s array, when nothing changes', () => {
    const img = pattern(4, 3, 1);
    const out = resample(img, 4, 3, 'bilinear');
    expect(hex(out.pixels)).toBe(hex(img.pixels));
    expect(out.pixels).not.toBe(img.pixels);
  });
});

describe('channels', () => {
  it('computes luma as Pillow\'s convert("L") does', () => {
    expect(hex(convertChannels(pattern(5, 4, 3), 1).pixels)).toBe('2b50759abf86b6c96346c4695792b03c82ab5b54');
  });

  it('copies grey to colour, drops alpha, and adds an opaque alpha', () => {
    const grey: ImagePixels = { width: 2, height: 1, channels: 1, pixels: Uint8Array.of(10, 200) };
    expect([...convertChannels(grey, 3).pixels]).toEqual([10, 10, 10, 200, 200, 200]);
    expect([...convertChannels(grey, 4).pixels]).toEqual([10, 10, 10, 255, 200, 200, 200, 255]);
    const rgba: ImagePixels = { width: 1, height: 1, channels: 4, pixels: Uint8Array.of(1, 2, 3, 4) };
    expect([...convertChannels(rgba, 3).pixels]).toEqual([1, 2, 3]);
    const ga: ImagePixels = { width: 1, height: 1, channels: 2, pixels: Uint8Array.of(9, 0) };
    expect([...convertChannels(ga, 1).pixels]).toEqual([9]);
    expect([...convertChannels(ga, 4).pixels]).toEqual([9, 9, 9, 0]);
  });
});

describe('crop and fit', () => {
  it('keeps round(side x fraction) pixels of a central crop, from floor((side - kept) / 2)', () => {
    const img = pattern(9, 6, 1);
    const out = cropImage(img, { center: 0.5 });
    // round(4.5) = 5 wide from x = 2; 3 high from y = 1
    expect([out.width, out.height]).toEqual([5, 3]);
    expect(out.pixels[0]).toBe(img.pixels[1 * 9 + 2]);
    expect(out.pixels[14]).toBe(img.pixels[3 * 9 + 6]);
  });

  it('refuses a fixed crop that does not fit the image', () => {
    try {
      cropImage(pattern(10, 10, 1), { left: 5, top: 0, width: 6, height: 4 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ItemInvalid);
      expect((e as ItemInvalid).data['reason']).toBe('crop-outside-image');
    }
  });

  it('cover maps the centred region of the output aspect ratio (nearest: same as cropping it)', () => {
    const img = pattern(40, 20, 3);
    const covered = resizeImage(img, { width: 10, height: 10, fit: 'cover', kernel: 'nearest', background: 0 });
    const cropped = resizeImage(cropImage(img, { left: 10, top: 0, width: 20, height: 20 }), { width: 10, height: 10, fit: 'fill', kernel: 'nearest', background: 0 });
    expect(hex(covered.pixels)).toBe(hex(cropped.pixels));
  });

  it('contain scales to fit and pads centred with the background (alpha opaque)', () => {
    const img = pattern(40, 20, 4);
    const out = resizeImage(img, { width: 10, height: 10, fit: 'contain', kernel: 'bilinear', background: 7 });
    expect([out.width, out.height, out.channels]).toEqual([10, 10, 4]);
    const inner = resample(img, 10, 5, 'bilinear');
    // 5 rows of image from row floor((10 - 5) / 2) = 2; rows 0-1 and 7-9 padding
    expect(hex(out.pixels.subarray(2 * 40, 7 * 40))).toBe(hex(inner.pixels));
    expect([...out.pixels.subarray(0, 4)]).toEqual([7, 7, 7, 255]);
    expect([...out.pixels.subarray(9 * 40 + 36)]).toEqual([7, 7, 7, 255]);
  });
});

describe('orientation', () => {
  it('matches sharp\'s autoOrient for all eight EXIF orientations', async () => {
    const raw = pattern(7, 4, 3).pixels;
    for (let orientation = 1; orientation <= 8; orientation++) {
      // Lossless WebP keeps the pixels exact, so only the orientation can differ.
      const bytes = await sharp(Buffer.from(raw), { raw: { width: 7, height: 4, channels: 3 } }).withMetadata({ orientation }).webp({ lossless: true }).toBuffer();
      const expected = await sharp(bytes).autoOrient().raw().toBuffer({ resolveWithObject: true });
      const ours = await preprocessImage(bytes, { steps: [], maxPixels: 1e6 });
      expect([ours.width, ours.height], `orientation ${orientation}`).toEqual(orientation >= 5 ? [4, 7] : [7, 4]);
      expect([ours.width, ours.height], `orientation ${orientation}`).toEqual([expected.info.width, expected.info.height]);
      if (orientation > 1) expect(hex(ours.pixels)).not.toBe(hex(raw));
      expect(hex(ours.pixels), `orientation ${orientation}`).toBe(hex(expected.data));
      const stored = await preprocessImage(bytes, { steps: [{ autoOrient: false }], maxPixels: 1e6 });
      expect(hex(stored.pixels), `orientation ${orientation}, autoOrient: false`).toBe(hex(raw));
    }
  });

  it('orients first by default, or where an autoOrient step stands', () => {
    expect(planImageSteps([{ channels: 1 }]).ops.map((o) => o.op)).toEqual(['orient', 'channels']);
    expect(planImageSteps([{ channels: 1 }, { autoOrient: true }]).ops.map((o) => o.op)).toEqual(['channels', 'orient']);
    expect(planImageSteps([{ autoOrient: false }, { channels: 1 }]).ops.map((o) => o.op)).toEqual(['channels']);
  });
});

describe('planImageSteps', () => {
  it('refuses configurations the schema cannot rule out', () => {
    const bad: unknown[][] = [
      [{ autoOrient: true }, { autoOrient: false }],
      [{ normalize: { mean: 0, std: 0 } }],
      [{ normalize: { mean: 0, std: [1, 0, 1] } }],
      [{ channels: 1, autoOrient: true }],
      [{}],
    ];
    for (const steps of bad) expect(() => planImageSteps(steps as never), JSON.stringify(steps)).toThrow(InvalidArgument);
  });
});
