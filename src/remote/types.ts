/**
 * The one interface push, pull and fsck --repair see of a remote, whatever it is (an S3 bucket
 * or a shared folder). Layout and guarantees: docs/remotes.md.
 *
 * Invariants every implementation keeps:
 * - Object `oid` lives at `<base>/objects/<oid[0:2]>/<oid[2:]>`, exactly as in the local store.
 * - A name on the remote is given only to complete bytes: `put` publishes atomically (S3 shows
 *   an object only when its PutObject or multipart upload completes; a folder renames a fsynced
 *   temporary file), so an interrupted push never leaves a partial object behind its name.
 * - Remotes verify nothing: the caller hashes what `get` delivered, and hashed what it `put`s.
 * - Transient faults (connection reset, refused or timed out, 5xx, throttling) are retried here,
 *   up to 4 attempts with back-off; what still fails, and every other fault, is thrown as one of
 *   the Remote* D2Errors. An aborted signal rejects promptly with Interrupted.
 * - No secret is taken from the configuration: S3 credentials come only from the AWS SDK's
 *   default chain (environment, ~/.aws files, AWS_PROFILE, SSO, instance roles).
 */

/** A remote as `d2.remotes.yaml` records it (manifest/remotes-file.ts). */
export interface RemoteConfig {
  name: string;
  url: string;
  /** S3 only: an S3-compatible service's address (MinIO, Ceph…). */
  endpoint?: string;
  /** S3 only: default AWS_REGION, then the AWS config file, then 'us-east-1'. */
  region?: string;
  /** S3 only: `endpoint/bucket/key` addressing; the default when an endpoint is set. */
  pathStyle?: boolean;
  /**
   * Waits between attempts after a transient fault, in milliseconds (default 200, 800, 2000:
   * four attempts, about 3 s). Not stored in `d2.remotes.yaml`; tests shorten it.
   */
  retryDelaysMs?: readonly number[];
}

export interface TransferOptions {
  signal?: AbortSignal;
}

export interface CheckOptions extends TransferOptions {
  /**
   * 'write' (the default) also requires that objects can be written (a folder that is not
   * writable fails); 'read' is enough for pull. An S3 check can only prove read access.
   */
  access?: 'read' | 'write';
}

/** Receives one download attempt's bytes; aborted when the attempt fails (a retry opens a new sink). */
export interface Sink {
  write(chunk: Uint8Array): void;
  abort(): void;
}

/** One object of a `putBatch`: local file `file`, exactly `size` bytes, already verified. */
export interface PutItem {
  oid: string;
  file: string;
  size: number;
  /** The file's content, when the caller has it in memory already (then the file is not read again). */
  bytes?: Uint8Array;
}

export interface Remote {
  readonly name: string;
  /** For messages: 's3://bucket/prefix' or the folder's absolute path. */
  readonly location: string;
  /** How many transfers to run at once against this remote (S3: 16, folder: 8). */
  readonly concurrency: number;
  /** Fail fast with a clear D2Error if the remote cannot be used (bucket/folder missing, bad credentials, unreachable). */
  check(options?: CheckOptions): Promise<void>;
  /**
   * Which of `oids` the remote holds. Few oids: one HEAD/stat each (concurrently); many: list
   * only the shard prefixes that contain wanted oids (`objects/ab/`), paged, concurrently.
   */
  has(oids: readonly string[], options?: TransferOptions): Promise<Set<string>>;
  /**
   * Upload local file `file` (exactly `size` bytes, already verified by the caller) as object
   * `oid`, replacing any copy already there. Atomic; retries transient faults.
   */
  put(oid: string, file: string, size: number, options?: TransferOptions): Promise<void>;
  /**
   * Optional: upload many objects at once with the guarantees of `put` (a remote that can make a
   * whole batch durable with one flush is much faster this way for small objects).
   */
  putBatch?(items: readonly PutItem[], options?: TransferOptions): Promise<void>;
  /**
   * Download object `oid`: opens a sink per attempt, streams the body into it, aborts the sink
   * and retries on a transient fault (connection reset mid-body included). Resolves with the
   * sink that received the complete body; the caller verifies the hash and commits.
   */
  get(oid: string, openSink: () => Sink, options?: TransferOptions): Promise<Sink>;
  /** Release connections; the remote is not used afterwards. */
  close(): Promise<void>;
}
