/**
 * Adam over flat Float32Arrays, in JavaScript: the update of every weight from its summed
 * gradient. Kept out of TensorFlow.js on purpose: one fused loop is cheaper than a dozen
 * kernel calls per parameter tensor, and the arithmetic (IEEE double, stored as float32) is the
 * same on every engine and machine.
 *
 * Update (Kingma & Ba, with bias correction), for step t = 1, 2, …:
 *   m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²
 *   w = w - lr · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + ε)
 *
 * Invariants: the state (m, v, t, β1^t, β2^t) is all an update depends on besides w, g and lr;
 * checkpoints store it, so a resumed run continues exactly. β^t is kept as a running product
 * (multiplications only) rather than Math.pow, whose last bit is not specified.
 */

export interface AdamConfig {
  beta1: number;
  beta2: number;
  epsilon: number;
}

export interface AdamState {
  m: Float32Array;
  v: Float32Array;
  /** Steps taken. */
  t: number;
  /** β1^t and β2^t. */
  p1: number;
  p2: number;
}

export function adamState(size: number): AdamState {
  return { m: new Float32Array(size), v: new Float32Array(size), t: 0, p1: 1, p2: 1 };
}

/** Start step t+1: advance the step count and the bias-correction products. */
export function adamAdvance(cfg: AdamConfig, state: AdamState): void {
  state.t += 1;
  state.p1 *= cfg.beta1;
  state.p2 *= cfg.beta2;
}

/** The numbers one step's update uses (after `adamAdvance`); a SIMD kernel takes the same. */
export interface AdamConstants {
  b1: number;
  a1: number;
  b2: number;
  a2: number;
  lr: number;
  c1: number;
  c2: number;
  eps: number;
}

export function adamConstants(cfg: AdamConfig, state: AdamState, lr: number): AdamConstants {
  return { b1: cfg.beta1, a1: 1 - cfg.beta1, b2: cfg.beta2, a2: 1 - cfg.beta2, lr, c1: 1 / (1 - state.p1), c2: 1 / (1 - state.p2), eps: cfg.epsilon };
}

/**
 * The update of the current step (after `adamAdvance`) over w[from, to), all of w by default.
 * With `kernel` (simd-kernels.ts, working on these same arrays), it runs the bulk and this loop
 * the rest: the same operations in the same order, so the same bits.
 */
export function adamUpdate(cfg: AdamConfig, state: AdamState, w: Float32Array, g: Float32Array, lr: number, from = 0, to = w.length, kernel?: (from: number, to: number, k: AdamConstants) => number): void {
  const k = adamConstants(cfg, state, lr);
  const { b1, a1, b2, a2, c1, c2, eps } = k;
  const { m, v } = state;
  if (kernel) from = kernel(from, to, k);
  for (let i = from; i < to; i++) {
    const gi = g[i] as number;
    const mi = b1 * (m[i] as number) + a1 * gi;
    const vi = b2 * (v[i] as number) + a2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] = (w[i] as number) - (lr * mi * c1) / (Math.sqrt(vi * c2) + eps);
  }
}
