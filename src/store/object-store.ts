/**
 * The object store in `.d2/`: immutable blobs named by the SHA-256 of their content, in
 * 256 shard folders (`objects/ab/cdef…`). Layout and guarantees: docs/store-format.md.
 *
 * Invariants (a crash at any instant must not break them):
 * - An object file is complete or absent: bytes are written to `.d2/tmp/`, made durable, and
 *   only then renamed to their final name. A name is never given to unflushed bytes.
 * - Objects are never modified: files are created read-only and never opened for writing
 *   again; content is copied (or reflink-cloned, which is copy-on-write) from working files,
 *   never hard-linked, so editing a working file cannot change a stored object.
 * - Identical content is stored once (a write of an existing oid is skipped).
 * - Reads check the size recorded by the caller; `verify` re-hashes the content.
 * - Only an oid (64 lower-case hex digits, core/safe-path.ts) is ever turned into a file name:
 *   `objectPath`, and so every method that reads, writes, tests or opens an object by oid,
 *   throws InvalidObjectId for anything else. Oids come from committed files and remotes,
 *   which are untrusted (docs/security.md); this is the last line of defence, so that even a
 *   caller that forgot to check cannot address a file outside `objects/`. Likewise the notes
 *   of `state/` (state-files.ts) take only plain keys.
 * Writers serialise on `.d2/lock` (lock.ts); readers need no lock.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { displayPath, isOid } from '../core/safe-path.js';
import { FileChanged, InvalidObjectId, ObjectCorrupt, ObjectNotFound, StoreFormatUnsupported } from '../errors/index.js';
import { flushFiles, FSYNC_EACH_MAX, fsyncDirSync, syncFilesystem, writeFileAtomicSync } from '../util/atomic-write.js';
import { hashFdSync, sha256Hex } from '../util/hash.js';
import { STORE_DIR } from './layout.js';
import { StateFiles } from './state-files.js';

export { STORE_DIR };
export const STORE_FORMAT = 1;
/** Files at most this large are read into memory; larger ones are cloned then hashed. */
const SMALL_FILE = 4 << 20;

export interface StoredFile {
  oid: string;
  size: number;
  /** Stat of the source file as it was read (for the stat cache). */
  stat: fs.Stats;
  /** True when the object was new to the store. */
  written: boolean;
}

export interface PutFileOptions {
  /** Test-only: called after the file's content was read, before the change check. */
  afterRead?: (file: string) => void;
}

export class ObjectStore {
  readonly dir: string;
  readonly objectsDir: string;
  readonly tmpDir: string;

  constructor(projectRoot: string) {
    this.dir = path.join(projectRoot, STORE_DIR);
    this.objectsDir = path.join(this.dir, 'objects');
    this.tmpDir = path.join(this.dir, 'tmp');
  }

  /** Create the store folders (idempotent) and check the format marker. */
  init(): void {
    fs.mkdirSync(this.objectsDir, { recursive: true });
    fs.mkdirSync(this.tmpDir, { recursive: true });
    fs.mkdirSync(path.join(this.dir, 'state'), { recursive: true });
    const marker = path.join(this.dir, 'format');
    if (!fs.existsSync(marker)) writeFileAtomicSync(marker, `${STORE_FORMAT}\n`);
    this.checkFormat();
  }

  exists(): boolean {
    return fs.existsSync(path.join(this.dir, 'format'));
  }

  checkFormat(): void {
    const marker = path.join(this.dir, 'format');
    let text: string;
    try {
      text = fs.readFileSync(marker, 'utf8');
    } catch {
      return;
    }
    const version = Number(text.trim());
    if (version !== STORE_FORMAT) {
      throw new StoreFormatUnsupported(`store '${this.dir}' has format ${text.trim()}, this d2 reads format ${STORE_FORMAT}`, {
        data: { found: text.trim(), supported: STORE_FORMAT },
        hint: 'upgrade d2',
      });
    }
  }

  stateDir(): string {
    return path.join(this.dir, 'state');
  }

  /** The notes in `.d2/state/` (state-files.ts): the one place that names a file there. */
  get state(): StateFiles {
    return new StateFiles(this.stateDir());
  }

  /** An object's size in bytes, or undefined when it is not in the store. */
  size(oid: string): number | undefined {
    try {
      return fs.statSync(this.objectPath(oid)).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Delete an object (gc only, under the store lock): it is gone or it stays whole. */
  remove(oid: string): void {
    fs.rmSync(this.objectPath(oid), { force: true });
  }

  /** Move a damaged object aside to `.d2/quarantine/<oid>` (fsck --repair), so a good copy can take its name. */
  quarantine(oid: string): void {
    const qdir = path.join(this.dir, 'quarantine');
    fs.mkdirSync(qdir, { recursive: true });
    fs.renameSync(this.objectPath(oid), path.join(qdir, oid));
    fsyncDirSync(qdir);
  }

  /**
   * Copy an object's bytes to `target` (a temporary name the caller then renames), cloned
   * where the filesystem can (copy-on-write), so the object file itself is never shared.
   */
  copyOut(oid: string, target: string): void {
    try {
      fs.copyFileSync(this.objectPath(oid), target, fs.constants.COPYFILE_FICLONE);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !this.has(oid)) {
        throw new ObjectNotFound(`object '${oid}' is not in the store`, { data: { oid }, hint: 'run d2 fsck' });
      }
      throw e;
    }
  }

  /** The file of object `oid`; throws InvalidObjectId unless `oid` is 64 lower-case hex digits. */
  objectPath(oid: string): string {
    assertOid(oid);
    return path.join(this.objectsDir, oid.slice(0, 2), oid.slice(2));
  }

  has(oid: string): boolean {
    return fs.existsSync(this.objectPath(oid));
  }

  /** Read a whole object, checking its size against `expectedSize` when given. */
  read(oid: string, expectedSize?: number): Buffer {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(this.objectPath(oid));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new ObjectNotFound(`object '${oid}' is not in the store`, { data: { oid }, hint: 'run d2 fsck; the object may have to be added again' });
      }
      throw e;
    }
    if (expectedSize !== undefined && buf.length !== expectedSize) {
      throw new ObjectCorrupt(`object '${oid}' has ${buf.length} bytes, expected ${expectedSize}`, { data: { oid, size: buf.length, expectedSize }, hint: 'run d2 fsck' });
    }
    return buf;
  }

  readText(oid: string): string {
    return this.read(oid).toString('utf8');
  }

  /** Store bytes as one object, durably, and return its oid. */
  putBytes(data: string | Uint8Array): string {
    const batch = this.batch();
    const oid = batch.putBytes(data);
    batch.commit();
    return oid;
  }

  /** Re-hash an object; returns the problem, or undefined when it is sound. */
  verify(oid: string): string | undefined {
    const file = this.objectPath(oid);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `unreadable: ${(e as Error).message}`;
    }
    try {
      const { oid: actual } = hashFdSync(fd);
      return actual === oid ? undefined : `content hashes to ${actual}`;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Every oid in the store (for fsck and gc); files that are not valid oids are reported apart. */
  listObjects(): { oids: string[]; strays: string[] } {
    const oids: string[] = [];
    const strays: string[] = [];
    let shards: string[];
    try {
      shards = fs.readdirSync(this.objectsDir);
    } catch {
      return { oids, strays };
    }
    for (const shard of shards.sort()) {
      const dir = path.join(this.objectsDir, shard);
      if (!/^[0-9a-f]{2}$/.test(shard) || !fs.statSync(dir).isDirectory()) { strays.push(`objects/${shard}`); continue; }
      for (const name of fs.readdirSync(dir).sort()) {
        if (/^[0-9a-f]{62}$/.test(name)) oids.push(shard + name);
        else strays.push(`objects/${shard}/${name}`);
      }
    }
    return { oids, strays };
  }

  /** Remove temporary files left by a crashed writer. Call only while holding the lock. */
  cleanTmp(): number {
    let n = 0;
    for (const name of safeReaddir(this.tmpDir)) {
      fs.rmSync(path.join(this.tmpDir, name), { force: true });
      n++;
    }
    return n;
  }

  batch(): ObjectBatch {
    return new ObjectBatch(this);
  }

  /** Write one (possibly large) object by streaming its bytes; see ObjectWriter. */
  writer(): ObjectWriter {
    return new ObjectWriter(this, path.join(this.tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}`));
  }

  /** Read `length` bytes of an object from `offset` (for objects too large to read whole). */
  readRange(oid: string, offset: number, length: number): Buffer {
    const fd = this.openObject(oid);
    try {
      const buf = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const n = fs.readSync(fd, buf, done, length - done, offset + done);
        if (n === 0) throw new ObjectCorrupt(`object '${oid}' ends before byte ${offset + length}`, { data: { oid }, hint: 'run d2 fsck' });
        done += n;
      }
      return buf;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Open an object for reading; the caller closes the descriptor. */
  openObject(oid: string): number {
    try {
      return fs.openSync(this.objectPath(oid), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFound(`object '${oid}' is not in the store`, { data: { oid }, hint: 'run d2 fsck' });
      throw e;
    }
  }
}

/**
 * A streamed object: bytes are appended to a temporary file and hashed as they go; `commit`
 * fsyncs the file, names it by its hash and returns the oid. Memory stays bounded whatever the
 * object's size. Until `commit` the object does not exist; `abort` removes the temporary file.
 */
export class ObjectWriter {
  private fd: number;
  private readonly hash = createHash('sha256');
  private size = 0;
  private closed = false;

  constructor(private readonly store: ObjectStore, private readonly tmp: string) {
    this.fd = fs.openSync(tmp, 'wx', 0o444);
  }

  get bytesWritten(): number {
    return this.size;
  }

  write(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) off += fs.writeSync(this.fd, chunk, off, chunk.length - off);
    this.hash.update(chunk);
    this.size += chunk.length;
  }

  /**
   * Make the object durable and name it by its hash. With `expected` (a download), bytes whose
   * hash differs are discarded and ObjectCorrupt is thrown: they never get a name.
   */
  commit(expected?: string): { oid: string; size: number } {
    if (this.closed) throw new Error('object writer already closed');
    if (expected !== undefined && !isOid(expected)) {
      this.abort();
      assertOid(expected);
    }
    this.closed = true;
    const oid = this.hash.digest('hex');
    if (expected !== undefined && oid !== expected) {
      fs.closeSync(this.fd);
      fs.rmSync(this.tmp, { force: true });
      throw new ObjectCorrupt(`received bytes for object '${expected}' hash to ${oid}`, { data: { oid: expected, actual: oid, size: this.size } });
    }
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    if (this.store.has(oid)) {
      fs.rmSync(this.tmp, { force: true });
    } else {
      const dest = this.store.objectPath(oid);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.renameSync(this.tmp, dest);
      fsyncDirSync(path.dirname(dest));
    }
    return { oid, size: this.size };
  }

  abort(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
    fs.rmSync(this.tmp, { force: true });
  }
}

/** Throws InvalidObjectId unless `oid` is an object id (64 lower-case hex digits). */
export function assertOid(oid: unknown): asserts oid is string {
  if (!isOid(oid)) {
    const shown = displayPath(String(oid), 80);
    throw new InvalidObjectId(`'${shown}' is not an object id (64 lower-case hex digits)`, {
      data: { oid: shown },
      hint: 'a committed file or a remote named an object with a malformed id; run d2 fsck',
    });
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function sameStat(a: fs.Stats, b: fs.Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}

/**
 * A set of new objects made durable together: each is written to `.d2/tmp/`, then `commit`
 * flushes them all at once (one filesystem sync instead of one fsync per file: 70,000 small
 * files in well under a second instead of twelve) and renames each to its final name.
 * Until `commit`, none of them is visible; `abort` deletes them.
 */
export class ObjectBatch {
  private pending: { tmp: string; oid: string }[] = [];
  private pendingOids = new Set<string>();

  constructor(private readonly store: ObjectStore) {}

  get size(): number {
    return this.pending.length;
  }

  private tmpName(): string {
    return path.join(this.store.tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}`);
  }

  private known(oid: string): boolean {
    return this.pendingOids.has(oid) || this.store.has(oid);
  }

  private stage(tmp: string, oid: string): void {
    this.pending.push({ tmp, oid });
    this.pendingOids.add(oid);
  }

  /** The content of an object staged in this batch and not yet committed (read from its temporary file). */
  pendingBytes(oid: string): Buffer | undefined {
    const p = this.pending.find((x) => x.oid === oid);
    return p ? fs.readFileSync(p.tmp) : undefined;
  }

  putBytes(data: string | Uint8Array): string {
    const oid = sha256Hex(data);
    if (this.known(oid)) return oid;
    const tmp = this.tmpName();
    fs.writeFileSync(tmp, data, { flag: 'wx', mode: 0o444 });
    this.stage(tmp, oid);
    return oid;
  }

  /**
   * Store a working file. Small files are read into memory and hashed from that very buffer;
   * large ones are cloned (copy-on-write where the filesystem can, else copied) into tmp and the
   * clone is hashed. Either way the stored bytes are the hashed bytes. The file's stat is taken
   * before and after: if it changed meanwhile, the read is retried, then FileChanged is thrown.
   */
  putFile(file: string, options: PutFileOptions = {}): StoredFile {
    for (let attempt = 1; ; attempt++) {
      const result = this.tryPutFile(file, options);
      if (result) return result;
      if (attempt >= 3) {
        throw new FileChanged(`'${file}' changed while it was being added`, {
          data: { path: file, attempts: attempt },
          hint: 'wait until whatever writes the file has finished, then run the command again',
        });
      }
    }
  }

  private tryPutFile(file: string, options: PutFileOptions): StoredFile | undefined {
    const fd = fs.openSync(file, 'r');
    let tmpToRemove: string | undefined;
    try {
      const before = fs.fstatSync(fd);
      if (before.size <= SMALL_FILE) {
        const buf = readAll(fd, before.size);
        options.afterRead?.(file);
        const after = fs.fstatSync(fd);
        const again = fs.statSync(file);
        if (!sameStat(before, after) || !sameStat(before, again) || buf.length !== before.size) return undefined;
        const oid = sha256Hex(buf);
        if (this.known(oid)) return { oid, size: buf.length, stat: after, written: false };
        const tmp = this.tmpName();
        fs.writeFileSync(tmp, buf, { flag: 'wx', mode: 0o444 });
        this.stage(tmp, oid);
        return { oid, size: buf.length, stat: after, written: true };
      }
      const tmp = this.tmpName();
      tmpToRemove = tmp;
      fs.copyFileSync(file, tmp, fs.constants.COPYFILE_FICLONE);
      options.afterRead?.(file);
      const after = fs.statSync(file);
      if (!sameStat(before, after)) return undefined;
      fs.chmodSync(tmp, 0o444);
      const tfd = fs.openSync(tmp, 'r');
      let hashed: { oid: string; size: number };
      try {
        hashed = hashFdSync(tfd);
      } finally {
        fs.closeSync(tfd);
      }
      if (hashed.size !== before.size) return undefined;
      if (this.known(hashed.oid)) return { oid: hashed.oid, size: hashed.size, stat: after, written: false };
      this.stage(tmp, hashed.oid);
      tmpToRemove = undefined;
      return { oid: hashed.oid, size: hashed.size, stat: after, written: true };
    } finally {
      fs.closeSync(fd);
      if (tmpToRemove) fs.rmSync(tmpToRemove, { force: true });
    }
  }

  /** Make every staged object durable, then give each its name. */
  commit(): void {
    if (this.pending.length === 0) return;
    flushFiles(this.store.tmpDir, this.pending.map((p) => p.tmp));
    const shards = new Set<string>();
    for (const { tmp, oid } of this.pending) {
      const dest = this.store.objectPath(oid);
      const shard = path.dirname(dest);
      if (!shards.has(shard)) {
        fs.mkdirSync(shard, { recursive: true });
        shards.add(shard);
      }
      fs.renameSync(tmp, dest);
    }
    if (!(this.pending.length > FSYNC_EACH_MAX && syncFilesystem(this.store.objectsDir))) {
      for (const shard of shards) fsyncDirSync(shard);
    }
    fsyncDirSync(this.store.objectsDir);
    this.pending = [];
    this.pendingOids.clear();
  }

  abort(): void {
    for (const { tmp } of this.pending) fs.rmSync(tmp, { force: true });
    this.pending = [];
    this.pendingOids.clear();
  }
}

function readAll(fd: number, size: number): Buffer {
  // One extra byte detects a file that grew after fstat.
  const buf = Buffer.allocUnsafe(size + 1);
  let pos = 0;
  for (;;) {
    const n = fs.readSync(fd, buf, pos, buf.length - pos, pos);
    if (n === 0) break;
    pos += n;
    if (pos === buf.length) break;
  }
  return buf.subarray(0, pos);
}
