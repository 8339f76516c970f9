/**
 * Label-preserving augmentation of training images (plan.augment): each item of a batch part is
 * translated by up to `shift` pixels each way, and mirrored by each declared flip with
 * probability 1/2, as it is copied into the part's input.
 *
 * Invariants:
 * - Training only: evaluation, prediction and export never call this (they read the packed
 *   tensors as they are), so a model predicts the images it is given, unmoved.
 * - Seeded: the draws come from the part's own stream (seed, epoch, step, part), a fixed number
 *   per item, so the same seed gives the same transforms whatever the worker count, and a
 *   resumed run draws what an uninterrupted one drew.
 * - Pixels moved in from outside the image repeat the nearest edge pixel (no value is invented:
 *   the trainer does not know what "background" is after normalisation).
 */
import type { Augmentation } from './plan.js';
import type { Rng } from './prng.js';

/** One item's transform: the source row of output row y is clamp(y - dy) (then mirrored). */
export interface ItemTransform {
  dy: number;
  dx: number;
  flipH: boolean;
  flipV: boolean;
}

/** Draw one item's transform: always three numbers, so later items' draws do not depend on it. */
export function drawTransform(aug: Augmentation, rng: Rng): ItemTransform {
  const span = 2 * aug.shift + 1;
  const dy = rng.int(span) - aug.shift;
  const dx = rng.int(span) - aug.shift;
  const coin = rng.next();
  // One draw decides both mirrors (two independent bits of it), each with probability 1/2.
  const bits = Math.floor(coin * 4);
  return { dy, dx, flipH: aug.flip.includes('horizontal') && (bits & 1) === 1, flipV: aug.flip.includes('vertical') && (bits & 2) === 2 };
}

/**
 * Copy image `src` (NHWC row of h × w × c numbers) into `out` at `offset`, transformed.
 */
export function transformInto(out: Float32Array, offset: number, src: Float32Array, h: number, w: number, c: number, t: ItemTransform): void {
  const clamp = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  for (let y = 0; y < h; y++) {
    let sy = clamp(y - t.dy, h);
    if (t.flipV) sy = h - 1 - sy;
    const rowOut = offset + y * w * c;
    for (let x = 0; x < w; x++) {
      let sx = clamp(x - t.dx, w);
      if (t.flipH) sx = w - 1 - sx;
      const from = (sy * w + sx) * c;
      const to = rowOut + x * c;
      for (let k = 0; k < c; k++) out[to + k] = src[from + k] as number;
    }
  }
}

/** Copy rows `rows[from .. from+n)` of `x` (items of h × w × c) into one transformed batch part. */
export function augmentedPart(x: Float32Array, rows: ArrayLike<number>, from: number, n: number, shape: number[], aug: Augmentation, rng: Rng): Float32Array {
  const [h, w, c] = shape as [number, number, number];
  const size = h * w * c;
  const out = new Float32Array(n * size);
  for (let i = 0; i < n; i++) {
    const row = rows[from + i] as number;
    transformInto(out, i * size, x.subarray(row * size, (row + 1) * size), h, w, c, drawTransform(aug, rng));
  }
  return out;
}
