/**
 * Feature-space maps: feature vectors (n × d) flattened to 2-D for `d2 report` — PCA (core/
 * pca.ts, always available, instant) or UMAP (umap-js, when asked: it keeps neighbourhoods,
 * so clusters show better, at the cost of seconds to minutes). Pure computation: UMAP's
 * randomness comes from a seeded generator, so the same vectors and seed give the same map.
 *
 * umap-js is a pure function too (no I/O), which is why core may import it (as it imports
 * picomatch); it is loaded with `import()` only when a UMAP map is asked for.
 */
import { pca } from './pca.js';
import { seededRandom } from '../util/seeded-random.js';

export { seededRandom };

export type MapMethod = 'pca' | 'umap';

export interface Projection {
  method: MapMethod;
  /** n × 2, row-major. */
  coords: Float32Array;
  /** PCA: the fraction of the variance along each axis. */
  explained?: number[];
}


export interface UmapOptions {
  seed: number;
  /** Neighbours per point (default 15, umap-learn's). */
  neighbours?: number;
  /**
   * Awaited every 20 epochs with (epochs done, epochs in all): the caller reports progress,
   * lets its event loop run and may throw to stop.
   */
  onEpoch?: (done: number, total: number) => void | Promise<void>;
}

/**
 * UMAP of `n` rows of `d` values. Rows are first reduced to at most 50 dimensions by PCA (the
 * usual step before UMAP; it also makes the neighbour search faster).
 *
 * @example
 * const map = await umap(features, n, 128, { seed: 1 });
 */
export async function umap(rows: Float32Array, n: number, d: number, options: UmapOptions): Promise<Projection> {
  if (n < 4) return { method: 'umap', coords: new Float32Array(n * 2) };
  const reduced = d > 50 ? pca(rows, n, d, 50) : undefined;
  const dims = reduced ? 50 : d;
  const source = reduced ? reduced.coords : rows;
  const vectors: number[][] = Array.from({ length: n }, (_, i) => Array.from(source.subarray(i * dims, (i + 1) * dims)));
  // umap-js is CommonJS: Node gives its exports as named ones, a bundler as `default`.
  const mod = (await import('umap-js')) as typeof import('umap-js') & { default?: typeof import('umap-js') };
  const UMAP = mod.default?.UMAP ?? mod.UMAP;
  const model = new UMAP({ nComponents: 2, nNeighbors: Math.min(options.neighbours ?? 15, n - 1), minDist: 0.1, random: seededRandom(options.seed) });
  const total = model.initializeFit(vectors);
  for (let e = 0; e < total; e++) {
    model.step();
    if (e % 20 === 0) await options.onEpoch?.(e, total);
  }
  await options.onEpoch?.(total, total);
  const embedding = model.getEmbedding();
  const coords = new Float32Array(n * 2);
  embedding.forEach((p, i) => {
    coords[i * 2] = p[0]!;
    coords[i * 2 + 1] = p[1]!;
  });
  return { method: 'umap', coords };
}

/** The PCA map of `n` rows of `d` values. */
export function pcaMap(rows: Float32Array, n: number, d: number): Projection {
  const p = pca(rows, n, d, 2);
  const coords = p.coords.length === n * 2 ? p.coords : new Float32Array(n * 2);
  return { method: 'pca', coords, explained: p.explained };
}
