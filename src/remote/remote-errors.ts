/**
 * The Remote* errors, worded once for both kinds of remote (git's rules: lower-case first word,
 * no final full stop, the subject in single quotes).
 *
 * Invariants: `data` always names the remote and its location and is JSON-able (the cause is
 * kept as `cause`, its code copied into `data.cause`); no hint or message ever contains a
 * credential, only the names of the variables that hold them.
 */
import { RemoteAccessDenied, RemoteNotFound, RemoteObjectMissing, RemoteUnavailable } from '../errors/index.js';
import { causeCode } from './retry.js';

export interface RemoteRef {
  readonly name: string;
  readonly location: string;
}

const CREDENTIALS_HINT =
  "d2 uses the AWS SDK's credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or AWS_PROFILE " +
  '(a profile of ~/.aws/credentials or ~/.aws/config), for an identity allowed to use the bucket; nothing secret is read from the repository';

function reason(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s+/g, ' ').replace(/[.\s]+$/, '');
}

export function remoteUnavailable(r: RemoteRef, e: unknown, attempts: number): RemoteUnavailable {
  const code = causeCode(e);
  const dns = code === 'ENOTFOUND' || code === 'EAI_AGAIN';
  const tries = attempts > 1 ? ` (${attempts} attempts)` : '';
  return new RemoteUnavailable(`cannot reach remote '${r.name}' at ${r.location}: ${reason(e)}${tries}`, {
    data: { remote: r.name, location: r.location, cause: code, attempts },
    hint: dns
      ? "the host name does not resolve: check the network, and the endpoint with 'd2 remote list'"
      : "check the network and the remote's address ('d2 remote list'), then run the command again",
    cause: e,
  });
}

/** A remote that answered, but with a fault that is not about access or existence. */
export function remoteFailed(r: RemoteRef, e: unknown, attempts: number): RemoteUnavailable {
  const code = causeCode(e);
  return new RemoteUnavailable(`remote '${r.name}' at ${r.location} failed: ${code}: ${reason(e)}`, {
    data: { remote: r.name, location: r.location, cause: code, attempts },
    hint: 'run the command again; if it keeps failing, check the service (an S3-compatible server may lack a feature d2 uses)',
    cause: e,
  });
}

export function s3AccessDenied(r: RemoteRef, e: unknown): RemoteAccessDenied {
  const code = causeCode(e);
  const noCredentials = code === 'CredentialsProviderError';
  const message = noCredentials
    ? `no AWS credentials found for remote '${r.name}' at ${r.location}`
    : `access to remote '${r.name}' at ${r.location} was denied: ${code === 'Unknown' || code === 'Error' ? 'HTTP 403' : code}`;
  return new RemoteAccessDenied(message, {
    data: { remote: r.name, location: r.location, cause: code, detail: reason(e) },
    hint: CREDENTIALS_HINT,
    cause: e,
  });
}

export function folderAccessDenied(r: RemoteRef, folder: string, access: 'readable' | 'writable', e?: unknown): RemoteAccessDenied {
  return new RemoteAccessDenied(`folder '${folder}' of remote '${r.name}' is not ${access}`, {
    data: { remote: r.name, location: r.location, path: folder, cause: e === undefined ? 'EACCES' : causeCode(e) },
    hint: "check the folder's permissions for this user, and that the share is mounted read-write",
    ...(e !== undefined ? { cause: e } : {}),
  });
}

export function bucketNotFound(r: RemoteRef, bucket: string, e: unknown): RemoteNotFound {
  return new RemoteNotFound(`bucket '${bucket}' of remote '${r.name}' does not exist`, {
    data: { remote: r.name, location: r.location, bucket, cause: causeCode(e) },
    hint: "create the bucket (d2 never creates one), or check the URL with 'd2 remote list'",
    cause: e,
  });
}

export function folderNotFound(r: RemoteRef, folder: string, e?: unknown, why = 'does not exist'): RemoteNotFound {
  return new RemoteNotFound(`folder '${folder}' of remote '${r.name}' ${why}`, {
    data: { remote: r.name, location: r.location, path: folder, ...(e !== undefined ? { cause: causeCode(e) } : {}) },
    hint: "create the folder or mount the share (d2 never creates it), or check the URL with 'd2 remote list'",
    ...(e !== undefined ? { cause: e } : {}),
  });
}

export function objectMissing(r: RemoteRef, oid: string, e?: unknown): RemoteObjectMissing {
  return new RemoteObjectMissing(`object '${oid}' is not on remote '${r.name}' at ${r.location}`, {
    data: { remote: r.name, location: r.location, oid },
    hint: "push it from a clone that has it ('d2 push'), or check the remote with 'd2 remote list'",
    ...(e !== undefined ? { cause: e } : {}),
  });
}
