/**
 * `d2.remotes.yaml`: where the project's objects are shared — S3-compatible buckets or shared
 * folders — committed so that a clone knows where its data is (docs/remotes.md).
 *
 * Invariants: it never holds a secret (credentials come from the standard AWS environment
 * variables and files, at run time); it is written only by `serializeRemotes` (sorted names,
 * fixed key order), so adding a remote shows in git as the lines of that remote.
 */
import { stringify } from 'yaml';
import * as z from 'zod';
import { formatIssue, parseYamlWithSchema } from './parse-yaml.js';

export const REMOTES_FILE = 'd2.remotes.yaml';
export const REMOTES_FORMAT = 1 as const;

/** Remote names: what git accepts for its remotes, without slashes. */
export const REMOTE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const remoteSchema = z.strictObject({
  /** `s3://bucket/prefix`, an absolute folder path, a path relative to the project, or `file:///…`. */
  url: z.string().min(1),
  /** S3 endpoint of a non-AWS service (MinIO, Ceph, R2…), e.g. `http://10.0.0.5:9000`. */
  endpoint: z.string().url().optional(),
  region: z.string().min(1).optional(),
  /** Path-style S3 addressing (`endpoint/bucket/key`); defaults to true when `endpoint` is set. */
  pathStyle: z.boolean().optional(),
});

export const remotesSchema = z.strictObject({
  format: z.literal(REMOTES_FORMAT),
  /** The remote `d2 push` and `d2 pull` use when none is named. */
  default: z.string().optional(),
  remotes: z.record(z.string().regex(REMOTE_NAME, 'a remote name is letters, digits, ".", "_" or "-"'), remoteSchema).default({}),
});

export type RemoteEntry = z.output<typeof remoteSchema>;
export type RemotesFile = z.output<typeof remotesSchema>;

export function emptyRemotes(): RemotesFile {
  return { format: REMOTES_FORMAT, remotes: {} };
}

export function parseRemotes(text: string, file = REMOTES_FILE): { remotes?: RemotesFile; problems: string[] } {
  const { value, issues } = parseYamlWithSchema(text, remotesSchema);
  if (!value || issues.length) return { problems: issues.map((i) => formatIssue(file, i)) };
  if (value.default !== undefined && !(value.default in value.remotes)) {
    return { problems: [`${file}: 'default' names '${value.default}', which is not among the remotes (${Object.keys(value.remotes).join(', ') || 'none'})`] };
  }
  return { remotes: value, problems: [] };
}

export function serializeRemotes(r: RemotesFile): string {
  const remotes: Record<string, Record<string, unknown>> = {};
  for (const name of Object.keys(r.remotes).sort()) {
    const e = r.remotes[name]!;
    remotes[name] = {
      url: e.url,
      ...(e.endpoint !== undefined ? { endpoint: e.endpoint } : {}),
      ...(e.region !== undefined ? { region: e.region } : {}),
      ...(e.pathStyle !== undefined ? { pathStyle: e.pathStyle } : {}),
    };
  }
  const body = stringify({ format: r.format, ...(r.default !== undefined ? { default: r.default } : {}), remotes }, { lineWidth: 0 });
  return '# Remotes of this d2 project, written by \'d2 remote\': where \'d2 push\' and \'d2 pull\' send and\n' +
    '# fetch objects. No credentials here: S3 ones come from the AWS environment variables and files.\n' + body;
}
