/**
 * A real S3 API for tests: s3rver on 127.0.0.1 (a free port), silent, its buckets in a temp
 * folder, driven through the real AWS SDK. s3rver accepts only the access key `S3RVER` with
 * the secret `S3RVER`; `env` holds them (and a region) for child processes, and tests of the
 * library set them in `process.env`.
 *
 * Known s3rver quirks (3.7): bucket names need 3 characters or more; a wrong secret with the
 * right key id answers 500 InternalError rather than 403 SignatureDoesNotMatch (a wrong key id
 * answers 403 InvalidAccessKeyId); AbortMultipartUpload is refused (405 MethodNotAllowed);
 * multipart ETags have no '-<parts>' suffix, so `events` tells a multipart upload from a put;
 * it serves path-style requests, so clients need forcePathStyle (d2 sets it whenever an
 * endpoint is given).
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import { tempDir } from './index.js';

/** The part of s3rver's class these helpers use (it ships no types). */
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  on(event: 'event', listener: (e: { Records: { eventName: string; s3: { object: { key: string } } }[] }) => void): void;
  close(): Promise<void>;
  httpServer?: { closeAllConnections(): void };
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

export const S3RVER_ENV: Readonly<Record<string, string>> = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

export interface S3TestServer {
  /** e.g. 'http://127.0.0.1:40123' */
  endpoint: string;
  port: number;
  /** Where s3rver keeps its buckets. */
  dir: string;
  /** Credentials and region s3rver accepts, for `process.env` or a child's env. */
  env: Record<string, string>;
  createBucket(name: string): Promise<void>;
  /** Replace an object's bytes behind d2's back (to test corrupt copies). */
  overwrite(bucket: string, key: string, bytes: Uint8Array): Promise<void>;
  /** An object's bytes, or undefined when the key does not exist. */
  read(bucket: string, key: string): Promise<Buffer | undefined>;
  /**
   * Objects created so far, in order: 'ObjectCreated:Put' for a PutObject, 'ObjectCreated:Post'
   * for a completed multipart upload.
   */
  events: { eventName: string; key: string }[];
  /** Every key of a bucket (paged listing). */
  list(bucket: string, prefix?: string): Promise<string[]>;
  stop(): Promise<void>;
}

/** Set s3rver's credentials and region in this process's environment (for library tests). */
export function useS3rverCredentials(): void {
  Object.assign(process.env, S3RVER_ENV);
}

export async function startS3Server(): Promise<S3TestServer> {
  const require = createRequire(import.meta.url);
  const S3rver = require('s3rver') as S3rverClass;
  const dir = tempDir('d2-s3rver-');
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: process.env.S3RVER_LOG ? false : true, directory: dir });
  const events: { eventName: string; key: string }[] = [];
  server.on('event', (e) => {
    for (const r of e.Records) events.push({ eventName: r.eventName, key: r.s3.object.key });
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const sdk = await import('@aws-sdk/client-s3');
  const client = new sdk.S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    port,
    dir,
    env: { ...S3RVER_ENV },
    events,
    async createBucket(name) {
      await client.send(new sdk.CreateBucketCommand({ Bucket: name }));
    },
    async overwrite(bucket, key, bytes) {
      await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
    },
    async read(bucket, key) {
      try {
        const res = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
        return Buffer.from(await res.Body!.transformToByteArray());
      } catch (e) {
        if ((e as Error).name === 'NoSuchKey') return undefined;
        throw e;
      }
    },
    async list(bucket, prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const c of page.Contents ?? []) keys.push(c.Key!);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return keys;
    },
    async stop() {
      client.destroy();
      const closed = server.close();
      // Clients' keep-alive sockets would hold close() open.
      server.httpServer?.closeAllConnections();
      await closed;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
