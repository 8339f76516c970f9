/**
 * The Remote contract, run once per kind: a shared folder in a temp dir, and S3 through the
 * real AWS SDK against s3rver on loopback. Then each kind's own faults: wrong credentials, a
 * server that is down, connections cut or stalled mid-transfer (through a fault proxy), a
 * folder that is missing or not a d2 remote.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  D2Error, InvalidArgument, Interrupted, RemoteAccessDenied, RemoteNotFound, RemoteObjectMissing, RemoteUnavailable,
  StoreFormatUnsupported,
} from '../errors/index.js';
import { closedPort, startFaultProxy, type FaultProxy } from '../testing/fault-proxy.js';
import { tempDir } from '../testing/index.js';
import { S3RVER_ENV, startS3Server, type S3TestServer } from '../testing/s3-server.js';
import { MARKER, MULTIPART_ABOVE, openRemote, type Remote, type RemoteConfig, type Sink } from './index.js';

const BUCKET = 'd2-remote-test';
const FAST_RETRY = [5, 10, 20];

let s3: S3TestServer;
/** Between the S3 remotes and s3rver: counts requests, cuts or stalls connections on demand. */
let proxy: FaultProxy;
let work: string;
const savedEnv: Record<string, string | undefined> = {};
const opened: Remote[] = [];

beforeAll(async () => {
  for (const k of [...Object.keys(S3RVER_ENV), 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_PROFILE']) savedEnv[k] = process.env[k];
  Object.assign(process.env, S3RVER_ENV);
  delete process.env.AWS_ENDPOINT_URL;
  delete process.env.AWS_ENDPOINT_URL_S3;
  delete process.env.AWS_PROFILE;
  work = tempDir('d2-remote-');
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  proxy = await startFaultProxy(s3.port);
});

afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  fs.rmSync(work, { recursive: true, force: true });
});

afterEach(async () => {
  proxy.heal();
  await Promise.all(opened.splice(0).map((r) => r.close()));
});

function track(r: Remote): Remote {
  opened.push(r);
  return r;
}

let serial = 0;
interface Local {
  oid: string;
  file: string;
  size: number;
  bytes: Buffer;
}

/** A local object file, named by its content's hash as in the store. */
function local(bytes: Buffer): Local {
  const oid = createHash('sha256').update(bytes).digest('hex');
  const file = path.join(work, `obj-${++serial}`);
  fs.writeFileSync(file, bytes);
  return { oid, file, size: bytes.length, bytes };
}

interface RecordingSink extends Sink {
  chunks: Buffer[];
  aborted: boolean;
  bytes(): Buffer;
}

/** An openSink that keeps every sink it opened, for assertions. */
function recorder(): { open: () => Sink; sinks: RecordingSink[] } {
  const sinks: RecordingSink[] = [];
  return {
    sinks,
    open: () => {
      const s: RecordingSink = {
        chunks: [],
        aborted: false,
        write(chunk) {
          if (this.aborted) throw new Error('write after abort');
          this.chunks.push(Buffer.from(chunk));
        },
        abort() {
          this.aborted = true;
        },
        bytes() {
          return Buffer.concat(this.chunks);
        },
      };
      sinks.push(s);
      return s;
    },
  };
}

async function getBytes(remote: Remote, oid: string, signal?: AbortSignal): Promise<Buffer> {
  const rec = recorder();
  const sink = (await remote.get(oid, rec.open, signal ? { signal } : {})) as RecordingSink;
  expect(rec.sinks.at(-1)).toBe(sink);
  expect(sink.aborted).toBe(false);
  return sink.bytes();
}

async function rejection(p: Promise<unknown>): Promise<D2Error> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'expected a rejection').toBeInstanceOf(D2Error);
  return e as D2Error;
}

const fakeOid = (i: number): string => createHash('sha256').update(`absent-${i}`).digest('hex');

interface Kind {
  name: 'folder' | 's3';
  /** A fresh, empty, usable remote. */
  fresh(config?: Partial<RemoteConfig>): Promise<Remote>;
  /** A remote whose bucket or folder does not exist. */
  missing(): Remote;
}

let prefixes = 0;
const KINDS: Kind[] = [
  {
    name: 'folder',
    async fresh(config = {}) {
      const dir = path.join(work, `remote-${++prefixes}`);
      fs.mkdirSync(dir);
      return track(openRemote({ name: 'share', url: dir, retryDelaysMs: FAST_RETRY, ...config }, work));
    },
    missing: () => track(openRemote({ name: 'share', url: path.join(work, 'no-such-folder', 'd2'), retryDelaysMs: FAST_RETRY }, work)),
  },
  {
    name: 's3',
    async fresh(config = {}) {
      return track(openRemote({ name: 'origin', url: `s3://${BUCKET}/team/p${++prefixes}`, endpoint: proxy.endpoint, retryDelaysMs: FAST_RETRY, ...config }, work));
    },
    missing: () => track(openRemote({ name: 'origin', url: 's3://no-such-bucket/x', endpoint: s3.endpoint, retryDelaysMs: FAST_RETRY }, work)),
  },
];

describe.each(KINDS)('remote: $name', (kind) => {
  it('puts, reports and gets objects byte for byte: small, empty, and larger than 16 MiB', async () => {
    const remote = await kind.fresh();
    await remote.check();
    const small = local(Buffer.from('hello, remote\n'));
    const empty = local(Buffer.alloc(0));
    const big = local(randomBytes(MULTIPART_ABOVE + 123_457));
    expect(await remote.has([small.oid, empty.oid, big.oid])).toEqual(new Set());

    for (const o of [small, empty, big]) await remote.put(o.oid, o.file, o.size);

    expect(await remote.has([small.oid, empty.oid, big.oid, fakeOid(1)])).toEqual(new Set([small.oid, empty.oid, big.oid]));
    for (const o of [small, empty, big]) {
      const got = await getBytes(remote, o.oid);
      expect(got.length).toBe(o.size);
      expect(got.equals(o.bytes)).toBe(true);
    }
    if (kind.name === 's3') {
      // Above 16 MiB the object went up in parts; below, in one PutObject.
      const key = (oid: string) => `team/p${prefixes}/objects/${oid.slice(0, 2)}/${oid.slice(2)}`;
      const created = (oid: string) => s3.events.filter((e) => e.key === key(oid)).map((e) => e.eventName);
      expect(created(big.oid)).toEqual(['ObjectCreated:Post']);
      expect(created(small.oid)).toEqual(['ObjectCreated:Put']);
    }
  });

  it('answers has() for a few oids (one HEAD/stat each) and for many (shard listings)', async () => {
    const remote = await kind.fresh();
    const objects = Array.from({ length: 300 }, (_, i) => local(Buffer.from(`item ${i}\n`)));
    for (let i = 0; i < objects.length; i += 16) await Promise.all(objects.slice(i, i + 16).map((o) => remote.put(...args(o))));
    const present = objects.filter((_, i) => i % 4 !== 0).map((o) => o.oid);
    const absent = Array.from({ length: 300 }, (_, i) => fakeOid(i));
    proxy.requests.splice(0);

    const few = [...present.slice(0, 5), ...absent.slice(0, 5), present[0]!];
    expect(await remote.has(few)).toEqual(new Set(present.slice(0, 5)));
    if (kind.name === 's3') expect(requestsOf(remote)).toEqual({ heads: 10, lists: [] });

    // 525 oids over 256 shards: most shards hold several, listed rather than asked one by one.
    const many = [...present, ...absent];
    const found = await remote.has(many);
    expect(found.size).toBe(present.length);
    expect(found).toEqual(new Set(present));
    if (kind.name === 's3') {
      const { heads, lists } = requestsOf(remote);
      expect(lists.length).toBeGreaterThan(0);
      // Only shard prefixes that hold wanted oids are listed, never the whole remote.
      for (const l of lists) expect(decodeURIComponent(l)).toMatch(/prefix=[^&]*\/objects\/[0-9a-f]{2}\/(&|$)/);
      expect(heads + lists.length).toBeLessThan(many.length);
    }
    expect(await remote.has([])).toEqual(new Set());
  });

  it('a get of an object the remote lacks is RemoteObjectMissing, and no sink keeps bytes', async () => {
    const remote = await kind.fresh();
    await remote.put(...args(local(Buffer.from('something'))));
    const rec = recorder();
    const e = await rejection(remote.get(fakeOid(7), rec.open));
    expect(e).toBeInstanceOf(RemoteObjectMissing);
    expect(e.data).toMatchObject({ remote: remote.name, location: remote.location, oid: fakeOid(7) });
    expect(e.message).toContain(`'${fakeOid(7)}'`);
    expect(rec.sinks.every((s) => s.aborted)).toBe(true);
  });

  it('replaces an object already there (push --force repairs a corrupt copy)', async () => {
    const remote = await kind.fresh();
    const o = local(Buffer.from('the sound content'));
    const bad = path.join(work, `bad-${serial}`);
    fs.writeFileSync(bad, 'corrupt!');
    await remote.put(o.oid, bad, 8);
    expect((await getBytes(remote, o.oid)).toString()).toBe('corrupt!');
    await remote.put(o.oid, o.file, o.size);
    expect((await getBytes(remote, o.oid)).equals(o.bytes)).toBe(true);
  });

  it('a missing bucket or folder is RemoteNotFound, and is never created', async () => {
    const remote = kind.missing();
    const o = local(Buffer.from('x'));
    for (const op of [() => remote.check(), () => remote.put(o.oid, o.file, o.size)]) {
      const e = await rejection(op());
      expect(e).toBeInstanceOf(RemoteNotFound);
      expect(e.data).toMatchObject({ remote: remote.name, location: remote.location });
      expect(e.hint).toContain("'d2 remote list'");
    }
    if (kind.name === 'folder') expect(fs.existsSync(path.join(work, 'no-such-folder'))).toBe(false);
    else expect(await s3.list(BUCKET, 'x/')).toEqual([]);
  });

  it('an aborted signal rejects every operation with Interrupted', async () => {
    const remote = await kind.fresh();
    const o = local(Buffer.from('abort me'));
    await remote.put(o.oid, o.file, o.size);
    const signal = AbortSignal.abort();
    const rec = recorder();
    for (const op of [() => remote.check({ signal }), () => remote.has([o.oid], { signal }), () => remote.put(o.oid, o.file, o.size, { signal }), () => remote.get(o.oid, rec.open, { signal })]) {
      expect(await rejection(op())).toBeInstanceOf(Interrupted);
    }
    expect(rec.sinks.every((s) => s.aborted)).toBe(true);
  });

  it('refuses an oid that is not 64 hex digits', async () => {
    const remote = await kind.fresh();
    const o = local(Buffer.from('y'));
    expect(await rejection(remote.put('../../etc/passwd', o.file, o.size))).toBeInstanceOf(InvalidArgument);
    expect(await rejection(remote.has(['ABC']))).toBeInstanceOf(InvalidArgument);
    expect(await rejection(remote.get(o.oid.toUpperCase(), recorder().open))).toBeInstanceOf(InvalidArgument);
  });
});

/** The HEAD and list requests an S3 remote made through the proxy since the last call. */
function requestsOf(remote: Remote): { heads: number; lists: string[] } {
  const mine = proxy.requests.splice(0);
  const prefix = `/${BUCKET}/${remote.location.slice(`s3://${BUCKET}/`.length)}/objects/`;
  return {
    heads: mine.filter((r) => r.startsWith(`HEAD ${prefix}`)).length,
    lists: mine.filter((r) => /^GET \/[^/?]+\/?\?/.test(r) && r.includes('list-type=2')),
  };
}

function args(o: Local): [string, string, number] {
  return [o.oid, o.file, o.size];
}

describe('remote: folder, its own faults', () => {
  it('lays out objects/, tmp/ and the d2-remote marker on the first put, and leaves no temporary file', async () => {
    const remote = await KINDS[0]!.fresh();
    const root = remote.location;
    expect(fs.readdirSync(root)).toEqual([]);
    const o = local(Buffer.from('laid out'));
    await remote.put(...args(o));
    expect(fs.readdirSync(root).sort()).toEqual([MARKER, 'objects', 'tmp']);
    expect(fs.readFileSync(path.join(root, MARKER), 'utf8')).toBe('format 1\n');
    expect(fs.readdirSync(path.join(root, 'tmp'))).toEqual([]);
    const file = path.join(root, 'objects', o.oid.slice(0, 2), o.oid.slice(2));
    expect(fs.readFileSync(file).equals(o.bytes)).toBe(true);
    expect(fs.statSync(file).mode & 0o222).toBe(0);
  });

  it('putBatch stores many objects read-only with one flush, replaces one already there, and leaves no temporary file', async () => {
    const remote = await KINDS[0]!.fresh();
    const objects = Array.from({ length: 150 }, (_, i) => local(Buffer.from(`batch object ${i} `.repeat(i + 1))));
    await remote.put(...args(objects[0]!));
    await remote.putBatch!(objects.map((o) => ({ oid: o.oid, file: o.file, size: o.size })));
    expect((await remote.has(objects.map((o) => o.oid))).size).toBe(150);
    for (const o of [objects[0]!, objects[77]!, objects[149]!]) expect((await getBytes(remote, o.oid)).equals(o.bytes)).toBe(true);
    const file = path.join(remote.location, 'objects', objects[9]!.oid.slice(0, 2), objects[9]!.oid.slice(2));
    expect(fs.statSync(file).mode & 0o222).toBe(0);
    expect(fs.readdirSync(path.join(remote.location, 'tmp'))).toEqual([]);
    // a size that does not match is refused, and nothing of that batch keeps a temporary file
    const bad = local(Buffer.from('short'));
    const e = await rejection(remote.putBatch!([{ oid: bad.oid, file: bad.file, size: 99 }]));
    expect(e.code).toBe('ObjectCorrupt');
    expect(fs.readdirSync(path.join(remote.location, 'tmp'))).toEqual([]);
    expect((await remote.has([bad.oid])).size).toBe(0);
  });

  it('opens file:// URLs and paths relative to the project', async () => {
    const dir = path.join(work, 'relative-remote');
    fs.mkdirSync(dir);
    const o = local(Buffer.from('relative'));
    const a = track(openRemote({ name: 'a', url: 'relative-remote' }, work));
    expect(a.location).toBe(dir);
    await a.put(...args(o));
    const b = track(openRemote({ name: 'b', url: `file://${dir}` }, '/elsewhere'));
    expect(b.location).toBe(dir);
    expect((await getBytes(b, o.oid)).equals(o.bytes)).toBe(true);
    expect(b.concurrency).toBe(8);
  });

  it('a path that is a file is RemoteNotFound; a marker of another format is StoreFormatUnsupported', async () => {
    const file = path.join(work, 'a-file');
    fs.writeFileSync(file, '');
    expect(await rejection(track(openRemote({ name: 'f', url: file }, work)).check())).toBeInstanceOf(RemoteNotFound);
    const remote = await KINDS[0]!.fresh();
    fs.writeFileSync(path.join(remote.location, MARKER), 'format 2\n');
    const e = await rejection(remote.check());
    expect(e).toBeInstanceOf(StoreFormatUnsupported);
    expect(e.data).toMatchObject({ found: '2', supported: 1 });
    expect(await rejection(remote.put(...args(local(Buffer.from('z')))))).toBeInstanceOf(StoreFormatUnsupported);
  });

  it.skipIf(process.getuid?.() === 0)('a folder that is not writable is RemoteAccessDenied for writing, fine for reading', async () => {
    const remote = await KINDS[0]!.fresh();
    const o = local(Buffer.from('read-only'));
    await remote.put(...args(o));
    fs.chmodSync(remote.location, 0o555);
    try {
      expect(await rejection(remote.check())).toBeInstanceOf(RemoteAccessDenied);
      await remote.check({ access: 'read' });
      expect((await getBytes(remote, o.oid)).equals(o.bytes)).toBe(true);
    } finally {
      fs.chmodSync(remote.location, 0o755);
    }
  });

  it('a get whose sink cannot write fails with the sink\'s own error, not retried', async () => {
    const remote = await KINDS[0]!.fresh();
    const o = local(Buffer.from('full disk'));
    await remote.put(...args(o));
    let opened = 0;
    const failure = new Error('ENOSPC: no space left');
    const err = await remote.get(o.oid, () => {
      opened++;
      return { write: () => { throw failure; }, abort: () => undefined };
    }).catch((e: unknown) => e);
    expect(err).toBe(failure);
    expect(opened).toBe(1);
  });
});

describe('remote: s3, its own faults', () => {
  const throughProxy = (): Promise<Remote> => KINDS[1]!.fresh();

  it('wrong credentials are RemoteAccessDenied, with a hint naming the variables and no secret', async () => {
    const remote = await KINDS[1]!.fresh();
    const o = local(Buffer.from('credentials'));
    await remote.put(...args(o));
    process.env.AWS_ACCESS_KEY_ID = 'AKIAWRONGWRONGWRONG1';
    process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret-value';
    try {
      const wrong = await KINDS[1]!.fresh();
      for (const op of [() => wrong.check(), () => wrong.get(o.oid, recorder().open), () => wrong.put(...args(o))]) {
        const e = await rejection(op());
        expect(e).toBeInstanceOf(RemoteAccessDenied);
        expect(e.data).toMatchObject({ remote: 'origin', cause: 'InvalidAccessKeyId' });
        expect(e.hint).toContain('AWS_ACCESS_KEY_ID');
        expect(e.hint).toContain('AWS_SECRET_ACCESS_KEY');
        expect(e.hint).toContain('AWS_PROFILE');
        expect(e.hint).toContain('nothing secret is read from the repository');
        expect(JSON.stringify(e.toJSON())).not.toContain('not-the-secret-value');
      }
    } finally {
      Object.assign(process.env, S3RVER_ENV);
    }
  });

  it('no credentials at all is RemoteAccessDenied, found fast', async () => {
    const keys = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_EC2_METADATA_DISABLED'];
    const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(work, 'no-credentials');
    process.env.AWS_CONFIG_FILE = path.join(work, 'no-config');
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    try {
      const remote = await KINDS[1]!.fresh();
      const e = await rejection(remote.check());
      expect(e).toBeInstanceOf(RemoteAccessDenied);
      expect(e.message).toBe(`no AWS credentials found for remote 'origin' at ${remote.location}`);
      expect(e.data).toMatchObject({ cause: 'CredentialsProviderError' });
      expect(e.hint).toContain('AWS_PROFILE');
    } finally {
      for (const k of keys) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  it('a server that is down is RemoteUnavailable after 4 attempts, in bounded time', async () => {
    const port = await closedPort();
    // The real back-off (0.2 s, 0.8 s, 2 s), not the tests' shortened one.
    const remote = track(openRemote({ name: 'origin', url: `s3://${BUCKET}/down`, endpoint: `http://127.0.0.1:${port}` }, work));
    const started = Date.now();
    const e = await rejection(remote.check());
    const elapsed = Date.now() - started;
    expect(e).toBeInstanceOf(RemoteUnavailable);
    expect(e.data).toMatchObject({ remote: 'origin', location: `s3://${BUCKET}/down`, cause: 'ECONNREFUSED', attempts: 4 });
    expect(e.message).toMatch(/^cannot reach remote 'origin' at s3:\/\/d2-remote-test\/down: .*ECONNREFUSED.*\(4 attempts\)$/);
    expect(elapsed).toBeGreaterThanOrEqual(2_900);
    expect(elapsed).toBeLessThan(15_000);
  });

  it('a host name that does not resolve is RemoteUnavailable, with a hint about the name', async () => {
    const remote = track(openRemote({ name: 'origin', url: `s3://${BUCKET}/x`, endpoint: 'http://no-such-host.invalid:9000', retryDelaysMs: FAST_RETRY }, work));
    const e = await rejection(remote.check());
    expect(e).toBeInstanceOf(RemoteUnavailable);
    // ENOTFOUND is final; a resolver that cannot answer at all (EAI_AGAIN) is retried.
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain(e.data.cause);
    expect(e.hint).toContain('does not resolve');
  });

  it('an abort during the back-off of a down server rejects promptly with Interrupted', async () => {
    const port = await closedPort();
    const remote = track(openRemote({ name: 'origin', url: `s3://${BUCKET}/down`, endpoint: `http://127.0.0.1:${port}` }, work));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const started = Date.now();
    expect(await rejection(remote.has([fakeOid(1)], { signal: ac.signal }))).toBeInstanceOf(Interrupted);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a connection cut mid-body is retried: the first sink is aborted, the next one gets every byte', async () => {
    const remote = await throughProxy();
    const o = local(randomBytes(3 << 20));
    await remote.put(...args(o));
    const faultsBefore = proxy.faults;
    proxy.cutAfter(1 << 20);
    const rec = recorder();
    const sink = (await remote.get(o.oid, rec.open)) as RecordingSink;
    expect(proxy.faults - faultsBefore).toBe(1);
    expect(rec.sinks).toHaveLength(2);
    expect(rec.sinks[0]!.aborted).toBe(true);
    expect(rec.sinks[0]!.bytes().length).toBeGreaterThan(0);
    expect(rec.sinks[0]!.bytes().length).toBeLessThan(o.size);
    expect(sink).toBe(rec.sinks[1]);
    expect(sink.aborted).toBe(false);
    expect(sink.bytes().equals(o.bytes)).toBe(true);
  });

  it('a connection cut on every attempt ends in RemoteUnavailable with every sink aborted', async () => {
    const remote = await throughProxy();
    const o = local(randomBytes(256 << 10));
    await remote.put(...args(o));
    proxy.cutAfter(64 << 10, 100);
    const rec = recorder();
    const e = await rejection(remote.get(o.oid, rec.open));
    expect(e).toBeInstanceOf(RemoteUnavailable);
    expect(e.data).toMatchObject({ attempts: 4 });
    expect(rec.sinks).toHaveLength(4);
    expect(rec.sinks.every((s) => s.aborted)).toBe(true);
  });

  it('uploads cut short are retried, single and multipart, and the object is whole', async () => {
    const remote = await throughProxy();
    const small = local(randomBytes(2 << 20));
    const big = local(randomBytes(MULTIPART_ABOVE + (1 << 20)));
    for (const o of [small, big]) {
      const faultsBefore = proxy.faults;
      proxy.cutUploadAfter(1 << 20);
      await remote.put(...args(o));
      expect(proxy.faults - faultsBefore).toBe(1);
      proxy.heal();
      expect((await getBytes(remote, o.oid)).equals(o.bytes)).toBe(true);
    }
  });

  it('a download stalled mid-body stops promptly with Interrupted when the signal aborts', async () => {
    const remote = await throughProxy();
    const o = local(randomBytes(2 << 20));
    await remote.put(...args(o));
    proxy.stallAfter(256 << 10);
    const ac = new AbortController();
    const rec = recorder();
    const p = remote.get(o.oid, rec.open, { signal: ac.signal });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    ac.abort();
    expect(await rejection(p)).toBeInstanceOf(Interrupted);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(rec.sinks).toHaveLength(1);
    expect(rec.sinks[0]!.aborted).toBe(true);
  });

  it('a bucket without a prefix is named s3://bucket, and runs 16 transfers at once', async () => {
    const remote = track(openRemote({ name: 'origin', url: `s3://${BUCKET}`, endpoint: s3.endpoint }, work));
    expect(remote.location).toBe(`s3://${BUCKET}`);
    expect(remote.concurrency).toBe(16);
    await remote.check();
    const o = local(Buffer.from('at the bucket root'));
    await remote.put(...args(o));
    expect(await s3.read(BUCKET, `objects/${o.oid.slice(0, 2)}/${o.oid.slice(2)}`)).toEqual(o.bytes);
    expect(await remote.has([o.oid])).toEqual(new Set([o.oid]));
    expect((await getBytes(remote, o.oid)).equals(o.bytes)).toBe(true);
  });
});
