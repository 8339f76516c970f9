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

describe('listing from an untrusted commit or remote', () => {
  const good = oid('a');
  const row = (path: string, o = good, size = '1'): string => `${o} ${size} ${path}`;
  const listing = (...rows: string[]): string => `d2-listing 1\n${rows.join('\n')}\n`;

  it.each([
    ['../../../escape-proof.txt', "line 2: unsafe path '../../../escape-proof.txt': has a '..' segment"],
    ['/etc/passwd', "line 2: unsafe path '/etc/passwd': is absolute"],
    ['C:\\x', "line 2: unsafe path 'C:\\x': contains a backslash"],
    ['C:/x', "line 2: unsafe path 'C:/x': starts with a drive letter ('C:')"],
    ['a/../b', "line 2: unsafe path 'a/../b': has a '..' segment"],
    ['.git/hooks/post-checkout', "line 2: unsafe path '.git/hooks/post-checkout': has a '.git' segment"],
    ['.GIT/hooks/x', "read as '.git'"],
    ['.d2/objects/..', "line 2: unsafe path '.d2/objects/..': has a '.d2' segment"],
    ['a//b', 'has an empty segment'],
    ['./a', "has a '.' segment"],
    ['"a\\u0000b"', "line 2: unsafe path 'a\\u0000b': contains a NUL character"],
    ['a\u001b[2Jb', "line 2: unsafe path 'a\\u001b[2Jb': contains the control character U+001B"],
    ['"../x"', "line 2: unsafe path '../x': has a '..' segment"],
    ['"\\/etc/passwd"', 'is absolute'],
    ['.envrc', "line 2: unsafe path '.envrc': has a hidden segment '.envrc' (d2 never records hidden files)"],
    ['a/.ssh/authorized_keys', "has a hidden segment '.ssh'"],
    ['a/.gitattributes', "has a hidden segment '.gitattributes'"],
  ])('refuses the path %j', (path, message) => {
    expect(() => parseListing(listing(row(path)))).toThrow(message);
  });

  it.each([
    ['../../x'.padEnd(64, 'a'), "line 2: object id '../../xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is not 64 lower-case hex digits"],
    ['A'.repeat(64), 'is not 64 lower-case hex digits'],
    [`${'a'.repeat(63)}/`, 'is not 64 lower-case hex digits'],
  ])('refuses the oid %j', (o, message) => {
    expect(() => parseListing(listing(row('a.png', o)))).toThrow(message);
  });

  it('refuses an oid of 63 or 65 digits (the row no longer has its shape)', () => {
    expect(() => parseListing(listing(`${'a'.repeat(63)} 1 a.png`))).toThrow(/line 2: /);
    expect(() => parseListing(listing(`${'a'.repeat(65)} 1 a.png`))).toThrow(/line 2: /);
  });

  it.each([['-1'], ['1.5'], ['1e3'], ['01'], ['+1'], ['0x10'], ['9007199254740993'], ['']])('refuses the size %j', (size) => {
    expect(() => parseListing(listing(row('a.png', good, size)))).toThrow(/line 2: (size|expected)/);
  });

  it('refuses rows out of order or repeated, naming the line', () => {
    expect(() => parseListing(listing(row('a.png'), row('c.png'), row('b.png')))).toThrow("line 4: path 'b.png' comes after 'c.png'");
    expect(() => parseListing(listing(row('a.png'), row('a.png')))).toThrow("line 3: path 'a.png' is listed twice");
  });

  it('refuses a quoted path that is not a JSON string, and an empty line', () => {
    expect(() => parseListing(listing(row('"a'), row('b')))).toThrow(/line 2: quoted path/);
    expect(() => parseListing(listing(row('a'), '', row('b')))).toThrow(/line 3: empty line/);
  });

  it('names the first bad line of a long listing', () => {
    const rows = Array.from({ length: 50 }, (_, i) => row(`f${String(i).padStart(3, '0')}.png`));
    rows.push(row('f036/../../escape.png'));
    // sorted, it is the 38th row (after f036.png): line 39
    expect(() => parseListing(listing(...rows.sort()))).toThrow(/^line 39: unsafe path 'f036\/..\/..\/escape.png': has a '..' segment$/);
  });

  it('is refused by serializeListing too: d2 never stores a listing it cannot read back', () => {
    const e = (() => {
      try {
        serializeListing([{ path: 'a\\b.png', oid: good, size: 1 }, { path: 'c/../d', oid: good, size: 1 }]);
      } catch (err) {
        return err as { code?: string; message: string; data?: unknown };
      }
      return undefined;
    })();
    expect(e?.code).toBe('UnsafePath');
    expect(e?.message).toBe("cannot record item path 'a\\b.png': contains a backslash (d2 paths use '/') (and 1 more)");
    expect(e?.data).toEqual({ problems: [{ path: 'a\\b.png', problem: "contains a backslash (d2 paths use '/')" }, { path: 'c/../d', problem: "has a '..' segment" }], count: 2 });
    expect(() => serializeListing([{ path: 'a', oid: '../../x', size: 1 }])).toThrow(/malformed oid/);
    expect(() => serializeListing([{ path: 'a', oid: good, size: -1 }])).toThrow(/malformed size/);
  });
});
