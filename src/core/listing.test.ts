import { describe, expect, it } from 'vitest';
import { parseListing, serializeListing, sortListing } from './listing.js';

const oid = (c: string) => c.repeat(64);

describe('listing', () => {
  it('round-trips sorted entries, including awkward paths', () => {
    const entries = sortListing([
      { path: 'b/with space.png', oid: oid('b'), size: 10 },
      { path: 'a/1.png', oid: oid('a'), size: 3 },
      { path: 'c/line\nbreak.png', oid: oid('c'), size: 0 },
      { path: '"quoted.png', oid: oid('d'), size: 7 },
      { path: 'tab\there.png', oid: oid('e'), size: 1 },
    ]);
    const text = serializeListing(entries);
    expect(text.startsWith('d2-listing 1\n')).toBe(true);
    expect(text.split('\n').filter(Boolean)).toHaveLength(6);
    expect(parseListing(text)).toEqual(entries);
  });

  it('is byte-identical for equal sets built in different orders', () => {
    const a = [{ path: 'x', oid: oid('1'), size: 1 }, { path: 'y', oid: oid('2'), size: 2 }];
    expect(serializeListing(sortListing([...a]))).toBe(serializeListing(sortListing([a[1]!, a[0]!])));
  });

  it('refuses unsorted or duplicate rows', () => {
    expect(() => serializeListing([{ path: 'b', oid: oid('1'), size: 1 }, { path: 'a', oid: oid('1'), size: 1 }])).toThrow(/not sorted/);
    expect(() => serializeListing([{ path: 'a', oid: oid('1'), size: 1 }, { path: 'a', oid: oid('1'), size: 1 }])).toThrow(/not sorted or not unique/);
  });

  it('rejects text that is not a listing', () => {
    expect(() => parseListing('hello\n')).toThrow(/not a d2 listing/);
    expect(() => parseListing('d2-listing 1\nabc 1 x\n')).toThrow(/line 2/);
  });
});
