/**
 * Image resampling in plain TypeScript: the one implementation of `resize` for every decoder.
 *
 * The method is the separable, antialiased convolution that Pillow uses (and documents) for
 * `Image.resize`: for each output pixel, a kernel centred on its source position, widened by
 * the scale factor when shrinking, weights normalised to sum to one and then rounded to 22-bit
 * fixed point; a horizontal pass into an 8-bit intermediate, then a vertical pass; results
 * rounded and clamped to 0–255. Bilinear is the triangle kernel (support 1), bicubic the cubic
 * with a = -0.5 (support 2), nearest takes the pixel under each output pixel's centre.
 * Images with alpha are resized alpha-weighted (premultiplied, then divided back), so fully
 * transparent pixels do not bleed their hidden colour into their neighbours.
 *
 * Invariants: integer arithmetic on the pixel values (the float weights are computed from the
 * sizes alone), so the output is a pure function of the input pixels, sizes and kernel, the
 * same on every machine and in every thread.
 */
import type { ImagePixels } from './types.js';

export type ResizeKernel = 'nearest' | 'bilinear' | 'bicubic';

/** A region of the source, in pixels (fractional edges allowed), that is mapped onto the output. */
export interface SourceBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);
const ONE = 1 << PRECISION_BITS;

function triangle(x: number): number {
  const ax = x < 0 ? -x : x;
  return ax < 1 ? 1 - ax : 0;
}

function cubic(x: number): number {
  const a = -0.5;
  const ax = x < 0 ? -x : x;
  if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
  if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * a;
  return 0;
}

interface Coefficients {
  /** Per output index: first source index and number of taps. */
  start: Int32Array;
  count: Int32Array;
  /** `ksize` fixed-point weights per output index. */
  weights: Int32Array;
  ksize: number;
}

function coefficients(inSize: number, in0: number, in1: number, outSize: number, kernel: 'bilinear' | 'bicubic'): Coefficients {
  const filter = kernel === 'bilinear' ? triangle : cubic;
  const baseSupport = kernel === 'bilinear' ? 1 : 2;
  const scale = (in1 - in0) / outSize;
  const filterScale = Math.max(scale, 1);
  const support = baseSupport * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const inv = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter((x + xmin - center + 0.5) * inv);
      k[x] = w;
      sum += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = sum !== 0 ? (k[x] as number) / sum : 0;
      k[x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    // Taps whose fixed-point weight is 0 add nothing: drop them from both ends.
    let first = 0;
    let last = xmax - 1;
    while (first <= last && k[first] === 0) first++;
    while (last >= first && k[last] === 0) last--;
    for (let x = first; x <= last; x++) weights[xx * ksize + x - first] = k[x] as number;
    start[xx] = xmin + first;
    count[xx] = Math.max(0, last - first + 1);
  }
  return { start, count, weights, ksize };
}

/**
 * Coefficients depend only on sizes and kernel; datasets repeat the same few, so they are
 * memoised (a small map, emptied when full).
 */
const coefficientCache = new Map<string, Coefficients>();

function cachedCoefficients(inSize: number, in0: number, in1: number, outSize: number, kernel: 'bilinear' | 'bicubic'): Coefficients {
  const key = `${kernel} ${inSize} ${in0} ${in1} ${outSize}`;
  let co = coefficientCache.get(key);
  if (!co) {
    if (coefficientCache.size >= 64) coefficientCache.clear();
    co = coefficients(inSize, in0, in1, outSize, kernel);
    coefficientCache.set(key, co);
  }
  return co;
}

// Sums stay within ±2^31 (weights sum to 2^22, pixels are below 2^8, negative lobes are small),
// so `>> PRECISION_BITS` is an exact floor.

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function horizontal(src: Uint8Array, w: number, h: number, ch: number, outW: number, co: Coefficients): Uint8Array {
  const out = new Uint8Array(outW * h * ch);
  const { start, count, weights, ksize } = co;
  let o = 0;
  if (ch === 1) {
    // Grey images are the common small case; the general loop below gives the same values.
    for (let y = 0; y < h; y++) {
      const row = y * w;
      for (let xx = 0; xx < outW; xx++) {
        const p0 = row + (start[xx] as number);
        const n = count[xx] as number;
        const kb = xx * ksize;
        let ss = HALF;
        for (let t = 0; t < n; t++) ss += (src[p0 + t] as number) * (weights[kb + t] as number);
        out[o++] = clamp8(ss >> PRECISION_BITS);
      }
    }
    return out;
  }
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = start[xx] as number;
      const n = count[xx] as number;
      const kb = xx * ksize;
      for (let c = 0; c < ch; c++) {
        let ss = HALF;
        let p = (row + xmin) * ch + c;
        for (let t = 0; t < n; t++, p += ch) ss += (src[p] as number) * (weights[kb + t] as number);
        out[o++] = clamp8(ss >> PRECISION_BITS);
      }
    }
  }
  return out;
}

function vertical(src: Uint8Array, w: number, ch: number, outH: number, co: Coefficients): Uint8Array {
  const stride = w * ch;
  const out = new Uint8Array(stride * outH);
  const { start, count, weights, ksize } = co;
  let acc: Int32Array | undefined;
  for (let yy = 0; yy < outH; yy++) {
    const n = count[yy] as number;
    const kb = yy * ksize;
    const r0 = (start[yy] as number) * stride;
    const o = yy * stride;
    // Upscaling and mild downscaling use one or two taps: those get a plain loop; wider kernels
    // add whole source rows into an accumulator, so memory is read in order. Same sums either way.
    if (n === 1) {
      const w0 = weights[kb] as number;
      for (let i = 0; i < stride; i++) out[o + i] = clamp8((HALF + (src[r0 + i] as number) * w0) >> PRECISION_BITS);
    } else if (n === 2) {
      const w0 = weights[kb] as number;
      const w1 = weights[kb + 1] as number;
      const r1 = r0 + stride;
      for (let i = 0; i < stride; i++) {
        out[o + i] = clamp8((HALF + (src[r0 + i] as number) * w0 + (src[r1 + i] as number) * w1) >> PRECISION_BITS);
      }
    } else {
      acc ??= new Int32Array(stride);
      acc.fill(HALF);
      for (let t = 0; t < n; t++) {
        const wt = weights[kb + t] as number;
        const row = r0 + t * stride;
        for (let i = 0; i < stride; i++) acc[i] = (acc[i] as number) + (src[row + i] as number) * wt;
      }
      for (let i = 0; i < stride; i++) out[o + i] = clamp8((acc[i] as number) >> PRECISION_BITS);
    }
  }
  return out;
}

function nearestIndices(inSize: number, from: number, to: number, outSize: number): Int32Array {
  // The source coordinate advances by repeated addition, as Pillow does, so exact ties between
  // two source pixels resolve the same way as in Pillow.
  const step = (to - from) / outSize;
  const out = new Int32Array(outSize);
  let pos = from + step * 0.5;
  for (let i = 0; i < outSize; i++, pos += step) out[i] = Math.min(inSize - 1, Math.max(0, Math.trunc(pos)));
  return out;
}

function nearest(img: ImagePixels, outW: number, outH: number, box: SourceBox): Uint8Array {
  const { width: w, height: h, channels: ch, pixels } = img;
  const xs = nearestIndices(w, box.x0, box.x1, outW);
  const ys = nearestIndices(h, box.y0, box.y1, outH);
  const out = new Uint8Array(outW * outH * ch);
  let o = 0;
  for (let y = 0; y < outH; y++) {
    const row = (ys[y] as number) * w;
    for (let x = 0; x < outW; x++) {
      const p = (row + (xs[x] as number)) * ch;
      for (let c = 0; c < ch; c++) out[o++] = pixels[p + c] as number;
    }
  }
  return out;
}

/** Multiply colour by alpha, rounded to nearest (t = c * a + 128; (t + (t >> 8)) >> 8), in a copy. */
function premultiply(pixels: Uint8Array, ch: number): Uint8Array {
  const out = new Uint8Array(pixels);
  const last = ch - 1;
  for (let p = 0; p < out.length; p += ch) {
    const a = out[p + last] as number;
    if (a === 255) continue;
    for (let c = 0; c < last; c++) {
      const t = (out[p + c] as number) * a + 128;
      out[p + c] = ((t >> 8) + t) >> 8;
    }
  }
  return out;
}

/** Divide colour by alpha (truncated, clamped) in place; alpha 0 and 255 leave colour as it is. */
function unpremultiply(pixels: Uint8Array, ch: number): void {
  const last = ch - 1;
  for (let p = 0; p < pixels.length; p += ch) {
    const a = pixels[p + last] as number;
    if (a === 255 || a === 0) continue;
    for (let c = 0; c < last; c++) pixels[p + c] = Math.min(255, Math.floor(((pixels[p + c] as number) * 255) / a));
  }
}

/**
 * Resample the region `box` of `img` (default: all of it) to `outW` x `outH` pixels.
 * The caller guarantees 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height.
 */
export function resample(img: ImagePixels, outW: number, outH: number, kernel: ResizeKernel, box?: SourceBox): ImagePixels {
  const b = box ?? { x0: 0, y0: 0, x1: img.width, y1: img.height };
  const { width: w, height: h, channels: ch } = img;
  if (kernel === 'nearest') {
    return { width: outW, height: outH, channels: ch, pixels: nearest(img, outW, outH, b) };
  }
  const needH = outW !== w || b.x0 !== 0 || b.x1 !== w;
  const needV = outH !== h || b.y0 !== 0 || b.y1 !== h;
  if (!needH && !needV) return { width: w, height: h, channels: ch, pixels: img.pixels.slice() };
  const alpha = ch === 2 || ch === 4;
  let data = alpha ? premultiply(img.pixels, ch) : img.pixels;
  let curW = w;
  let curH = h;
  if (needH) {
    data = horizontal(data, w, h, ch, outW, cachedCoefficients(w, b.x0, b.x1, outW, kernel));
    curW = outW;
  }
  if (needV) {
    data = vertical(data, curW, ch, outH, cachedCoefficients(h, b.y0, b.y1, outH, kernel));
    curH = outH;
  }
  if (alpha) unpremultiply(data, ch);
  return { width: curW, height: curH, channels: ch, pixels: data };
}
