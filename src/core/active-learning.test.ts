import { describe, expect, it } from 'vitest';
import { candidatePoolSize, entropyScores, marginScores, planSuggestions, randomScores, type SuggestOptions } from './active-learning.js';

/** A seeded generator for test data (Park–Miller), so the tests need no randomness. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 48271) % 2147483647) / 2147483647;
}

/** n rows of K probabilities drawn from the generator, each row normalised. */
function randomProbs(n: number, k: number, next: () => number): Float32Array {
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < k; c++) sum += out[i * k + c] = next() ** 3;
    for (let c = 0; c < k; c++) out[i * k + c]! /= sum;
  }
  return out;
}

const hexId = (i: number): string => i.toString(16).padStart(64, '0');

describe('uncertainty scores', () => {
  const probs = Float32Array.from([0.7, 0.2, 0.1, 0.5, 0.5, 0, 1, 0, 0, 0.25, 0.25, 0.5]);

  it('margin is 1 − (p1 − p2)', () => {
    const m = marginScores(probs, 3);
    expect(m[0]).toBeCloseTo(0.5, 6);
    expect(m[1]).toBe(1);
    expect(m[2]).toBe(0);
    expect(m[3]).toBeCloseTo(0.75, 6);
  });

  it('entropy is normalised by ln K', () => {
    const e = entropyScores(Float32Array.from([0.25, 0.25, 0.25, 0.25, 1, 0, 0, 0, 0.5, 0.5, 0, 0]), 4);
    expect(e[0]).toBeCloseTo(1, 6);
    expect(e[1]).toBe(0);
    expect(e[2]).toBeCloseTo(0.5, 6); // ln 2 / ln 4
    const three = entropyScores(probs, 3);
    const h = -(0.7 * Math.log(0.7) + 0.2 * Math.log(0.2) + 0.1 * Math.log(0.1)) / Math.log(3);
    expect(three[0]).toBeCloseTo(h, 6);
  });

  it('random scores are uniform draws fixed by seed and id alone', () => {
    const ids = ['a', 'b', 'c'];
    const r = randomScores(ids, 7);
    expect(Array.from(randomScores(ids, 7))).toEqual(Array.from(r));
    expect(Array.from(randomScores(ids, 8))).not.toEqual(Array.from(r));
    expect(randomScores(['z', 'c'], 7)[1]).toBe(r[2]);
    for (const x of r) expect(x >= 0 && x < 1).toBe(true);
  });

  it('refuses rows that do not fit the class count', () => {
    expect(() => marginScores(Float32Array.from([0.5, 0.5, 0]), 2)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });
});

describe('planSuggestions', () => {
  const next = lcg(42);
  const n = 400;
  const k = 5;
  const ids = Array.from({ length: n }, (_, i) => hexId((i * 7919) % 1009));
  const probs = randomProbs(n, k, next);
  const features = Float32Array.from({ length: n * 8 }, () => next());
  const base: SuggestOptions = { ids, probs, numClasses: k, n: 20, strategy: 'margin', seed: 1, sanityPerClass: 2 };

  it('is deterministic', () => {
    for (const strategy of ['margin', 'entropy', 'random'] as const) {
      const a = planSuggestions({ ...base, features, strategy });
      const b = planSuggestions({ ...base, features: features.slice(), probs: probs.slice(), ids: [...ids], strategy });
      expect(b).toEqual(a);
    }
  });

  it('picks the most uncertain items first, without features', () => {
    const picks = planSuggestions({ ...base, sanityPerClass: 0 });
    const margin = marginScores(probs, k);
    const sorted = Array.from(margin).sort((a, b) => b - a);
    expect(picks.map((p) => p.score)).toEqual(sorted.slice(0, 20));
    expect(picks.every((p) => p.reason === 'uncertain')).toBe(true);
    expect(picks[0]!.why).toMatch(/^top two classes close: 'class \d' 0\.\d\d, 'class \d' 0\.\d\d$/);
  });

  it('breaks ties by item id', () => {
    const flat = Float32Array.from({ length: 4 * 2 }, () => 0.5);
    const picks = planSuggestions({ ids: ['d', 'b', 'c', 'a'], probs: flat, numClasses: 2, n: 3, strategy: 'entropy', seed: 0, sanityPerClass: 0 });
    expect(picks.map((p) => p.id)).toEqual(['a', 'b', 'c']);
    const diverse = planSuggestions({ ids: ['d', 'b', 'c', 'a'], probs: flat, numClasses: 2, n: 3, strategy: 'margin', seed: 0, sanityPerClass: 0, features: new Float32Array(4) });
    expect(diverse.map((p) => p.id)).toEqual(['a', 'b', 'c']);
  });

  it('picks one item from each of three clusters of near-duplicates', () => {
    // Given 3 clusters of 10 near-duplicates each, all equally uncertain, with cluster a's ids first
    const centres = [[0, 0], [10, 0], [0, 10]] as const;
    const jitter = lcg(7);
    const clusterIds: string[] = [];
    const feats: number[] = [];
    centres.forEach((c, ci) => {
      for (let j = 0; j < 10; j++) {
        clusterIds.push(`${'abc'[ci]}${j}`);
        feats.push(c[0] + jitter() * 0.01, c[1] + jitter() * 0.01);
      }
    });
    const same = Float32Array.from({ length: 30 * 3 }, (_, i) => [0.4, 0.35, 0.25][i % 3]!);
    const options: SuggestOptions = { ids: clusterIds, probs: same, numClasses: 3, n: 3, strategy: 'margin', seed: 0, sanityPerClass: 0 };
    // When picking by uncertainty alone, then with the features
    const plain = planSuggestions(options);
    const diverse = planSuggestions({ ...options, features: Float32Array.from(feats) });
    // Then uncertainty alone takes three near-duplicates; diversity one per cluster
    expect(plain.map((p) => p.id)).toEqual(['a0', 'a1', 'a2']);
    expect(diverse.map((p) => p.id[0]).sort()).toEqual(['a', 'b', 'c']);
    expect(diverse[0]).toMatchObject({ id: 'a0', reason: 'uncertain' });
    expect(diverse.slice(1).map((p) => p.reason)).toEqual(['uncertain+diverse', 'uncertain+diverse']);
    expect(diverse[1]!.distance).toBeGreaterThan(9);
    expect(diverse[1]!.why).toMatch(/unlike the items picked before it \(nearest at distance \d+\.\d\d\)$/);
  });

  it('prefers the more uncertain of two equally distant candidates', () => {
    const probs2 = Float32Array.from([0.5, 0.5, 0.9, 0.1, 0.6, 0.4]);
    const feats = Float32Array.from([0, 0, 1, 0, -1, 0]);
    const picks = planSuggestions({ ids: ['x', 'a', 'b'], probs: probs2, numClasses: 2, n: 2, strategy: 'margin', seed: 0, sanityPerClass: 0, features: feats });
    expect(picks.map((p) => p.id)).toEqual(['x', 'b']);
  });

  it('keeps random picks stable when items are added', () => {
    const small = planSuggestions({ ...base, ids: ids.slice(0, 200), probs: probs.subarray(0, 200 * k), strategy: 'random', seed: 'abc', sanityPerClass: 0 });
    const grown = planSuggestions({ ...base, strategy: 'random', seed: 'abc', sanityPerClass: 0 });
    const kept = grown.filter((p) => p.index < 200);
    expect(kept.length).toBeGreaterThan(0);
    const smallIds = small.map((p) => p.id);
    // the old items still picked are a prefix of the old ranking, in the same order
    expect(kept.map((p) => p.id)).toEqual(smallIds.slice(0, kept.length));
    for (const p of kept) expect(p.score).toBe(small.find((q) => q.id === p.id)!.score);
    expect(grown.every((p) => p.reason === 'random' && p.why.startsWith('random sample (seed abc)'))).toBe(true);
  });

  it('adds the most confident predictions of each class as checks', () => {
    const p3 = Float32Array.from([
      0.98, 0.01, 0.01, // 0 → class 0, very sure
      0.9, 0.05, 0.05, //  1 → class 0
      0.4, 0.3, 0.3, //    2 → uncertain
      0.05, 0.9, 0.05, //  3 → class 1
      0.34, 0.33, 0.33, // 4 → most uncertain
      0.6, 0.2, 0.2, //    5 → class 0, less sure
    ]);
    const picks = planSuggestions({ ids: ['i0', 'i1', 'i2', 'i3', 'i4', 'i5'], probs: p3, numClasses: 3, n: 2, strategy: 'margin', seed: 0, sanityPerClass: 2, classes: ['cat', 'dog', 'eel'] });
    expect(picks.map((p) => [p.id, p.reason])).toEqual([
      ['i4', 'uncertain'], ['i2', 'uncertain'],
      ['i0', 'confident-check'], ['i1', 'confident-check'], ['i3', 'confident-check'],
    ]);
    expect(picks[2]!.why).toBe("the model is sure it is 'cat' (0.98): check that it is right");
    expect(picks[2]).toMatchObject({ index: 0, predicted: 0 });
    expect(picks[2]!.confidence).toBeCloseTo(0.98, 6);
  });

  it('returns N picks from the candidate pool, plus the checks (sizes only)', () => {
    const big = 3000;
    const g = lcg(3);
    const bigIds = Array.from({ length: big }, (_, i) => hexId(i));
    const bigProbs = randomProbs(big, 10, g);
    const bigFeatures = Float32Array.from({ length: big * 64 }, () => g());
    const picks = planSuggestions({ ids: bigIds, probs: bigProbs, numClasses: 10, features: bigFeatures, n: 100, strategy: 'entropy', seed: 0, sanityPerClass: 2 });
    const main = picks.filter((p) => p.reason !== 'confident-check');
    expect(main).toHaveLength(100);
    expect(picks.filter((p) => p.reason === 'confident-check')).toHaveLength(20);
    expect(new Set(picks.map((p) => p.index)).size).toBe(picks.length);
    // every diverse pick comes from the 500 most uncertain items
    const threshold = Array.from(entropyScores(bigProbs, 10)).sort((a, b) => b - a)[candidatePoolSize(big, 100) - 1]!;
    expect(main.every((p) => p.score >= threshold)).toBe(true);
    expect(candidatePoolSize(50_000, 500)).toBe(2500);
    expect(candidatePoolSize(10_000, 5)).toBe(55);
    expect(candidatePoolSize(30, 3)).toBe(30);
    expect(planSuggestions({ ...base, n: 10_000, sanityPerClass: 0 })).toHaveLength(n);
    expect(planSuggestions({ ...base, n: 0, sanityPerClass: 0 })).toEqual([]);
    expect(planSuggestions({ ...base, ids: [], probs: new Float32Array(0), features: new Float32Array(0) })).toEqual([]);
  });

  it('refuses inconsistent inputs', () => {
    const code = expect.objectContaining({ code: 'InvalidArgument' });
    expect(() => planSuggestions({ ...base, probs: probs.subarray(1) })).toThrow(code);
    expect(() => planSuggestions({ ...base, features: features.subarray(1) })).toThrow(code);
    expect(() => planSuggestions({ ...base, n: -1 })).toThrow(code);
    const nan = probs.slice();
    nan[7] = NaN;
    expect(() => planSuggestions({ ...base, probs: nan })).toThrow(/probabilities of item '.{64}' are not finite numbers/);
  });
});
