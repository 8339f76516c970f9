/**
 * A remote in an S3 bucket (AWS S3 or an S3-compatible service: MinIO, Ceph, R2…): object
 * `oid` is the key `<prefix>/objects/<oid[0:2]>/<oid[2:]>`. The only user of the AWS SDK,
 * loaded with `import()` on first use so commands that never touch a remote do not pay for it.
 *
 * Invariants:
 * - A key is only ever written by one PutObject, or one multipart upload (objects above
 *   16 MiB) that S3 shows only once CompleteMultipartUpload succeeds and that is aborted when
 *   it fails: no partial object is ever visible under its name. Bodies stream from the file
 *   (a part from its byte range), so memory does not grow with object size.
 * - The SDK's own retries are off (maxAttempts 1); retry.ts retries, so an operation makes at
 *   most 4 attempts and a remote that is down fails in about 3 s (connections time out after
 *   5 s, a stalled socket after 30 s).
 * - Checksums are computed only when S3 requires them: aws-chunked streaming checksums break
 *   S3-compatible servers, and d2 verifies SHA-256 itself.
 * - Credentials come only from the SDK's default chain; none is read from the configuration.
 * - A download delivers its bytes to a fresh sink per attempt, and aborts that sink whenever
 *   the attempt fails, so a caller never sees bytes of two attempts mixed.
 */
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { RemoteObjectMissing } from '../errors/index.js';
import { mapLimit } from '../util/pool.js';
import { FEW_OIDS, groupByShard, objectRelPath } from './layout.js';
import {
  bucketNotFound, objectMissing, remoteFailed, remoteUnavailable, s3AccessDenied, type RemoteRef,
} from './remote-errors.js';
import { receive } from './receive.js';
import { causeCode, DEFAULT_RETRY_DELAYS_MS, isTransientNetworkError, withRetry } from './retry.js';
import type { CheckOptions, Remote, RemoteConfig, Sink, TransferOptions } from './types.js';

type S3Sdk = typeof import('@aws-sdk/client-s3');

/** Objects above this size go up as multipart uploads. */
export const MULTIPART_ABOVE = 16 << 20;
const PART_SIZE = 8 << 20;
/** S3 allows 10,000 parts per upload. */
const MAX_PARTS = 10_000;
/** Parts of one multipart upload in flight at once. */
const PART_QUEUE = 4;
/** How long a failed multipart upload waits for its abort to be acknowledged. */
const ABORT_UPLOAD_MS = 2_000;
/** A shard with at most this many wanted oids left is asked with HEADs rather than a listing. */
const HEAD_IN_SHARD = 2;
const S3_CONCURRENCY = 16;

/** S3 error codes meaning "these credentials may not do that". */
const ACCESS_CODES = new Set([
  'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden', 'ExpiredToken', 'InvalidToken',
  'TokenRefreshRequired', 'AllAccessDisabled', 'AccountProblem', 'CredentialsProviderError', 'InvalidClientTokenId',
]);
/** S3 error codes worth another attempt. */
const TRANSIENT_S3_CODES = new Set([
  'SlowDown', 'RequestTimeout', 'InternalError', 'ServiceUnavailable', 'Throttling', 'ThrottlingException',
  'RequestLimitExceeded', 'TooManyRequestsException', 'RequestTimeoutException', 'OperationAborted',
]);

/**
 * The SDK warns on the console (a failed streaming upload, sockets at capacity) unless given a
 * logger; d2 prints nothing outside cli/render, and the faults reach the caller as errors.
 */
const SILENT = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

interface Connection {
  sdk: S3Sdk;
  client: S3Client;
}

function status(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function isTransientS3(e: unknown): boolean {
  // No credentials found: the chain already tried everything it knows (instance metadata
  // included), and trying again finds nothing new.
  if ((e as Error | null)?.name === 'CredentialsProviderError') return false;
  if (isTransientNetworkError(e)) return true;
  const s = status(e);
  return (s !== undefined && (s >= 500 || s === 429)) || TRANSIENT_S3_CODES.has(causeCode(e));
}

/** "Not there" as S3 says it: NoSuchKey with a body, a bare 404 (NotFound) for HEAD. */
function isMissingKey(e: unknown): boolean {
  const code = causeCode(e);
  return code === 'NoSuchKey' || code === 'NotFound' || (status(e) === 404 && code !== 'NoSuchBucket');
}

export class S3Remote implements Remote, RemoteRef {
  readonly name: string;
  readonly location: string;
  readonly concurrency = S3_CONCURRENCY;
  private connection: Promise<Connection> | undefined;
  private readonly delaysMs: readonly number[];

  constructor(
    private readonly config: RemoteConfig,
    readonly bucket: string,
    readonly prefix: string,
  ) {
    this.name = config.name;
    this.location = prefix === '' ? `s3://${bucket}` : `s3://${bucket}/${prefix}`;
    this.delaysMs = config.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  }

  private key(oid: string): string {
    return this.prefix === '' ? objectRelPath(oid) : `${this.prefix}/${objectRelPath(oid)}`;
  }

  private get objectsPrefix(): string {
    return this.prefix === '' ? 'objects/' : `${this.prefix}/objects/`;
  }

  private connect(): Promise<Connection> {
    this.connection ??= this.createClient().catch((e: unknown) => {
      this.connection = undefined;
      throw e;
    });
    return this.connection;
  }

  private async createClient(): Promise<Connection> {
    // The SDK warns on every Node below 22 that its releases after January 2027 will need 22;
    // that notice is for d2's packaging, not for the user, and d2 prints nothing unasked.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const sdk = await import('@aws-sdk/client-s3');
    const endpoint = this.config.endpoint;
    const customEndpoint = endpoint ?? (process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL);
    const client = new sdk.S3Client({
      region: this.config.region ?? (process.env.AWS_REGION || undefined) ?? (await configFileRegion(sdk)) ?? 'us-east-1',
      ...(endpoint !== undefined ? { endpoint } : {}),
      // Path-style addressing is what S3-compatible servers at an address (http://10.0.0.5:9000) serve.
      forcePathStyle: this.config.pathStyle ?? Boolean(customEndpoint),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      followRegionRedirects: true,
      maxAttempts: 1,
      logger: SILENT,
      requestHandler: {
        logger: SILENT,
        connectionTimeout: 5_000,
        socketTimeout: 30_000,
        httpAgent: { keepAlive: true, maxSockets: 64 },
        httpsAgent: { keepAlive: true, maxSockets: 64 },
      },
    });
    return { sdk, client };
  }

  /** One request (or one streamed download), retried on transient faults and translated. */
  private run<T>(signal: AbortSignal | undefined, attempt: (c: Connection) => Promise<T>, oid?: string): Promise<T> {
    return withRetry(
      async () => attempt(await this.connect()),
      {
        delaysMs: this.delaysMs,
        signal,
        isTransient: isTransientS3,
        translate: (e, attempts) => this.translate(e, attempts, oid),
      },
    );
  }

  private translate(e: unknown, attempts: number, oid?: string): unknown {
    const code = causeCode(e);
    if (code === 'NoSuchBucket') return bucketNotFound(this, this.bucket, e);
    if (oid !== undefined && isMissingKey(e)) return objectMissing(this, oid, e);
    if (ACCESS_CODES.has(code) || status(e) === 403 || (e as Error | null)?.name === 'CredentialsProviderError') return s3AccessDenied(this, e);
    if (isTransientS3(e) || code === 'ENOTFOUND') return remoteUnavailable(this, e, attempts);
    // Any other answer from the service (status known) is a remote fault, not a bug in d2.
    if (status(e) !== undefined) return remoteFailed(this, e, attempts);
    return e;
  }

  async check(options: CheckOptions = {}): Promise<void> {
    // A listing (not HeadBucket) because its errors come with a code: NoSuchBucket,
    // InvalidAccessKeyId… HeadBucket's are bare 404/403. Write access cannot be proven
    // without writing, so 'write' checks as much as 'read'.
    await this.run(options.signal, ({ sdk, client }) =>
      client.send(new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.objectsPrefix, MaxKeys: 1 }), { abortSignal: options.signal }),
    );
  }

  async has(oids: readonly string[], options: TransferOptions = {}): Promise<Set<string>> {
    const groups = groupByShard(oids);
    const found = new Set<string>();
    const wanted = [...groups.values()].flat();
    if (wanted.length <= FEW_OIDS) {
      await mapLimit(wanted, this.concurrency, async (oid) => {
        if (await this.head(oid, options.signal)) found.add(oid);
      });
      return found;
    }
    await mapLimit([...groups.entries()], this.concurrency, async ([shard, list]) => {
      for (const oid of await this.hasInShard(shard, list, options.signal)) found.add(oid);
    });
    return found;
  }

  private async head(oid: string, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      await this.run(signal, ({ sdk, client }) => client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(oid) }), { abortSignal: signal }), oid);
      return true;
    } catch (e) {
      if (e instanceof RemoteObjectMissing) return false;
      throw e;
    }
  }

  /**
   * The wanted oids of one shard that it holds. Each page lists from just before the first
   * oid not yet settled, so it settles at least that one; a shard left with few wanted oids is
   * finished with HEADs. A listing thus costs at most one request per wanted oid, and far fewer
   * when they are dense.
   */
  private async hasInShard(shard: string, sorted: string[], signal: AbortSignal | undefined): Promise<string[]> {
    const found: string[] = [];
    const shardPrefix = `${this.objectsPrefix}${shard}/`;
    let rest = sorted;
    let token: string | undefined;
    while (rest.length > 0) {
      if (rest.length <= HEAD_IN_SHARD && token === undefined) {
        const present = await Promise.all(rest.map((oid) => this.head(oid, signal)));
        return found.concat(rest.filter((_, i) => present[i]));
      }
      const firstKey = this.key(rest[0]!);
      const page = await this.run(signal, ({ sdk, client }) =>
        client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: shardPrefix,
            ...(token !== undefined ? { ContinuationToken: token } : { StartAfter: firstKey.slice(0, -1) }),
          }),
          { abortSignal: signal },
        ),
      );
      const keys = (page.Contents ?? []).map((c) => c.Key ?? '');
      const names = new Set(keys.map((k) => shard + k.slice(shardPrefix.length)));
      found.push(...rest.filter((oid) => names.has(oid)));
      const last = keys[keys.length - 1];
      if (!page.IsTruncated || last === undefined) break;
      const next = rest.filter((oid) => this.key(oid) > last);
      // A service that ignores StartAfter lists from the shard's start: page on with its token.
      token = next.length === rest.length ? page.NextContinuationToken : undefined;
      if (next.length === rest.length && token === undefined) break;
      rest = next;
    }
    return found;
  }

  async put(oid: string, file: string, size: number, options: TransferOptions = {}): Promise<void> {
    const Key = this.key(oid);
    const signal = options.signal;
    if (size > MULTIPART_ABOVE) return this.putMultipart(Key, file, size, signal);
    await this.run(signal, async ({ sdk, client }) => {
      // An empty body as bytes: some servers mishandle an empty stream with Content-Length 0.
      const Body = size === 0 ? new Uint8Array(0) : fs.createReadStream(file, { highWaterMark: 1 << 20 });
      try {
        await client.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key, Body, ContentLength: size }), { abortSignal: signal });
      } finally {
        if (!(Body instanceof Uint8Array)) Body.destroy();
      }
    });
  }

  /**
   * A multipart upload: each part streams its range of the file (nothing is buffered) and is
   * retried on its own, so a reset costs one part, not the whole object. S3 shows the object
   * only when CompleteMultipartUpload succeeds; on any failure the upload is aborted (best
   * effort: a failed abort never hides the fault that caused it).
   */
  private async putMultipart(Key: string, file: string, size: number, signal: AbortSignal | undefined): Promise<void> {
    const Bucket = this.bucket;
    const partSize = Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS));
    const count = Math.ceil(size / partSize);
    const created = await this.run(signal, ({ sdk, client }) => client.send(new sdk.CreateMultipartUploadCommand({ Bucket, Key }), { abortSignal: signal }));
    const UploadId = created.UploadId;
    if (!UploadId) throw remoteFailed(this, new Error('CreateMultipartUpload answered no UploadId'), 1);
    try {
      const parts = await mapLimit(Array.from({ length: count }, (_, i) => i), PART_QUEUE, async (i) => {
        const start = i * partSize;
        const length = Math.min(partSize, size - start);
        const res = await this.run(signal, async ({ sdk, client }) => {
          const Body = fs.createReadStream(file, { start, end: start + length - 1, highWaterMark: 1 << 20 });
          try {
            return await client.send(new sdk.UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body, ContentLength: length }), { abortSignal: signal });
          } finally {
            Body.destroy();
          }
        });
        return { PartNumber: i + 1, ETag: res.ETag };
      });
      await this.run(signal, async ({ sdk, client }) => {
        try {
          await client.send(new sdk.CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }), { abortSignal: signal });
        } catch (e) {
          // A retried Complete whose first attempt did succeed (its answer lost) finds no upload.
          if (causeCode(e) === 'NoSuchUpload' && (await this.sizeOf(Key, signal)) === size) return;
          throw e;
        }
      });
    } catch (e) {
      await this.connect()
        .then(({ sdk, client }) => client.send(new sdk.AbortMultipartUploadCommand({ Bucket, Key, UploadId }), { abortSignal: AbortSignal.timeout(ABORT_UPLOAD_MS) }))
        .catch(() => undefined);
      throw e;
    }
  }

  /** The size of the object at `Key`, or undefined when there is none. */
  private async sizeOf(Key: string, signal: AbortSignal | undefined): Promise<number | undefined> {
    const { sdk, client } = await this.connect();
    try {
      return (await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key }), { abortSignal: signal })).ContentLength;
    } catch (e) {
      if (isMissingKey(e)) return undefined;
      throw e;
    }
  }

  async get(oid: string, openSink: () => Sink, options: TransferOptions = {}): Promise<Sink> {
    const signal = options.signal;
    return this.run(
      signal,
      async ({ sdk, client }) => {
        const res = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.key(oid) }), { abortSignal: signal });
        const body = res.Body as Readable | undefined;
        return receive(body, res.ContentLength, openSink, signal);
      },
      oid,
    );
  }

  async close(): Promise<void> {
    const c = this.connection;
    this.connection = undefined;
    if (c) (await c.catch(() => undefined))?.client.destroy();
  }
}

/** The region of the AWS config file's profile (AWS_PROFILE or default), if it names one. */
async function configFileRegion(sdk: S3Sdk): Promise<string | undefined> {
  // The SDK's own region provider reads AWS_REGION then ~/.aws/config; a client that is never
  // used for a request is the cheapest public way to reach it.
  const probe = new sdk.S3Client({});
  try {
    return await probe.config.region();
  } catch {
    return undefined;
  } finally {
    probe.destroy();
  }
}
