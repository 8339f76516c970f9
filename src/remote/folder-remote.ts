/**
 * A remote in a shared folder (NFS, SMB, a mounted disk): object `oid` is the file
 * `<folder>/objects/<oid[0:2]>/<oid[2:]>`, as in the local store; `tmp/` holds uploads in
 * progress and `d2-remote` marks the folder as a d2 remote (`format 1`).
 *
 * Invariants:
 * - The folder itself is never created: a missing one is RemoteNotFound (an unmounted share
 *   must not silently fill the mount point). `objects/`, `tmp/` and the marker are created on
 *   the first put.
 * - A file under its final name is always complete: bytes go to `tmp/<random>`, are fsynced,
 *   then renamed (atomic within one filesystem) and the shard folder is fsynced. A failed or
 *   interrupted upload removes its temporary file; one left by a crash is only litter in `tmp/`.
 * - `putBatch` keeps the same guarantee for many objects with one flush: every file is copied
 *   to `tmp/`, the file system is synced once (syncfs; else an fsync per file), and only then
 *   is each renamed to its name and the shard folders synced.
 * - A put replaces the object's file if present (`d2 push --force` repairs a corrupt copy);
 *   readers see the old file or the new one, never a mix.
 * - Objects are created read-only (0444 before umask), like the local store's.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { D2Error, ObjectCorrupt, StoreFormatUnsupported, throwIfAborted } from '../errors/index.js';
import { mapLimit } from '../util/pool.js';
import { FEW_OIDS, groupByShard, objectRelPath, OBJECTS } from './layout.js';
import { receive } from './receive.js';
import { folderAccessDenied, folderNotFound, objectMissing, remoteUnavailable, type RemoteRef } from './remote-errors.js';
import { causeCode, DEFAULT_RETRY_DELAYS_MS, Unretryable, withRetry } from './retry.js';
import { flushFiles, FSYNC_EACH_MAX, fsyncDirSync, syncFilesystem } from '../util/atomic-write.js';
import type { CheckOptions, PutItem, Remote, RemoteConfig, Sink, TransferOptions } from './types.js';

export const MARKER = 'd2-remote';
export const FOLDER_FORMAT = 1;
const TMP = 'tmp';
const FOLDER_CONCURRENCY = 8;
const CHUNK = 1 << 20;

/** File system faults worth another attempt on a network file system. */
const TRANSIENT_FS_CODES = new Set(['EIO', 'ESTALE', 'ETIMEDOUT', 'EAGAIN', 'EBUSY', 'EHOSTDOWN', 'ECONNRESET', 'ENOTCONN', 'ETRUNCATED']);
const ACCESS_FS_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

type Access = 'readable' | 'writable';

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

export class FolderRemote implements Remote, RemoteRef {
  readonly name: string;
  readonly location: string;
  readonly concurrency = FOLDER_CONCURRENCY;
  private readonly objectsDir: string;
  private readonly tmpDir: string;
  private readonly delaysMs: readonly number[];
  private layout: Promise<void> | undefined;

  constructor(config: RemoteConfig, readonly root: string) {
    this.name = config.name;
    this.location = root;
    this.objectsDir = path.join(root, OBJECTS);
    this.tmpDir = path.join(root, TMP);
    this.delaysMs = config.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  }

  private file(oid: string): string {
    return path.join(this.root, ...objectRelPath(oid).split('/'));
  }

  private run<T>(signal: AbortSignal | undefined, access: Access, attempt: () => Promise<T>, oid?: string): Promise<T> {
    return withRetry(attempt, {
      delaysMs: this.delaysMs,
      signal,
      isTransient: (e) => TRANSIENT_FS_CODES.has(causeCode(e)),
      translate: (e, attempts) => this.translate(e, attempts, access, oid),
    });
  }

  private translate(e: unknown, attempts: number, access: Access, oid?: string): unknown {
    const code = errno(e) ?? causeCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      // The folder vanished (an unmounted share) or the object is not there.
      if (!isFolder(this.root)) return folderNotFound(this, this.root, e);
      if (oid !== undefined) return objectMissing(this, oid, e);
      return e;
    }
    if (ACCESS_FS_CODES.has(code)) return folderAccessDenied(this, this.root, access, e);
    if (TRANSIENT_FS_CODES.has(code) || code === 'ENOSPC' || code === 'EDQUOT') return remoteUnavailable(this, e, attempts);
    return e;
  }

  /** The folder exists and is a folder; else RemoteNotFound. */
  private async statRoot(): Promise<void> {
    let st: fs.Stats;
    try {
      st = await fsp.stat(this.root);
    } catch (e) {
      if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') throw folderNotFound(this, this.root, e);
      if (ACCESS_FS_CODES.has(errno(e) ?? '')) throw folderAccessDenied(this, this.root, 'readable', e);
      throw this.translate(e, 1, 'readable');
    }
    if (!st.isDirectory()) throw folderNotFound(this, this.root, undefined, 'is not a folder');
  }

  private async checkMarker(): Promise<void> {
    let text: string;
    try {
      text = await fsp.readFile(path.join(this.root, MARKER), 'utf8');
    } catch (e) {
      if (errno(e) === 'ENOENT') return;
      throw this.translate(e, 1, 'readable');
    }
    const found = /^format (\S+)\s*$/.exec(text)?.[1] ?? text.trim();
    if (found !== String(FOLDER_FORMAT)) {
      throw new StoreFormatUnsupported(`remote '${this.name}' at ${this.location} has format '${found}', this d2 uses format ${FOLDER_FORMAT}`, {
        data: { remote: this.name, location: this.location, found, supported: FOLDER_FORMAT },
        hint: 'upgrade d2, or check the URL with \'d2 remote list\'',
      });
    }
  }

  async check(options: CheckOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    await this.statRoot();
    const mode = options.access === 'read' ? fs.constants.R_OK | fs.constants.X_OK : fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK;
    for (const dir of [this.root, this.objectsDir, this.tmpDir]) {
      try {
        await fsp.access(dir, mode);
      } catch (e) {
        if (errno(e) === 'ENOENT' && dir !== this.root) continue;
        const access = options.access === 'read' ? 'readable' : 'writable';
        if (ACCESS_FS_CODES.has(errno(e) ?? '')) throw folderAccessDenied(this, dir, access, e);
        throw this.translate(e, 1, access);
      }
    }
    await this.checkMarker();
  }

  /** Create `objects/`, `tmp/` and the marker once; never the folder itself. */
  private ensureLayout(): Promise<void> {
    this.layout ??= (async () => {
      await this.statRoot();
      await this.checkMarker();
      for (const dir of [this.objectsDir, this.tmpDir]) await mkdirOnce(dir);
      const marker = path.join(this.root, MARKER);
      if (!fs.existsSync(marker)) {
        const tmp = path.join(this.tmpDir, `${MARKER}-${randomBytes(6).toString('hex')}`);
        const h = await fsp.open(tmp, 'wx', 0o444);
        try {
          await h.writeFile(`format ${FOLDER_FORMAT}\n`);
          await h.sync();
        } finally {
          await h.close();
        }
        await fsp.rename(tmp, marker);
        await fsyncDir(this.root);
      }
    })().catch((e: unknown) => {
      this.layout = undefined;
      throw e instanceof D2Error ? e : this.translate(e, 1, 'writable');
    });
    return this.layout;
  }

  async has(oids: readonly string[], options: TransferOptions = {}): Promise<Set<string>> {
    const groups = groupByShard(oids);
    const signal = options.signal;
    throwIfAborted(signal);
    await this.statRoot();
    const found = new Set<string>();
    const wanted = [...groups.values()].flat();
    if (wanted.length <= FEW_OIDS) {
      await mapLimit(wanted, this.concurrency, async (oid) => {
        const present = await this.run(signal, 'readable', async () => {
          try {
            return (await fsp.stat(this.file(oid))).isFile();
          } catch (e) {
            if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return false;
            throw e;
          }
        });
        if (present) found.add(oid);
      });
      return found;
    }
    await mapLimit([...groups.entries()], this.concurrency, async ([shard, list]) => {
      const names = await this.run(signal, 'readable', async () => {
        try {
          return new Set(await fsp.readdir(path.join(this.objectsDir, shard)));
        } catch (e) {
          if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return new Set<string>();
          throw e;
        }
      });
      for (const oid of list) if (names.has(oid.slice(2))) found.add(oid);
    });
    return found;
  }

  async put(oid: string, file: string, size: number, options: TransferOptions = {}): Promise<void> {
    const target = this.file(oid);
    const signal = options.signal;
    throwIfAborted(signal);
    await this.ensureLayout();
    await this.run(signal, 'writable', async () => {
      const tmp = path.join(this.tmpDir, `${oid.slice(0, 12)}-${process.pid}-${randomBytes(6).toString('hex')}`);
      let source: fsp.FileHandle | undefined;
      let out: fsp.FileHandle | undefined;
      try {
        try {
          source = await fsp.open(file, 'r');
        } catch (e) {
          throw new Unretryable(e);
        }
        out = await fsp.open(tmp, 'wx', 0o444);
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
        let copied = 0;
        for (;;) {
          throwIfAborted(signal);
          let n: number;
          try {
            ({ bytesRead: n } = await source.read(buf, 0, buf.length, copied));
          } catch (e) {
            throw new Unretryable(e);
          }
          if (n === 0) break;
          await out.write(buf, 0, n);
          copied += n;
        }
        if (copied !== size) {
          throw new Unretryable(new ObjectCorrupt(`object '${oid}' has ${copied} bytes, expected ${size}`, {
            data: { oid, size: copied, expectedSize: size },
            hint: 'run d2 fsck',
          }));
        }
        await out.sync();
        await out.close();
        out = undefined;
        const shardDir = path.dirname(target);
        await mkdirOnce(shardDir);
        await fsp.rename(tmp, target);
        await fsyncDir(shardDir);
      } catch (e) {
        await out?.close().catch(() => undefined);
        await fsp.rm(tmp, { force: true }).catch(() => undefined);
        throw e;
      } finally {
        await source?.close().catch(() => undefined);
      }
    });
  }

  async putBatch(items: readonly PutItem[], options: TransferOptions = {}): Promise<void> {
    const signal = options.signal;
    throwIfAborted(signal);
    await this.ensureLayout();
    await this.run(signal, 'writable', async () => {
      const staged: { tmp: string; target: string }[] = [];
      const batch = `${process.pid}-${randomBytes(6).toString('hex')}`;
      try {
        for (const it of items) {
          throwIfAborted(signal);
          const tmp = path.join(this.tmpDir, `${it.oid.slice(0, 12)}-${batch}-${staged.length}`);
          staged.push({ tmp, target: this.file(it.oid) });
          let size: number;
          if (it.bytes) {
            fs.writeFileSync(tmp, it.bytes, { flag: 'wx', mode: 0o444 });
            size = it.bytes.length;
          } else {
            fs.copyFileSync(it.file, tmp, fs.constants.COPYFILE_FICLONE);
            size = fs.statSync(tmp).size;
            fs.chmodSync(tmp, 0o444);
          }
          if (size !== it.size) {
            throw new Unretryable(new ObjectCorrupt(`object '${it.oid}' has ${size} bytes, expected ${it.size}`, { data: { oid: it.oid, size, expectedSize: it.size }, hint: 'run d2 fsck' }));
          }
        }
        flushFiles(this.tmpDir, staged.map((s) => s.tmp));
        const shards = new Set<string>();
        for (const s of staged) {
          const dir = path.dirname(s.target);
          if (!shards.has(dir)) {
            fs.mkdirSync(dir, { recursive: true });
            shards.add(dir);
          }
          fs.renameSync(s.tmp, s.target);
        }
        const renamed = staged.length;
        staged.length = 0;
        // The renames made durable: one more filesystem sync when there were many, else each folder.
        if (!(renamed > FSYNC_EACH_MAX && syncFilesystem(this.objectsDir))) for (const dir of shards) fsyncDirSync(dir);
        fsyncDirSync(this.objectsDir);
      } finally {
        for (const s of staged) fs.rmSync(s.tmp, { force: true });
      }
    });
  }

  async get(oid: string, openSink: () => Sink, options: TransferOptions = {}): Promise<Sink> {
    const file = this.file(oid);
    const signal = options.signal;
    return this.run(
      signal,
      'readable',
      async () => {
        const handle = await fsp.open(file, 'r');
        let size: number;
        try {
          size = (await handle.stat()).size;
        } catch (e) {
          await handle.close();
          throw e;
        }
        // The stream owns the handle from here and closes it when it ends or is destroyed.
        const stream = handle.createReadStream({ highWaterMark: CHUNK });
        return receive(stream, size, openSink, signal);
      },
      oid,
    );
  }

  async close(): Promise<void> {}
}

function isFolder(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** mkdir one level (never the parents: a missing parent means the remote folder is gone). */
async function mkdirOnce(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir);
  } catch (e) {
    if (errno(e) !== 'EEXIST') throw e;
  }
}

/** Make a rename durable; some platforms cannot open folders, and there the rename is still atomic. */
async function fsyncDir(dir: string): Promise<void> {
  let h: fsp.FileHandle | undefined;
  try {
    h = await fsp.open(dir, 'r');
    await h.sync();
  } catch {
    // Windows cannot fsync a folder.
  } finally {
    await h?.close().catch(() => undefined);
  }
}
