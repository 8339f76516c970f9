/**
 * The store lock, `.d2/lock`: one writer at a time.
 *
 * Invariants:
 * - The lock file, when it exists, always holds its owner's record (pid, host, command, start
 *   time, token): it is written in full under a temporary name and hard-linked into place, and
 *   link(2) fails if a lock already exists, so creation is atomic.
 * - A second process waits (polling with back-off) up to its timeout and can say who holds
 *   the lock, instead of failing at once.
 * - A lock whose owner is a dead process on this host is stale and is broken; a lock from
 *   another host is never broken automatically (its owner may be alive).
 * - Release deletes the file only if it still holds our token.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StoreLocked, throwIfAborted } from '../errors/index.js';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  started: string;
  token: string;
}

export interface LockOptions {
  /** What the holder is doing, shown to processes that wait ('d2 add'). */
  command: string;
  /** How long to wait for another holder, in milliseconds (default 60 s). */
  timeoutMs?: number;
  /** Called once when the lock is busy and the process starts waiting. */
  onWait?: (holder: LockHolder | undefined) => void;
  signal?: AbortSignal;
}

export interface Lock {
  holder: LockHolder;
  release(): void;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;

export function lockPath(storeDir: string): string {
  return path.join(storeDir, 'lock');
}

export function readLockHolder(file: string): LockHolder | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    return typeof v.pid === 'number' && typeof v.host === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isStale(holder: LockHolder | undefined, file: string): boolean {
  if (!holder) {
    // Unreadable record: only possible from a foreign or damaged file; give it 10 s of grace.
    try {
      return Date.now() - fs.statSync(file).mtimeMs > 10_000;
    } catch {
      return false;
    }
  }
  return holder.host === os.hostname() && holder.pid !== process.pid && !processAlive(holder.pid);
}

function tryCreate(file: string, holder: LockHolder): boolean {
  const tmp = `${file}.${holder.token}`;
  fs.writeFileSync(tmp, `${JSON.stringify(holder)}\n`, { flag: 'wx' });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function breakStale(file: string, stale: LockHolder | undefined): void {
  const aside = `${file}.stale-${randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // someone else broke it first
  }
  const moved = readLockHolder(aside);
  if (stale && moved && moved.token !== stale.token) {
    // A live process re-took the lock between our read and our rename: put it back.
    try {
      fs.linkSync(aside, file);
    } catch {
      // a third process holds it now; nothing to restore
    }
  }
  fs.rmSync(aside, { force: true });
}

export function describeHolder(h: LockHolder | undefined): string {
  if (!h) return 'an unknown process';
  const age = Math.max(0, Math.round((Date.now() - Date.parse(h.started)) / 1000));
  return `pid ${h.pid} on '${h.host}' ('${h.command}', started ${age} s ago)`;
}

export async function acquireLock(storeDir: string, options: LockOptions): Promise<Lock> {
  const file = lockPath(storeDir);
  const holder: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    command: options.command,
    started: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  let waited = false;
  for (;;) {
    throwIfAborted(options.signal);
    if (tryCreate(file, holder)) break;
    const current = readLockHolder(file);
    if (isStale(current, file)) {
      breakStale(file, current);
      continue;
    }
    if (!waited) {
      waited = true;
      options.onWait?.(current);
    }
    if (Date.now() >= deadline) {
      throw new StoreLocked(`store is locked by ${describeHolder(current)}; gave up after ${Math.round(timeoutMs / 1000)} s`, {
        data: { holder: current ?? null, lockFile: file, timeoutMs },
        hint: `wait for it to finish and try again (D2_LOCK_TIMEOUT=<seconds> waits longer); if no such process runs, delete '${path.join(path.basename(storeDir), 'lock')}'`,
      });
    }
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())), options.signal);
    delay = Math.min(delay * 2, 1000);
  }
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    if (readLockHolder(file)?.token === holder.token) fs.rmSync(file, { force: true });
  };
  // Last resort if the process exits without running `finally` blocks (process.exit()).
  process.on('exit', release);
  return { holder, release };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
