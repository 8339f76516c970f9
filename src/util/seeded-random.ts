/**
 * A small seeded stream of numbers in [0, 1) (mulberry32), for randomness that must repeat
 * exactly: the UMAP map's layout, seeded shuffles in tests and benchmarks. Pure integer
 * arithmetic: the same seed gives the same numbers everywhere. (The trainer has its own
 * generators with derived streams: engine/prng.ts.)
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
