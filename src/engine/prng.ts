/**
 * The trainer's own seeded randomness: weight initialisation, shuffling and dropout masks.
 * TensorFlow.js's initialisers ignore their seed (tensorflow/tfjs#7104) and its shuffling and
 * dropout take none, so d2 draws every random number here and hands tensors the results.
 *
 * Generator: sfc32 (a 128-bit-state counter-mixed generator), seeded through splitmix32.
 * Streams are derived, not shared: each purpose (init, the shuffle of epoch e, the dropout of
 * epoch e / step s / shard k) gets its own generator from `deriveSeed`, so the numbers one part
 * draws never depend on how many another part drew, on the number of workers, or on resuming.
 *
 * Invariants:
 * - Pure integer arithmetic (Math.imul, shifts) and exact conversions: the same seed gives the
 *   same numbers on every machine and JavaScript engine.
 * - `state()` / `fromState()` round-trip exactly (checkpoints store it).
 */

export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Mix a seed with labels (epoch, step, purpose…) into a new 32-bit seed. */
export function deriveSeed(seed: number, ...labels: number[]): number {
  let h = splitmix32(seed >>> 0)();
  for (const label of labels) h = splitmix32((h ^ Math.imul(label >>> 0, 0x27d4eb2f)) >>> 0)();
  return h >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const sm = splitmix32(seed);
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    [r.a, r.b, r.c, r.d] = state.map((v) => v >>> 0) as RngState;
    return r;
  }

  state(): RngState {
    return [this.a, this.b, this.c, this.d];
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = (this.b ^ (this.b >>> 9)) >>> 0;
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1), a multiple of 2^-24 (exact in float32). */
  next(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (n <= 1) return 0;
    const limit = Math.floor(4294967296 / n) * n;
    let v = this.nextUint32();
    while (v >= limit) v = this.nextUint32();
    return v % n;
  }

  /** Fill `out` with uniform values in [lo, hi). */
  fillUniform(out: Float32Array, lo: number, hi: number): Float32Array {
    const span = hi - lo;
    for (let i = 0; i < out.length; i++) out[i] = lo + span * this.next();
    return out;
  }
}

/** A permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i] as number;
    p[i] = p[j] as number;
    p[j] = t;
  }
  return p;
}
