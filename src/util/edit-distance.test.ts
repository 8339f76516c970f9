import { describe, expect, it } from 'vitest';
import { editDistance } from './edit-distance.js';

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('sneaker', 'sneaker')).toBe(0);
    expect(editDistance('snaeker', 'sneaker')).toBe(2);
    expect(editDistance('bag', 'bags')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});
