/**
 * The image steps of `d2.yaml` (`preprocess.image`), applied to decoded uint8 pixels in plain
 * TypeScript: orientation, crop, resize (fill | cover | contain), channel conversion.
 *
 * Invariants:
 * - Every geometric and colour step is implemented here and only here, whatever decoded the
 *   image, so a decoder only has to deliver the same pixels for the output to be the same.
 * - Steps run in the order written. The EXIF orientation is applied at the `autoOrient: true`
 *   step, or first when there is no `autoOrient` step; `autoOrient: false` leaves the stored
 *   orientation. `normalize` steps are not pixel steps: `toFloat` applies them.
 * - Conventions, fixed because cached tensors depend on them: a central crop keeps
 *   round(side × fraction) pixels (at least 1) starting at floor((side - kept) / 2); `cover`
 *   maps the centred region of the output's aspect ratio onto the output; `contain` scales to
 *   round(side × scale) and pads centred (left/top get the smaller half) with `background` on
 *   colour channels and 255 on alpha; luma is Rec. 601 in 16-bit fixed point,
 *   (19595 R + 38470 G + 7471 B + 32768) >> 16, as Pillow's convert('L'); dropping to fewer
 *   channels drops alpha; grey to colour copies the grey value; an added alpha is 255.
 */
import { InvalidArgument } from '../errors/index.js';
import type { ImageStep } from '../manifest/schema.js';
import { itemInvalid } from './item-errors.js';
import { resample, type ResizeKernel } from './resample.js';
import type { ChannelCount, DecodedImage, ImagePixels } from './types.js';

type CropStep = NonNullable<ImageStep['crop']>;
type ResizeStep = NonNullable<ImageStep['resize']>;
export type NormalizeStep = NonNullable<ImageStep['normalize']>;

export type PixelOp =
  | { op: 'orient' }
  | { op: 'crop'; crop: CropStep }
  | { op: 'resize'; resize: ResizeStep }
  | { op: 'channels'; channels: 1 | 3 | 4 };

export interface StepPlan {
  ops: PixelOp[];
  normalize: NormalizeStep[];
}

function stepKeys(step: ImageStep): string[] {
  return Object.entries(step).filter(([, v]) => v !== undefined).map(([k]) => k);
}

/**
 * Check the steps and order them into pixel operations and normalisations. Throws
 * InvalidArgument for configurations the manifest schema cannot rule out on its own.
 */
export function planImageSteps(steps: readonly ImageStep[]): StepPlan {
  const ops: PixelOp[] = [];
  const normalize: NormalizeStep[] = [];
  let orient: boolean | undefined;
  steps.forEach((step, i) => {
    const keys = stepKeys(step);
    if (keys.length !== 1) {
      throw new InvalidArgument(`image step ${i + 1} has ${keys.length === 0 ? 'no key' : `keys ${keys.map((k) => `'${k}'`).join(', ')}`}; each step has exactly one`, { data: { step: i } });
    }
    if (step.autoOrient !== undefined) {
      if (orient !== undefined) throw new InvalidArgument(`image step ${i + 1}: 'autoOrient' is given more than once`, { data: { step: i } });
      orient = step.autoOrient;
      if (orient) ops.push({ op: 'orient' });
    } else if (step.crop !== undefined) {
      ops.push({ op: 'crop', crop: step.crop });
    } else if (step.resize !== undefined) {
      ops.push({ op: 'resize', resize: step.resize });
    } else if (step.channels !== undefined) {
      ops.push({ op: 'channels', channels: step.channels });
    } else if (step.normalize !== undefined) {
      for (const s of ([] as number[]).concat(step.normalize.std)) {
        if (!Number.isFinite(s) || s === 0) throw new InvalidArgument(`image step ${i + 1}: 'normalize.std' must be finite and non-zero`, { data: { step: i } });
      }
      normalize.push(step.normalize);
    } else {
      throw new InvalidArgument(`image step ${i + 1}: unknown key '${keys[0]}'`, { data: { step: i } });
    }
  });
  if (orient === undefined) ops.unshift({ op: 'orient' });
  return { ops, normalize };
}

/** Run the pixel operations of `plan` on a decoded image. */
export function applyPixelOps(decoded: DecodedImage, plan: StepPlan): ImagePixels {
  let img: ImagePixels = { width: decoded.width, height: decoded.height, channels: decoded.channels, pixels: decoded.pixels };
  for (const op of plan.ops) {
    switch (op.op) {
      case 'orient': img = orientImage(img, decoded.orientation); break;
      case 'crop': img = cropImage(img, op.crop); break;
      case 'resize': img = resizeImage(img, op.resize); break;
      case 'channels': img = convertChannels(img, op.channels); break;
    }
  }
  return img;
}

/** Apply an EXIF orientation (1–8; anything else is taken as 1). */
export function orientImage(img: ImagePixels, orientation: number): ImagePixels {
  if (!Number.isInteger(orientation) || orientation < 2 || orientation > 8) return img;
  const { width: w, height: h, channels: ch, pixels } = img;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Uint8Array(pixels.length);
  let o = 0;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let sx: number, sy: number;
      switch (orientation) {
        case 2: sx = w - 1 - x; sy = y; break;
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;
        case 4: sx = x; sy = h - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = h - 1 - x; break;
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;
        default: sx = w - 1 - y; sy = x; break; // 8
      }
      const p = (sy * w + sx) * ch;
      for (let c = 0; c < ch; c++) out[o++] = pixels[p + c] as number;
    }
  }
  return { width: ow, height: oh, channels: ch, pixels: out };
}

export function cropImage(img: ImagePixels, crop: CropStep): ImagePixels {
  const { width: w, height: h, channels: ch, pixels } = img;
  let left: number, top: number, cw: number, chh: number;
  if ('center' in crop) {
    cw = Math.max(1, Math.round(w * crop.center));
    chh = Math.max(1, Math.round(h * crop.center));
    left = Math.floor((w - cw) / 2);
    top = Math.floor((h - chh) / 2);
  } else {
    ({ left, top, width: cw, height: chh } = crop);
    if (left + cw > w || top + chh > h) {
      throw itemInvalid(
        'crop-outside-image',
        `crop rectangle ${cw}x${chh} at (${left}, ${top}) lies outside the ${w}x${h} image`,
        { width: w, height: h, crop },
      );
    }
  }
  if (left === 0 && top === 0 && cw === w && chh === h) return img;
  const out = new Uint8Array(cw * chh * ch);
  for (let y = 0; y < chh; y++) {
    const from = ((top + y) * w + left) * ch;
    out.set(pixels.subarray(from, from + cw * ch), y * cw * ch);
  }
  return { width: cw, height: chh, channels: ch, pixels: out };
}

export function resizeImage(img: ImagePixels, step: ResizeStep): ImagePixels {
  const { width: W, height: H, fit } = step;
  const kernel: ResizeKernel = step.kernel ?? 'bilinear';
  const { width: w, height: h } = img;
  if (fit === 'cover') {
    // The centred region of the source with the output's aspect ratio, mapped onto the output.
    if (w * H > W * h) {
      const bw = (h * W) / H;
      return resample(img, W, H, kernel, { x0: (w - bw) / 2, y0: 0, x1: (w + bw) / 2, y1: h });
    }
    const bh = (w * H) / W;
    return resample(img, W, H, kernel, { x0: 0, y0: (h - bh) / 2, x1: w, y1: (h + bh) / 2 });
  }
  if (fit === 'contain') {
    const scale = Math.min(W / w, H / h);
    const rw = Math.min(W, Math.max(1, Math.round(w * scale)));
    const rh = Math.min(H, Math.max(1, Math.round(h * scale)));
    const inner = resample(img, rw, rh, kernel);
    if (rw === W && rh === H) return inner;
    return pad(inner, W, H, step.background ?? 0);
  }
  return resample(img, W, H, kernel);
}

function pad(img: ImagePixels, W: number, H: number, background: number): ImagePixels {
  const { width: w, height: h, channels: ch, pixels } = img;
  const out = new Uint8Array(W * H * ch);
  const hasAlpha = ch === 2 || ch === 4;
  for (let p = 0; p < out.length; p += ch) {
    for (let c = 0; c < ch; c++) out[p + c] = hasAlpha && c === ch - 1 ? 255 : background;
  }
  const left = Math.floor((W - w) / 2);
  const top = Math.floor((H - h) / 2);
  for (let y = 0; y < h; y++) out.set(pixels.subarray(y * w * ch, (y + 1) * w * ch), ((top + y) * W + left) * ch);
  return { width: W, height: H, channels: ch, pixels: out };
}

export function convertChannels(img: ImagePixels, to: ChannelCount): ImagePixels {
  const from = img.channels;
  if (from === to) return img;
  const n = img.width * img.height;
  const src = img.pixels;
  const out = new Uint8Array(n * to);
  for (let i = 0; i < n; i++) {
    const p = i * from;
    let r: number, g: number, b: number, a: number;
    if (from <= 2) {
      r = g = b = src[p] as number;
      a = from === 2 ? (src[p + 1] as number) : 255;
    } else {
      r = src[p] as number;
      g = src[p + 1] as number;
      b = src[p + 2] as number;
      a = from === 4 ? (src[p + 3] as number) : 255;
    }
    const o = i * to;
    switch (to) {
      case 1:
        out[o] = from <= 2 ? r : (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
        break;
      case 2:
        out[o] = from <= 2 ? r : (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
        out[o + 1] = a;
        break;
      case 3:
        out[o] = r; out[o + 1] = g; out[o + 2] = b;
        break;
      case 4:
        out[o] = r; out[o + 1] = g; out[o + 2] = b; out[o + 3] = a;
        break;
    }
  }
  return { width: img.width, height: img.height, channels: to, pixels: out };
}
