/**
 * Principal component analysis of feature vectors (a model's penultimate layer, ≤ a few
 * hundred dimensions): the projection `d2 report` draws as the feature-space map. Pure.
 *
 * Method: centre the rows, form the d × d covariance in float64, and diagonalise it with the
 * cyclic Jacobi method (every eigenpair, to machine precision, in O(d³) per sweep — a few
 * milliseconds for d = 128; the covariance itself, O(n·d²), is the cost for many rows).
 *
 * Invariants:
 * - Deterministic: the same rows give the same coordinates, bit for bit; each component's
 *   sign is fixed (its largest-magnitude entry is positive), so a map does not flip between
 *   runs or machines.
 * - Components are ordered by explained variance, largest first; `explained` are fractions of
 *   the total variance (0 when the rows do not vary).
 */

export interface Pca {
  /** Rows projected: n × k, row-major. */
  coords: Float32Array;
  /** The components: k × d, row-major, each of unit length. */
  components: Float64Array;
  /** Fraction of the total variance along each component. */
  explained: number[];
  /** The mean row subtracted before projecting. */
  mean: Float64Array;
}

/** Eigen-decomposition of a symmetric d × d matrix (row-major, float64): values and vectors (columns of `vectors`). */
export function symmetricEigen(matrix: Float64Array, d: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += a[p * d + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * d + p]!;
        const aqq = a[q * d + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p]!;
          const akq = a[k * d + q]!;
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k]!;
          const aqk = a[q * d + k]!;
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p]!;
          const vkq = v[k * d + q]!;
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = a[i * d + i]!;
  return { values, vectors: v };
}

/**
 * Project `n` rows of `d` values (row-major) onto their first `k` principal components.
 *
 * @example
 * const { coords, explained } = pca(features, n, 128, 2); // coords: n × 2
 */
export function pca(rows: ArrayLike<number>, n: number, d: number, k = 2): Pca {
  if (rows.length !== n * d) throw new Error(`pca: ${rows.length} values for ${n} rows of ${d}`);
  const kk = Math.min(k, d);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += rows[i * d + j]!;
  if (n > 0) for (let j = 0; j < d; j++) mean[j]! /= n;
  // Covariance, upper triangle accumulated row by row, then mirrored.
  const cov = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) centred[j] = rows[i * d + j]! - mean[j]!;
    for (let p = 0; p < d; p++) {
      const x = centred[p]!;
      if (x === 0) continue;
      const base = p * d;
      for (let q = p; q < d; q++) cov[base + q]! += x * centred[q]!;
    }
  }
  const denom = Math.max(1, n - 1);
  for (let p = 0; p < d; p++) {
    for (let q = p; q < d; q++) {
      const c = cov[p * d + q]! / denom;
      cov[p * d + q] = c;
      cov[q * d + p] = c;
    }
  }
  const { values, vectors } = symmetricEigen(cov, d);
  const order = Array.from({ length: d }, (_, i) => i).sort((x, y) => values[y]! - values[x]! || x - y);
  const total = values.reduce((s, x) => s + Math.max(0, x), 0);
  const components = new Float64Array(kk * d);
  const explained: number[] = [];
  for (let c = 0; c < kk; c++) {
    const col = order[c]!;
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(vectors[j * d + col]!) > Math.abs(big)) big = vectors[j * d + col]!;
    const sign = big < 0 ? -1 : 1;
    for (let j = 0; j < d; j++) components[c * d + j] = sign * vectors[j * d + col]!;
    explained.push(total > 0 ? Math.max(0, values[col]!) / total : 0);
  }
  const coords = new Float32Array(n * kk);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < kk; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (rows[i * d + j]! - mean[j]!) * components[c * d + j]!;
      coords[i * kk + c] = s;
    }
  }
  return { coords, components, explained, mean };
}
