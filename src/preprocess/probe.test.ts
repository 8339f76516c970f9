/**
 * probeImage gives the format, size and channels that preprocessImage returns with no steps,
 * for every format and layout, from the header alone.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { preprocessImage } from './preprocess-image.js';
import { probeImage } from './probe.js';

function raw(width: number, height: number, channels: number): Buffer {
  return Buffer.from(Array.from({ length: width * height * channels }, (_, i) => (i * 41 + ((i / channels) | 0) * 7) & 255));
}

async function samples(): Promise<[string, string, Uint8Array][]> {
  const img = (w: number, h: number, c: 1 | 2 | 3 | 4) => sharp(raw(w, h, c), { raw: { width: w, height: h, channels: c } });
  const out: [string, string, Uint8Array][] = [];
  const add = async (name: string, format: string, p: Promise<Buffer>) => out.push([name, format, new Uint8Array(await p)]);
  await add('PNG grey', 'png', img(9, 5, 1).toColourspace('b-w').png().toBuffer());
  await add('PNG grey + alpha', 'png', img(9, 5, 2).toColourspace('b-w').png().toBuffer());
  await add('PNG RGB', 'png', img(9, 5, 3).png().toBuffer());
  await add('PNG RGBA', 'png', img(9, 5, 4).png().toBuffer());
  await add('PNG palette', 'png', img(9, 5, 3).png({ palette: true, colours: 16 }).toBuffer());
  await add('PNG palette + alpha', 'png', img(9, 5, 4).png({ palette: true, colours: 16 }).toBuffer());
  await add('PNG 16-bit grey', 'png', img(9, 5, 1).toColourspace('grey16').png().toBuffer());
  await add('PNG interlaced', 'png', img(9, 5, 3).png({ progressive: true }).toBuffer());
  await add('PNG with EXIF orientation 6', 'png', img(9, 5, 3).withMetadata({ orientation: 6 }).png().toBuffer());
  await add('JPEG RGB', 'jpeg', img(9, 5, 3).jpeg().toBuffer());
  await add('JPEG grey', 'jpeg', img(9, 5, 1).toColourspace('b-w').jpeg().toBuffer());
  await add('JPEG CMYK', 'jpeg', img(9, 5, 3).toColourspace('cmyk').jpeg().toBuffer());
  await add('JPEG orientation 8', 'jpeg', img(9, 5, 3).withMetadata({ orientation: 8 }).jpeg().toBuffer());
  await add('WebP RGB', 'webp', img(9, 5, 3).webp().toBuffer());
  await add('WebP RGBA', 'webp', img(9, 5, 4).webp({ lossless: true }).toBuffer());
  await add('GIF', 'gif', img(9, 5, 3).gif().toBuffer());
  await add('TIFF', 'tiff', img(9, 5, 3).tiff().toBuffer());
  await add('TIFF grey', 'tiff', img(9, 5, 1).toColourspace('b-w').tiff().toBuffer());
  await add('AVIF', 'heif', img(16, 8, 3).avif().toBuffer());
  out.push(['SVG', 'svg', new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="5"><rect width="9" height="5" fill="#3a6"/></svg>')]);
  return out;
}

describe('probeImage', () => {
  it('agrees with preprocessImage without steps, for every format and layout', async () => {
    for (const [name, format, bytes] of await samples()) {
      const probe = await probeImage(bytes);
      const decoded = await preprocessImage(bytes, { steps: [], maxPixels: 1e6 });
      expect(probe, name).toEqual({ format, width: decoded.width, height: decoded.height, channels: decoded.channels });
    }
  });

  it('reports the size after EXIF orientation and channels from the data', async () => {
    const byName = new Map((await samples()).map(([n, , b]) => [n, b]));
    expect(await probeImage(byName.get('JPEG orientation 8')!)).toMatchObject({ width: 5, height: 9, channels: 3 });
    expect(await probeImage(byName.get('PNG grey')!)).toMatchObject({ width: 9, height: 5, channels: 1 });
    expect(await probeImage(byName.get('PNG palette + alpha')!)).toMatchObject({ channels: 4 });
    expect(await probeImage(byName.get('JPEG CMYK')!)).toMatchObject({ channels: 3 });
  });
});
