import { describe, expect, it } from 'vitest';
import { pcaMap, seededRandom, umap } from './projection.js';

/** Two well-separated clusters of `per` points in 8-D. */
function clusters(per: number): Float32Array {
  const r = seededRandom(5);
  const rows = new Float32Array(per * 2 * 8);
  for (let i = 0; i < per * 2; i++) for (let j = 0; j < 8; j++) rows[i * 8 + j] = (i < per ? 0 : 10) + r();
  return rows;
}

describe('projection', () => {
  it('seededRandom is a fixed stream in [0, 1)', () => {
    const a = seededRandom(1);
    const b = seededRandom(1);
    const xs = Array.from({ length: 100 }, () => a());
    expect(xs).toEqual(Array.from({ length: 100 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(seededRandom(2)()).not.toBe(xs[0]);
  });

  it('PCA separates two clusters along its first axis', () => {
    const p = pcaMap(clusters(30), 60, 8);
    const xs = Array.from({ length: 60 }, (_, i) => p.coords[i * 2]!);
    const left = xs.slice(0, 30);
    const right = xs.slice(30);
    expect(Math.max(...left) < Math.min(...right) || Math.min(...left) > Math.max(...right)).toBe(true);
    expect(p.explained![0]).toBeGreaterThan(0.9);
  });

  it('UMAP is the same map for the same seed, keeps clusters apart, and reports its epochs', async () => {
    const rows = clusters(40);
    const epochs: number[] = [];
    const a = await umap(rows, 80, 8, { seed: 1, onEpoch: (done) => { epochs.push(done); } });
    const b = await umap(rows, 80, 8, { seed: 1 });
    expect(a.coords).toEqual(b.coords);
    expect(epochs.length).toBeGreaterThan(2);
    const centre = (from: number, to: number): [number, number] => {
      let x = 0;
      let y = 0;
      for (let i = from; i < to; i++) { x += a.coords[i * 2]!; y += a.coords[i * 2 + 1]!; }
      return [x / (to - from), y / (to - from)];
    };
    const spread = (from: number, to: number, c: [number, number]): number => {
      let s = 0;
      for (let i = from; i < to; i++) s = Math.max(s, Math.hypot(a.coords[i * 2]! - c[0], a.coords[i * 2 + 1]! - c[1]));
      return s;
    };
    const c0 = centre(0, 40);
    const c1 = centre(40, 80);
    // the clusters' centres are farther apart than either cluster is wide
    expect(Math.hypot(c0[0] - c1[0], c0[1] - c1[1])).toBeGreaterThan(Math.max(spread(0, 40, c0), spread(40, 80, c1)));
    const c = await umap(rows, 80, 8, { seed: 2 });
    expect(c.coords).not.toEqual(a.coords);
  });
});
