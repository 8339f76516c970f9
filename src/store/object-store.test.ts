import fs from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../testing/index.js';
import { checkRelativePath, RESERVED_NAMES } from '../core/safe-path.js';
import { sha256Hex } from '../util/hash.js';
import { ObjectStore, STORE_DIR } from './object-store.js';

let root: string;
let store: ObjectStore;

beforeEach(() => {
  root = tempDir();
  store = new ObjectStore(root);
  store.init();
});

describe('ObjectStore', () => {
  it('stores bytes under their sha256, in a shard folder, read-only', () => {
    const oid = store.putBytes('hello');
    expect(oid).toBe(sha256Hex('hello'));
    const file = path.join(root, '.d2', 'objects', oid.slice(0, 2), oid.slice(2));
    expect(fs.readFileSync(file, 'utf8')).toBe('hello');
    expect(fs.statSync(file).mode & 0o222).toBe(0);
    expect(store.read(oid, 5).toString()).toBe('hello');
    expect(fs.readdirSync(store.tmpDir)).toEqual([]);
  });

  it('stores identical content once', () => {
    const batch = store.batch();
    const a = batch.putBytes('same');
    const b = batch.putBytes('same');
    expect(batch.size).toBe(1);
    batch.commit();
    expect(a).toBe(b);
    expect(store.listObjects().oids).toEqual([a]);
    const again = store.batch();
    again.putBytes('same');
    expect(again.size).toBe(0);
  });

  it('makes nothing visible until commit, and abort leaves no trace', () => {
    const batch = store.batch();
    const oid = batch.putBytes('pending');
    expect(store.has(oid)).toBe(false);
    batch.abort();
    expect(store.has(oid)).toBe(false);
    expect(fs.readdirSync(store.tmpDir)).toEqual([]);
  });

  it('commits large batches (filesystem sync path) as well as small ones', () => {
    const batch = store.batch();
    const oids = Array.from({ length: 300 }, (_, i) => batch.putBytes(`item ${i}`));
    batch.commit();
    for (const oid of oids) expect(store.verify(oid)).toBeUndefined();
  });

  it('checks the size on read and the hash on verify', () => {
    const oid = store.putBytes('twelve bytes');
    expect(() => store.read(oid, 11)).toThrow(expect.objectContaining({ code: 'ObjectCorrupt' }));
    expect(() => store.read('0'.repeat(64))).toThrow(expect.objectContaining({ code: 'ObjectNotFound' }));
    const file = store.objectPath(oid);
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(file, 'twelve bytez');
    expect(store.verify(oid)).toMatch(/content hashes to/);
  });

  it('copies working files: editing the file in place never changes the object', () => {
    const small = path.join(root, 'small.bin');
    fs.writeFileSync(small, 'original');
    const big = path.join(root, 'big.bin');
    fs.writeFileSync(big, Buffer.alloc(5 << 20, 1));
    const batch = store.batch();
    const s = batch.putFile(small);
    const b = batch.putFile(big);
    batch.commit();
    fs.writeFileSync(small, 'modified');
    const fd = fs.openSync(big, 'r+');
    fs.writeSync(fd, Buffer.from('xx'), 0, 2, 100);
    fs.closeSync(fd);
    expect(store.read(s.oid).toString()).toBe('original');
    expect(store.verify(s.oid)).toBeUndefined();
    expect(store.verify(b.oid)).toBeUndefined();
    expect(b.size).toBe(5 << 20);
  });

  it('detects a file that changes while it is read, for small and large files', () => {
    for (const size of [100, 5 << 20]) {
      const file = path.join(root, `changing-${size}`);
      fs.writeFileSync(file, Buffer.alloc(size, 7));
      const batch = store.batch();
      let n = 0;
      expect(() => batch.putFile(file, { afterRead: () => fs.appendFileSync(file, `more ${n++}`) }))
        .toThrow(expect.objectContaining({ code: 'FileChanged' }));
      batch.abort();
      expect(fs.readdirSync(store.tmpDir)).toEqual([]);
    }
  });

  it('retries a read disturbed once, then stores a consistent object', () => {
    const file = path.join(root, 'once');
    fs.writeFileSync(file, 'v1');
    const batch = store.batch();
    let first = true;
    const stored = batch.putFile(file, { afterRead: () => { if (first) { first = false; fs.writeFileSync(file, 'v2 longer'); } } });
    batch.commit();
    expect(store.read(stored.oid).toString()).toBe('v2 longer');
  });

  it('refuses a store of another format', () => {
    fs.chmodSync(path.join(root, '.d2', 'format'), 0o644);
    fs.writeFileSync(path.join(root, '.d2', 'format'), '99\n');
    expect(() => new ObjectStore(root).checkFormat()).toThrow(expect.objectContaining({ code: 'StoreFormatUnsupported' }));
  });

  it('lists objects and reports stray files', () => {
    const oid = store.putBytes('x');
    fs.writeFileSync(path.join(root, '.d2', 'objects', 'zz'), '');
    const { oids, strays } = store.listObjects();
    expect(oids).toEqual([oid]);
    expect(strays).toEqual(['objects/zz']);
  });
});

describe('ObjectWriter', () => {
  it('streams an object, names it by its hash, and reads ranges of it', () => {
    const w = store.writer();
    w.write(Buffer.from('hello '));
    w.write(Buffer.from('world'));
    const { oid, size } = w.commit();
    expect(oid).toBe(sha256Hex('hello world'));
    expect(size).toBe(11);
    expect(store.readRange(oid, 6, 5).toString()).toBe('world');
    expect(() => store.readRange(oid, 6, 6)).toThrow(expect.objectContaining({ code: 'ObjectCorrupt' }));
    expect(fs.readdirSync(store.tmpDir)).toEqual([]);
  });

  it('leaves nothing when aborted, and stores identical content once', () => {
    const a = store.writer();
    a.write(Buffer.from('x'));
    a.abort();
    expect(fs.readdirSync(store.tmpDir)).toEqual([]);
    const b = store.writer();
    b.write(Buffer.from('same'));
    const c = store.writer();
    c.write(Buffer.from('same'));
    expect(b.commit().oid).toBe(c.commit().oid);
    expect(fs.readdirSync(store.tmpDir)).toEqual([]);
  });
});

describe('crafted oids (the last line of defence)', () => {
  // A file outside the store that a crafted oid would reach: objects/ + '..' + '/../secret.txt'.
  const crafted = '../../secret.txt';
  const invalid = expect.objectContaining({ code: 'InvalidObjectId' });

  beforeEach(() => {
    fs.writeFileSync(path.join(root, 'secret.txt'), 'not an object');
    // the crafted name does reach it, were it ever joined below objects/
    expect(fs.existsSync(path.join(store.objectsDir, crafted.slice(0, 2), crafted.slice(2)))).toBe(true);
  });

  it.each([
    [crafted],
    ['../../../../../../etc/passwd'],
    ['a'.repeat(63)],
    ['a'.repeat(65)],
    ['A'.repeat(64)],
    [`${'a'.repeat(62)}/x`],
    [`ab/${'c'.repeat(61)}`],
    [''],
    [`${'a'.repeat(63)}\0`],
  ])('refuses %j in every method that names an object file', (oid) => {
    expect(() => store.objectPath(oid)).toThrow(invalid);
    expect(() => store.has(oid)).toThrow(invalid);
    expect(() => store.read(oid)).toThrow(invalid);
    expect(() => store.readText(oid)).toThrow(invalid);
    expect(() => store.readRange(oid, 0, 1)).toThrow(invalid);
    expect(() => store.openObject(oid)).toThrow(invalid);
    expect(() => store.verify(oid)).toThrow(invalid);
  });

  it('names the crafted value printably in the error', () => {
    expect(() => store.has('\u001b[2J../x')).toThrow("'\\u001b[2J../x' is not an object id (64 lower-case hex digits)");
  });

  it('refuses a download named by a crafted oid, and keeps nothing of it', () => {
    const w = store.writer();
    w.write(Buffer.from('not an object'));
    expect(() => w.commit(crafted)).toThrow(invalid);
    expect(fs.readdirSync(store.tmpDir)).toEqual([]);
    expect(fs.readFileSync(path.join(root, 'secret.txt'), 'utf8')).toBe('not an object');
    expect(store.listObjects().oids).toEqual([]);
  });
});

describe('state file names', () => {
  it('names plain files directly in .d2/state', () => {
    expect(store.state.path('build', 'a'.repeat(64))).toBe(path.join(root, '.d2', 'state', `build-${'a'.repeat(64)}`));
  });

  it.each([['../../../x'], ['../x'], ['a/b'], ['..'], [''], ['/etc/passwd'], ['a\\b'], ['a\0'], ['x\n']])('refuses the key %j', (key) => {
    expect(() => store.state.path('build', key)).toThrow(expect.objectContaining({ code: 'UnsafePath' }));
    expect(() => store.state.writePointer('predictions', key, 'a'.repeat(64))).toThrow(expect.objectContaining({ code: 'UnsafePath' }));
  });
});

describe('reserved names', () => {
  it('include the store folder, so no accepted path can reach into a store', () => {
    expect(RESERVED_NAMES).toContain(STORE_DIR);
    expect(checkRelativePath(`data/${STORE_DIR}/objects`)).toBeDefined();
  });
});
