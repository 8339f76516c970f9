import { describe, expect, it } from 'vitest';
import { pca, symmetricEigen } from './pca.js';
import { seededRandom as rng } from '../util/seeded-random.js';


describe('symmetricEigen', () => {
  it('diagonalises a symmetric matrix: A v = λ v for every pair', () => {
    const d = 6;
    const r = rng(1);
    const m = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = i; j < d; j++) m[i * d + j] = m[j * d + i] = r() * 2 - 1;
    const { values, vectors } = symmetricEigen(m, d);
    for (let c = 0; c < d; c++) {
      for (let i = 0; i < d; i++) {
        let av = 0;
        for (let j = 0; j < d; j++) av += m[i * d + j]! * vectors[j * d + c]!;
        expect(av).toBeCloseTo(values[c]! * vectors[i * d + c]!, 10);
      }
    }
  });

  it('finds the known eigenvalues of [[2,1],[1,2]]', () => {
    const { values } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    expect([...values].sort()).toEqual([expect.closeTo(1, 12), expect.closeTo(3, 12)]);
  });
});

describe('pca', () => {
  it('finds the direction of the largest spread first, with its share of the variance', () => {
    // Points along (1, 2, 2)/3 with small noise in the other directions.
    const r = rng(7);
    const n = 500;
    const rows = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      const t = (r() - 0.5) * 20;
      rows[i * 3] = t / 3 + (r() - 0.5) * 0.1 + 5;
      rows[i * 3 + 1] = (2 * t) / 3 + (r() - 0.5) * 0.1 - 1;
      rows[i * 3 + 2] = (2 * t) / 3 + (r() - 0.5) * 0.1;
    }
    const p = pca(rows, n, 3, 2);
    const c0 = [...p.components.slice(0, 3)];
    expect(c0[0]).toBeCloseTo(1 / 3, 2);
    expect(c0[1]).toBeCloseTo(2 / 3, 2);
    expect(c0[2]).toBeCloseTo(2 / 3, 2);
    expect(p.explained[0]).toBeGreaterThan(0.99);
    expect(p.explained[0]! + p.explained[1]!).toBeLessThanOrEqual(1 + 1e-12);
    // the coordinates are centred and carry the spread
    const xs = Array.from({ length: n }, (_, i) => p.coords[i * 2]!);
    expect(xs.reduce((a, b) => a + b, 0) / n).toBeCloseTo(0, 4);
    expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThan(15);
  });

  it('matches the projection computed by hand on a small example', () => {
    // Two points symmetric about their mean along x: the first component is ±x, fixed to +x.
    const p = pca(Float32Array.from([1, 0, -1, 0, 3, 0, -3, 0]), 4, 2, 2);
    expect([...p.components.slice(0, 2)]).toEqual([1, 0]);
    expect([...p.coords].filter((_, i) => i % 2 === 0)).toEqual([1, -1, 3, -3]);
    expect(p.explained).toEqual([1, 0]);
  });

  it('is deterministic and does not depend on the sign the solver happens to find', () => {
    const r = rng(3);
    const n = 200;
    const d = 16;
    const rows = Float32Array.from({ length: n * d }, () => r());
    const a = pca(rows, n, d);
    const b = pca(rows, n, d);
    expect(a.coords).toEqual(b.coords);
    // a component's largest-magnitude entry is positive
    for (let c = 0; c < 2; c++) {
      const comp = [...a.components.slice(c * d, (c + 1) * d)];
      const big = comp.reduce((m, x) => (Math.abs(x) > Math.abs(m) ? x : m), 0);
      expect(big).toBeGreaterThan(0);
      expect(Math.hypot(...comp)).toBeCloseTo(1, 10);
    }
  });

  it('gives zeros for rows that do not vary, and refuses a wrong length', () => {
    const p = pca(new Float32Array(12).fill(2), 4, 3);
    expect([...p.coords]).toEqual(new Array(8).fill(0));
    expect(p.explained).toEqual([0, 0]);
    expect(() => pca(new Float32Array(5), 2, 3)).toThrow(/5 values for 2 rows/);
  });
});
