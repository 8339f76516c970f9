/**
 * Atomic replacement of small files (d2.yaml edits, snapshots, labels, caches).
 *
 * Invariant: after a crash at any point, `file` holds either its old content or the new
 * content in full, never a mix or a truncation: the new bytes go to a temporary file in the
 * same folder, are fsynced, renamed over the target, and the folder is fsynced.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function tempNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export function writeFileAtomicSync(file: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = tempNameFor(file);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDirSync(path.dirname(file));
}

/** Make a folder's entries (new names, renames) durable. Some platforms refuse; that is fine. */
export function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows cannot open folders for fsync; the rename is still atomic there.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Below this many files, fsync each; above, flush the whole filesystem once. */
export const FSYNC_EACH_MAX = 64;

/** Durably flush many new files: fsync each when they are few, sync the filesystem when many. */
export function flushFiles(dir: string, files: readonly string[]): void {
  if (files.length > FSYNC_EACH_MAX && syncFilesystem(dir)) return;
  for (const f of files) {
    const fd = fs.openSync(f, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

let syncfsWorks: boolean | undefined = process.platform === 'linux' ? undefined : false;

/**
 * syncfs(2) on the filesystem holding `dir`, through coreutils' `sync -f` (Node has no binding
 * for it). Returns false when unavailable, and the caller falls back to fsync per file.
 */
export function syncFilesystem(dir: string): boolean {
  if (syncfsWorks === false) return false;
  try {
    execFileSync('sync', ['-f', dir], { stdio: 'ignore' });
    syncfsWorks = true;
    return true;
  } catch {
    syncfsWorks = false;
    return false;
  }
}
