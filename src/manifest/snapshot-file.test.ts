import { describe, expect, it } from 'vitest';
import { parseSnapshot, serializeSnapshot, type Snapshot } from './snapshot-file.js';

const h = (c: string) => c.repeat(64);
const snapshot: Snapshot = { format: 1, source: 'fashion', listing: h('a'), items: 2, bytes: 10, labelled: 1 };
const file = 'd2.sources/fashion.yaml';

describe('source snapshot files', () => {
  it('round-trips, with and without a table', () => {
    expect(parseSnapshot(serializeSnapshot(snapshot), file)).toEqual({ snapshot, problems: [] });
    const table = { ...snapshot, table: h('b'), columns: ['id', 'band'] };
    expect(parseSnapshot(serializeSnapshot(table), file)).toEqual({ snapshot: table, problems: [] });
  });
});

describe('snapshot files from an untrusted commit', () => {
  // line 5 is `listing:` (after two comment lines, format and source), the last line `table:`
  const withListing = (listing: string) => serializeSnapshot(snapshot).replace(h('a'), listing);
  const withTable = (table: string) => `${serializeSnapshot(snapshot)}table: ${table}\n`;

  it.each([
    ['../../x'],
    ['../../../../../../etc/passwd'],
    ['a'.repeat(63)],
    ['a'.repeat(65)],
    ['A'.repeat(64)],
    [`${'a'.repeat(62)}/x`],
    [`"${'a'.repeat(63)}\\0"`],
  ])('refuses the listing oid %j at its line', (oid) => {
    const r = parseSnapshot(withListing(oid), file);
    expect(r.snapshot).toBeUndefined();
    expect(r.problems).toEqual([expect.stringMatching(/^d2\.sources\/fashion\.yaml:5:10: 'listing': expected an object id \(64 lower-case hex digits\)$/)]);
  });

  it.each([['../../x'], ['a'.repeat(63)], ['A'.repeat(64)]])('refuses the table oid %j at its line', (oid) => {
    const r = parseSnapshot(withTable(oid), file);
    expect(r.snapshot).toBeUndefined();
    expect(r.problems).toEqual([expect.stringMatching(/^d2\.sources\/fashion\.yaml:9:8: 'table': expected an object id/)]);
  });

  it('refuses negative or fractional counts', () => {
    const text = serializeSnapshot(snapshot).replace('items: 2', 'items: -1').replace('bytes: 10', 'bytes: 1.5');
    expect(parseSnapshot(text, file).problems).toHaveLength(2);
  });
});
