/**
 * A tiny synthetic image set for training tests: n 8×8 grey images of 3 classes, a bright bar
 * (a row, a column or the diagonal) on noise, drawn from a seed — learnable in a few epochs, so
 * tests of the trainer (reproducibility, batch norm, augmentation) run in a second.
 */
import { Rng } from '../engine/prng.js';

export function barImages(n: number, seed: number): { x: Float32Array; y: Int32Array; shape: number[] } {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 64);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    y[i] = c;
    const at = 1 + rng.int(6);
    for (let p = 0; p < 64; p++) {
      const r = Math.floor(p / 8);
      const col = p % 8;
      const on = c === 0 ? r === at : c === 1 ? col === at : r === col;
      x[i * 64 + p] = (on ? 0.8 : 0) + 0.2 * rng.next();
    }
  }
  return { x, y, shape: [8, 8, 1] };
}
