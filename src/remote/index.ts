/**
 * Remotes: where `d2 push` sends objects and `d2 pull` fetches them. One interface (types.ts),
 * two kinds: an S3 bucket (s3-remote.ts, the only user of the AWS SDK, loaded on first use)
 * and a shared folder (folder-remote.ts). Layout and guarantees: docs/remotes.md.
 *
 * Invariants: opening a remote does no I/O and loads no SDK (the first operation does);
 * nothing secret is taken from the configuration; every failure reaches the caller as a
 * D2Error (Remote*, Interrupted, InvalidArgument for a bad URL or oid).
 */
import { FolderRemote } from './folder-remote.js';
import { S3Remote } from './s3-remote.js';
import type { Remote, RemoteConfig } from './types.js';
import { parseRemoteUrl } from './url.js';

export type { CheckOptions, PutItem, Remote, RemoteConfig, Sink, TransferOptions } from './types.js';
export { formatLocation, parseRemoteUrl, type ParsedRemoteUrl } from './url.js';
export { FOLDER_FORMAT, MARKER } from './folder-remote.js';
export { MULTIPART_ABOVE } from './s3-remote.js';

/** The remote `config` describes; a relative folder path is taken from `projectRoot`. */
export function openRemote(config: RemoteConfig, projectRoot: string): Remote {
  const parsed = parseRemoteUrl(config.url, projectRoot);
  if (parsed.kind === 's3') return new S3Remote(config, parsed.bucket, parsed.prefix);
  return new FolderRemote(config, parsed.path);
}
