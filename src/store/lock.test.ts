import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/index.js';
import { acquireLock, lockPath, readLockHolder } from './lock.js';

describe('store lock', () => {
  it('records its holder and releases', async () => {
    const dir = tempDir();
    const lock = await acquireLock(dir, { command: 'd2 test' });
    const holder = readLockHolder(lockPath(dir));
    expect(holder).toMatchObject({ pid: process.pid, host: os.hostname(), command: 'd2 test' });
    lock.release();
    expect(fs.existsSync(lockPath(dir))).toBe(false);
  });

  it('makes a second taker wait, say who holds it, and give up at the timeout', async () => {
    const dir = tempDir();
    const first = await acquireLock(dir, { command: 'd2 add' });
    let waitedFor: unknown;
    const err = await acquireLock(dir, { command: 'd2 commit', timeoutMs: 300, onWait: (h) => { waitedFor = h; } }).catch((e) => e);
    expect(waitedFor).toMatchObject({ pid: process.pid, command: 'd2 add' });
    expect(err.code).toBe('StoreLocked');
    expect(err.message).toMatch(new RegExp(`store is locked by pid ${process.pid} on '.*' \\('d2 add', started \\d+ s ago\\); gave up after 0 s`));
    expect(err.hint).toMatch(/D2_LOCK_TIMEOUT/);
    first.release();
  });

  it('gets the lock as soon as the holder releases it', async () => {
    const dir = tempDir();
    const first = await acquireLock(dir, { command: 'one' });
    setTimeout(() => first.release(), 200);
    const second = await acquireLock(dir, { command: 'two', timeoutMs: 5000 });
    expect(readLockHolder(lockPath(dir))?.command).toBe('two');
    second.release();
  });

  it('breaks the lock of a process that died', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, ['-e', '0']);
    const deadPid: number = await new Promise((resolve) => child.on('exit', () => resolve(child.pid!)));
    fs.writeFileSync(lockPath(dir), JSON.stringify({ pid: deadPid, host: os.hostname(), command: 'crashed', started: new Date().toISOString(), token: 'dead' }));
    const lock = await acquireLock(dir, { command: 'after crash', timeoutMs: 1000 });
    expect(readLockHolder(lockPath(dir))?.command).toBe('after crash');
    lock.release();
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('lock'))).toEqual([]);
  });

  it('never breaks a lock held from another host', async () => {
    const dir = tempDir();
    fs.writeFileSync(lockPath(dir), JSON.stringify({ pid: 1, host: 'elsewhere', command: 'remote', started: new Date().toISOString(), token: 't' }));
    const err = await acquireLock(dir, { command: 'x', timeoutMs: 200 }).catch((e) => e);
    expect(err.code).toBe('StoreLocked');
    expect(fs.existsSync(path.join(dir, 'lock'))).toBe(true);
  });

  it('stops waiting when aborted', async () => {
    const dir = tempDir();
    const first = await acquireLock(dir, { command: 'one' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const err = await acquireLock(dir, { command: 'two', timeoutMs: 10_000, signal: ac.signal }).catch((e) => e);
    expect(err.code).toBe('Interrupted');
    first.release();
  });
});
