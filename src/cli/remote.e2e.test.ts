/**
 * End-to-end: remotes through the real bin/d2 — push, a fresh `git clone` + pull + build that
 * reproduces the dataset and the model, pull --with-models reusing the build, a corrupt object
 * on the remote, fsck --repair from the remote, gc keeping everything referenced. Run against a
 * shared folder and against a real S3 API (s3rver on loopback, the real AWS SDK).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLock } from '../manifest/index.js';
import { execa } from 'execa';
import { closedPort, startFaultProxy } from '../testing/fault-proxy.js';
import { copyFixtureImages, D2_BIN, git, lastJson, runD2, tempDir, TEST_ENV } from '../testing/index.js';
import { startS3Server, type S3TestServer } from '../testing/s3-server.js';

interface Kind {
  name: string;
  /** `d2 remote add` arguments after the name. */
  args: () => string[];
  env: () => Record<string, string>;
  /** Overwrite the remote's copy of an object with other bytes. */
  corrupt: (oid: string, bytes: Buffer) => void;
}

let s3: S3TestServer | undefined;
const folderRoot = tempDir('d2-remote-folder-');
let bucketCount = 0;
let currentBucket = '';

const KINDS: Kind[] = [
  {
    name: 'folder',
    args: () => [path.join(folderRoot, `r${++bucketCount}`)],
    env: () => ({}),
    corrupt: (oid, bytes) => {
      const file = path.join(folderRoot, `r${bucketCount}`, 'objects', oid.slice(0, 2), oid.slice(2));
      fs.chmodSync(file, 0o644);
      fs.writeFileSync(file, bytes);
    },
  },
  {
    name: 's3',
    args: () => {
      currentBucket = `bucket-${++bucketCount}`;
      return [`s3://${currentBucket}/team/proj`, '--endpoint', s3!.endpoint];
    },
    env: () => s3!.env,
    corrupt: (oid, bytes) => s3!.overwrite(currentBucket, `team/proj/objects/${oid.slice(0, 2)}/${oid.slice(2)}`, bytes),
  },
];

beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
});

async function ok(args: string[], cwd: string, env: Record<string, string> = {}): Promise<any> {
  const r = await runD2([...args, '--json'], { cwd, env });
  expect(r.exitCode, `d2 ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
  return lastJson(r.stdout).data;
}

async function origin(kind: Kind): Promise<{ dir: string; env: Record<string, string>; files: string[] }> {
  const dir = tempDir('d2-origin-');
  const env = kind.env();
  await ok(['init'], dir);
  const files = copyFixtureImages(path.join(dir, 'img'), { perClass: 8, classes: 3 });
  await ok(['add', 'img', '--labels', 'dirname'], dir);
  fs.appendFileSync(path.join(dir, 'd2.yaml'), '\nmodel:\n  preset: fast\n  seed: 7\n');
  const remoteArgs = kind.args();
  if (kind.name === 's3') await s3!.createBucket(currentBucket);
  else fs.mkdirSync(remoteArgs[0]!, { recursive: true });
  await ok(['remote', 'add', 'origin', ...remoteArgs], dir);
  await ok(['build'], dir);
  await ok(['commit', '-m', 'first'], dir);
  return { dir, env, files };
}

async function cloneOf(dir: string): Promise<string> {
  const target = path.join(tempDir('d2-clone-'), 'c');
  const r = await git(['clone', '-q', dir, target], path.dirname(target));
  expect(r.exitCode, r.stderr).toBe(0);
  return target;
}

describe.each(KINDS)('remote: $name', { tags: ['slow'] }, (kind) => {
  it('push, then a fresh clone pulls and rebuilds the same dataset and model; --with-models reuses it', async () => {
    const { dir, env, files } = await origin(kind);
    const lock = parseLock(fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8')).lock!;
    expect(lock.model.record).toMatch(/^[0-9a-f]{64}$/);

    const pushed = await ok(['push'], dir, env);
    expect(pushed.uploaded).toBeGreaterThan(24); // 24 images, a listing, model, evaluation, record
    expect(pushed.present).toBe(0);
    const again = await ok(['push'], dir, env);
    expect(again).toMatchObject({ uploaded: 0, present: pushed.needed });

    // A clone knows its remote from the committed d2.remotes.yaml, and has no data yet
    const clone = await cloneOf(dir);
    expect(fs.existsSync(path.join(clone, 'img'))).toBe(false);
    const pulled = await ok(['pull'], clone, env);
    expect(pulled).toMatchObject({ restored: 24, builds: 0 });
    for (const f of files) expect(fs.readFileSync(path.join(clone, 'img', f)).equals(fs.readFileSync(path.join(dir, 'img', f)))).toBe(true);
    const status = await ok(['status'], clone);
    expect(status.clean).toBe(true);
    const built = await ok(['build'], clone);
    expect(built.reused).toBe(false); // trained here …
    expect(built.build.dataset).toBe(lock.dataset); // … on the same dataset
    expect(built.build.model).toBe(lock.model.oid); // … into the same model, bit for bit
    expect((await ok(['fsck'], clone)).ok).toBe(true);

    // A second clone takes the model and the packed preprocessing too: nothing is recomputed
    expect((await ok(['push', '--with-cache'], dir, env)).uploaded).toBeGreaterThanOrEqual(2); // packed record, packs
    const clone2 = await cloneOf(dir);
    const withModels = await ok(['pull', '--with-models', '--with-cache'], clone2, env);
    expect(withModels.builds).toBe(1);
    expect((await ok(['data'], clone2)).preprocess.stats).toMatchObject({ reused: true, computed: 0 });
    const reused = await ok(['build'], clone2);
    expect(reused).toMatchObject({ reused: true, lockWritten: false });
    expect(reused.build.model).toBe(lock.model.oid);
    expect((await git(['fsck', '--strict'], clone2)).exitCode).toBe(0);
  });

  it('a corrupt object on the remote is refused, the rest stored; push --force repairs the remote; fsck --repair fetches good copies', async () => {
    const { dir, env } = await origin(kind);
    await ok(['push'], dir, env);
    const listing = fs.readFileSync(path.join(dir, 'd2.sources', 'img.yaml'), 'utf8').match(/listing: ([0-9a-f]{64})/)![1]!;
    const clone = await cloneOf(dir);
    // the clone needs the listing first: corrupt one item instead
    await ok(['pull', '--no-checkout'], clone, env);
    const items = fs.readdirSync(path.join(clone, '.d2', 'objects')).flatMap((s) => fs.readdirSync(path.join(clone, '.d2', 'objects', s)).map((n) => s + n)).filter((o) => o !== listing);
    const victim = items[0]!;
    fs.rmSync(path.join(clone, '.d2', 'objects', victim.slice(0, 2), victim.slice(2)));
    kind.corrupt(victim, Buffer.from('not the image'));

    const bad = await runD2(['pull', '--json'], { cwd: clone, env });
    expect(bad.exitCode).toBe(1);
    const err = lastJson(bad.stdout).error;
    expect(err.code).toBe('ObjectCorrupt');
    expect(err.message).toContain(victim.slice(0, 12));
    expect(fs.existsSync(path.join(clone, '.d2', 'objects', victim.slice(0, 2), victim.slice(2)))).toBe(false);
    // every other working file was written; the victim's is absent
    expect(fs.readdirSync(path.join(clone, 'img')).flatMap((c) => fs.readdirSync(path.join(clone, 'img', c))).length).toBe(23);

    // fsck names the missing object; --repair cannot fetch a corrupt copy
    const fsckBad = await runD2(['fsck', '--json'], { cwd: clone, env });
    expect(fsckBad.exitCode).toBe(3);
    expect(lastJson(fsckBad.stdout).data.problems).toEqual([expect.objectContaining({ oid: victim, problem: 'missing' })]);
    expect((await runD2(['fsck', '--repair', '--json'], { cwd: clone, env })).exitCode).toBe(3);

    // the origin replaces the remote's copy; then repair works
    await ok(['push', '--force'], dir, env);
    const repaired = await ok(['fsck', '--repair'], clone, env);
    expect(repaired).toMatchObject({ ok: true, repaired: [victim] });
    expect((await ok(['pull'], clone, env)).fetched).toBe(0);
    expect((await ok(['status'], clone)).clean).toBe(true);
  });
});

function storeCount(dir: string): number {
  const objects = path.join(dir, '.d2', 'objects');
  if (!fs.existsSync(objects)) return 0;
  return fs.readdirSync(objects).reduce((n, s) => n + fs.readdirSync(path.join(objects, s)).length, 0);
}

describe('remote faults (S3)', { tags: ['slow'] }, () => {
  it('wrong credentials, a missing bucket, a server that is down: clear errors, nothing written', async () => {
    const { dir, env } = await origin(KINDS[1]!);
    const denied = await runD2(['push', '--json'], { cwd: dir, env: { ...env, AWS_ACCESS_KEY_ID: 'NOT-A-KEY' } });
    expect(denied.exitCode).toBe(1);
    expect(lastJson(denied.stdout).error).toMatchObject({ code: 'RemoteAccessDenied', hint: expect.stringContaining('AWS_ACCESS_KEY_ID') });
    expect(denied.stdout).not.toContain('S3RVER');

    await ok(['remote', 'add', 'nobucket', 's3://no-such-bucket/x', '--endpoint', s3!.endpoint], dir);
    const missing = await runD2(['push', '--remote', 'nobucket', '--json'], { cwd: dir, env });
    expect(missing.exitCode).toBe(1);
    expect(lastJson(missing.stdout).error.code).toBe('RemoteNotFound');

    await ok(['remote', 'add', 'down', 's3://any-bucket', '--endpoint', `http://127.0.0.1:${await closedPort()}`], dir);
    const t = performance.now();
    const down = await runD2(['push', '--remote', 'down', '--json'], { cwd: dir, env });
    expect(down.exitCode).toBe(1);
    expect(lastJson(down.stdout).error.code).toBe('RemoteUnavailable');
    expect(performance.now() - t).toBeLessThan(15_000);
    // nothing reached the real bucket through any of this
    expect(await s3!.list(currentBucket)).toEqual([]);
  });

  it('a pull that stalls is interrupted, keeps what arrived, and the next pull fetches only the rest; dropped connections are retried', async () => {
    // 24 small files and 8 of 200 kB (random bytes: d2 add stores any file)
    const dir = tempDir('d2-origin-');
    await ok(['init'], dir);
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 24; i++) files[`small/${i}.bin`] = crypto.randomBytes(1000);
    for (let i = 0; i < 8; i++) files[`large/${i}.bin`] = crypto.randomBytes(200_000);
    for (const [f, b] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, 'data', f)), { recursive: true });
      fs.writeFileSync(path.join(dir, 'data', f), b);
    }
    await ok(['add', 'data', '--labels', 'dirname'], dir);
    const bucket = `bucket-${++bucketCount}`;
    await s3!.createBucket(bucket);
    await ok(['remote', 'add', 'origin', `s3://${bucket}/p`, '--endpoint', s3!.endpoint], dir);
    await ok(['commit', '-m', 'data'], dir);
    const env = s3!.env;
    const pushed = await ok(['push'], dir, env);
    expect(pushed.uploaded).toBe(33);

    const proxy = await startFaultProxy(s3!.port);
    try {
      const clone = await cloneOf(dir);
      await ok(['remote', 'add', '--force', 'origin', `s3://${bucket}/p`, '--endpoint', proxy.endpoint], clone);
      // every connection goes silent once it has sent 20 kB: the listing and small files arrive, large ones hang
      proxy.stallAfter(20_000, 1000);
      const child = execa(process.execPath, [D2_BIN, 'pull', '--json'], { cwd: clone, env: { ...TEST_ENV, ...env }, reject: false });
      await new Promise((r) => setTimeout(r, 3000));
      child.kill('SIGINT');
      const stopped = await child;
      expect(stopped.exitCode, String(stopped.stdout).slice(-1500) + String(stopped.stderr).slice(-1500)).toBe(130);
      expect(lastJson(String(stopped.stdout)).error.code).toBe('Interrupted');
      const kept = storeCount(clone);
      expect(kept).toBeGreaterThan(1);
      expect(kept).toBeLessThan(33);
      expect(fs.readdirSync(path.join(clone, '.d2', 'tmp'))).toEqual([]);

      // now three connections are reset mid-body (not silence): retried, and the pull completes
      proxy.heal();
      proxy.cutAfter(100_000, 3);
      const stalls = proxy.faults;
      const resumed = await ok(['pull'], clone, env);
      expect(resumed.fetched).toBe(33 - kept);
      expect(proxy.faults).toBe(stalls + 3); // three transfers really were cut, and retried
      expect((await ok(['fsck'], clone)).ok).toBe(true);
      // the data is whole; the one change is the remote pointed at the proxy, which d2 commit would record
      const st = await ok(['status'], clone);
      expect(st.d2Files).toEqual([{ path: 'd2.remotes.yaml', change: 'modified' }]);
      expect(st.sources[0].notAdded).toEqual({ added: [], modified: [], deleted: [], renamed: [] });
      for (const [f, b] of Object.entries(files)) expect(fs.readFileSync(path.join(clone, 'data', f)).equals(b)).toBe(true);
    } finally {
      await proxy.stop();
    }
  });
});

describe('d2 gc', { tags: ['slow'] }, () => {
  it('keeps what every revision and the working tree reference, deletes the rest only with --prune', async () => {
    const dir = tempDir('d2-gc-');
    await ok(['init'], dir);
    copyFixtureImages(path.join(dir, 'img'), { perClass: 6, classes: 3 });
    await ok(['add', 'img', '--labels', 'dirname'], dir);
    fs.appendFileSync(path.join(dir, 'd2.yaml'), '\nmodel:\n  preset: fast\n  seed: 1\n');
    const first = await ok(['build'], dir);
    await ok(['commit', '-m', 'first'], dir);
    // a second commit without one class; then an uncommitted add of a stray file, replaced again
    const gone = fs.readdirSync(path.join(dir, 'img')).sort()[2]!;
    fs.rmSync(path.join(dir, 'img', gone), { recursive: true });
    await ok(['add', 'img'], dir);
    await ok(['commit', '-m', 'drop a class'], dir);
    fs.writeFileSync(path.join(dir, 'img', gone + '.png'), 'temporary bytes');
    await ok(['add', 'img'], dir);
    fs.rmSync(path.join(dir, 'img', gone + '.png'));
    await ok(['add', 'img'], dir);
    // an uncommitted build under other settings: a cache no revision records
    fs.writeFileSync(path.join(dir, 'd2.yaml'), fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8').replace('seed: 1', 'seed: 2'));
    const other = await ok(['build'], dir);
    fs.writeFileSync(path.join(dir, 'd2.yaml'), fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8').replace('seed: 2', 'seed: 1'));
    await runD2(['build'], { cwd: dir });

    const dry = await ok(['gc'], dir);
    expect(dry.dryRun).toBe(true);
    expect(dry.unreferenced).toBeGreaterThanOrEqual(3); // the stray file, its listing, the other build's model…
    expect(dry.deleted).toBe(0);
    const before = dry.objects;
    const pruned = await ok(['gc', '--prune'], dir);
    expect(pruned).toMatchObject({ deleted: dry.unreferenced, objects: before });
    const otherModel = other.build.model as string;
    expect(fs.existsSync(path.join(dir, '.d2', 'objects', otherModel.slice(0, 2), otherModel.slice(2)))).toBe(false);
    expect((await ok(['gc'], dir)).unreferenced).toBe(0);

    // everything still works: both commits resolve, the first commit's model is reused
    expect((await ok(['fsck'], dir)).ok).toBe(true);
    const rebuilt = await ok(['build', '--rev', 'HEAD~1'], dir);
    expect(rebuilt.reused).toBe(true);
    expect(rebuilt.build.model).toBe(first.build.model);
    expect((await ok(['build'], dir)).reused).toBe(true);
  });
});
