/**
 * End-to-end: crash safety of push, pull, gc --prune and fsck --repair. Each is killed with
 * SIGKILL at random moments (seeded), at least 10 times; after every kill nothing in the store
 * may be damaged (every object hashes to its name: a name is never given to unflushed bytes),
 * and the rerun must complete; at the end `d2 fsck` is clean.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { D2_BIN, lastJson, runD2, tempDir, TEST_ENV } from '../testing/index.js';
import { seededRandom as random } from '../util/seeded-random.js';

const KILLS = 10;

async function ok(args: string[], cwd: string): Promise<any> {
  const r = await runD2([...args, '--json'], { cwd });
  expect(r.exitCode, `d2 ${args.join(' ')}: ${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`).toBe(0);
  return lastJson(r.stdout).data;
}

/** Every object file under `objects/` whose content does not hash to its name. */
function damaged(objectsDir: string): string[] {
  const bad: string[] = [];
  if (!fs.existsSync(objectsDir)) return bad;
  for (const shard of fs.readdirSync(objectsDir)) {
    for (const name of fs.readdirSync(path.join(objectsDir, shard))) {
      const bytes = fs.readFileSync(path.join(objectsDir, shard, name));
      if (crypto.createHash('sha256').update(bytes).digest('hex') !== shard + name) bad.push(shard + name);
    }
  }
  return bad;
}

/** Run d2 and SIGKILL it after `ms`; true when it was killed before it finished. */
async function killAfter(args: string[], cwd: string, ms: number): Promise<boolean> {
  const child = execa(process.execPath, [D2_BIN, ...args], { cwd, env: TEST_ENV, reject: false });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const r = await child;
  clearTimeout(timer);
  return r.signal === 'SIGKILL';
}

/** A project of 600 distinct small files (bytes only: nothing here decodes them), committed, with a folder remote. */
async function project(): Promise<{ root: string; dir: string; remote: string }> {
  const root = tempDir('d2-crash-');
  const dir = path.join(root, 'p');
  const remote = path.join(root, 'remote');
  fs.mkdirSync(dir);
  fs.mkdirSync(remote);
  await ok(['init'], dir);
  const rnd = random(1);
  for (let c = 0; c < 3; c++) {
    fs.mkdirSync(path.join(dir, 'data', `class${c}`), { recursive: true });
    for (let i = 0; i < 200; i++) {
      const bytes = Buffer.alloc(1024 + Math.floor(rnd() * 3000));
      for (let j = 0; j < bytes.length; j += 4) bytes.writeUInt32LE(Math.floor(rnd() * 2 ** 32), Math.min(j, bytes.length - 4));
      fs.writeFileSync(path.join(dir, 'data', `class${c}`, `f${i}.bin`), bytes);
    }
  }
  await ok(['add', 'data', '--labels', 'dirname'], dir);
  await ok(['remote', 'add', 'origin', remote], dir);
  await ok(['commit', '-m', 'data'], dir);
  return { root, dir, remote };
}

/**
 * Kill `args` mid-run KILLS times (retrying when a kill came after the end), each time after
 * `before()`, at seeded moments spread over how long one whole run takes on this machine
 * (measured first); check the stores and rerun.
 */
async function torture(name: string, cwd: string, args: string[], objectsDirs: string[], before: () => void | Promise<void>): Promise<number> {
  const rnd = random(name.length * 7919);
  await before();
  const started = performance.now();
  await ok(args, cwd);
  const whole = performance.now() - started;
  const [lo, hi] = [0.05 * whole, 0.75 * whole];
  let killed = 0;
  // until KILLS runs were really killed mid-run (a kill that comes after the end does not count)
  for (let i = 0; killed < KILLS && i < 4 * KILLS; i++) {
    await before();
    if (await killAfter(args, cwd, lo + rnd() * (hi - lo))) killed++;
    for (const d of objectsDirs) expect(damaged(d), `${name}: damaged objects after kill ${i + 1}`).toEqual([]);
    await ok(args, cwd);
  }
  return killed;
}

describe('crash safety', { tags: ['slow'], timeout: 600_000 }, () => {
  it('push, pull, gc --prune and fsck --repair survive SIGKILL at random moments', async () => {
    const { root, dir, remote } = await project();
    const remoteObjects = path.join(remote, 'objects');
    const storeObjects = path.join(dir, '.d2', 'objects');

    // push: the remote loses its objects before each run
    const pushKills = await torture('push', dir, ['push'], [remoteObjects, storeObjects], () => fs.rmSync(remoteObjects, { recursive: true, force: true }));
    expect(damaged(remoteObjects)).toEqual([]);

    // pull into a clone: the clone loses its objects and working files before each run
    const clone = path.join(root, 'clone');
    expect((await execa('git', ['clone', '-q', dir, clone], { env: TEST_ENV, reject: false })).exitCode).toBe(0);
    const cloneObjects = path.join(clone, '.d2', 'objects');
    const pullKills = await torture('pull', clone, ['pull'], [cloneObjects], () => {
      fs.rmSync(cloneObjects, { recursive: true, force: true });
      fs.rmSync(path.join(clone, 'data'), { recursive: true, force: true });
    });
    expect((await ok(['status'], clone)).clean).toBe(true);

    // gc --prune: 300 unreferenced objects appear before each run (written as the store writes them)
    let n = 0;
    const gcKills = await torture('gc', dir, ['gc', '--prune'], [storeObjects], () => {
      for (let i = 0; i < 300; i++) {
        const bytes = Buffer.from(`garbage ${n++} ${'x'.repeat(2000)}`);
        const oid = crypto.createHash('sha256').update(bytes).digest('hex');
        const file = path.join(storeObjects, oid.slice(0, 2), oid.slice(2));
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, bytes, { mode: 0o444 });
      }
    });
    expect((await ok(['gc'], dir)).unreferenced).toBe(0);

    // fsck --repair: 40 objects of the clone are damaged before each run; good copies come from the remote
    const files = (): string[] => fs.readdirSync(cloneObjects).flatMap((s) => fs.readdirSync(path.join(cloneObjects, s)).map((f) => path.join(cloneObjects, s, f)));
    const fsckKills = await torture('fsck', clone, ['fsck', '--repair'], [], () => {
      for (const f of files().slice(0, 40)) {
        fs.chmodSync(f, 0o644);
        fs.writeFileSync(f, 'damaged');
      }
    });
    expect(damaged(cloneObjects)).toEqual([]);

    for (const d of [dir, clone]) expect((await ok(['fsck'], d)).ok).toBe(true);
    // the kills really fell inside the runs, not after them
    for (const [what, k] of [['push', pushKills], ['pull', pullKills], ['gc', gcKills], ['fsck', fsckKills]] as const) {
      expect(k, `${what}: killed mid-run ${k} times`).toBe(KILLS);
    }
  });
});
