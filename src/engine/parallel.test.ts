/**
 * The workers' ranges of the weights: together they cover every weight once, in worker order,
 * each starting at a multiple of 4 (the SIMD kernels' blocks).
 */
import { describe, expect, it } from 'vitest';
import { updateRange } from './parallel.js';

describe('updateRange', () => {
  it.each([[235146, 2], [235146, 3], [7, 2], [1, 2], [0, 2], [10, 4], [100, 1]])('splits %i weights among %i workers', (count, workers) => {
    const ranges = Array.from({ length: workers }, (_, w) => updateRange(count, workers, w));
    expect(ranges[0]![0]).toBe(0);
    expect(ranges.at(-1)![1]).toBe(count);
    ranges.forEach(([from, to], w) => {
      expect(from % 4 === 0 || from === count, `range ${w} starts at ${from}`).toBe(true);
      expect(to).toBeGreaterThanOrEqual(from);
      if (w > 0) expect(from).toBe(ranges[w - 1]![1]);
    });
    // Two workers on a large network: halves, within one block of 4.
    if (workers === 2 && count > 1000) expect(Math.abs(ranges[0]![1] - ranges[0]![0] - (ranges[1]![1] - ranges[1]![0]))).toBeLessThanOrEqual(8);
  });
});
