/**
 * Remote URLs, as written in `d2.remotes.yaml` and given to `d2 remote add`:
 * `s3://bucket`, `s3://bucket/some/prefix`, an absolute path, a path relative to the project,
 * or `file:///abs/path`. Pure: nothing is looked up or created here.
 *
 * Invariants: an S3 prefix has no leading or trailing slash and no empty, '.' or '..' segment,
 * so `<prefix>/objects/…` is the one key of an object; a folder path is absolute and normalised
 * once a project root is known. Anything else is refused with InvalidArgument naming the
 * accepted forms, never guessed at.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgument } from '../errors/index.js';

export type ParsedRemoteUrl = { kind: 's3'; bucket: string; prefix: string } | { kind: 'folder'; path: string };

const FORMS = "s3://bucket, s3://bucket/prefix, an absolute or project-relative folder path, or file:///absolute/path";

function invalid(url: string, why: string): InvalidArgument {
  return new InvalidArgument(`remote URL '${url}' ${why}`, { data: { url }, hint: `use ${FORMS}` });
}

/** S3's bucket naming rules (general purpose buckets). */
function bucketProblem(bucket: string): string | undefined {
  if (bucket.length < 3 || bucket.length > 63) return `has bucket name '${bucket}', which is not 3 to 63 characters long`;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket)) {
    return `has bucket name '${bucket}': use lower-case letters, digits, '.' and '-', starting and ending with a letter or digit`;
  }
  if (bucket.includes('..')) return `has bucket name '${bucket}', with two adjacent periods`;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return `has bucket name '${bucket}', formatted as an IP address`;
  return undefined;
}

/**
 * Parse a remote URL. Relative folder paths are resolved against `projectRoot` when given,
 * else returned normalised but relative.
 */
export function parseRemoteUrl(url: string, projectRoot?: string): ParsedRemoteUrl {
  if (url.trim() === '') throw invalid(url, 'is empty');
  if (url !== url.trim()) throw invalid(url, 'has leading or trailing spaces');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  // 'C:\data' is a Windows path, not a URL with scheme 'c'.
  const isDrive = scheme !== undefined && scheme.length === 1 && /^[a-zA-Z]:[\\/]/.test(url);
  if (scheme === 's3') {
    const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(url);
    if (!m) throw invalid(url, "does not start with 's3://'");
    const bucket = m[1]!;
    if (bucket === '') throw invalid(url, 'names no bucket');
    const problem = bucketProblem(bucket);
    if (problem) throw invalid(url, problem);
    const prefix = (m[2] ?? '').replace(/\/+$/, '');
    if (prefix !== '' && prefix.split('/').some((s) => s === '' || s === '.' || s === '..')) {
      throw invalid(url, "has a prefix with an empty, '.' or '..' segment");
    }
    if (/[\\?#]/.test(prefix) || /[\u0000-\u001f\u007f]/.test(prefix)) throw invalid(url, "has a prefix with '\\', '?', '#' or a control character");
    return { kind: 's3', bucket, prefix };
  }
  if (scheme === 'file') {
    let p: string;
    try {
      p = fileURLToPath(url);
    } catch (e) {
      throw invalid(url, `is not a valid file URL (${(e as Error).message})`);
    }
    return { kind: 'folder', path: path.resolve(p) };
  }
  if (scheme !== undefined && !isDrive) {
    throw invalid(url, `has scheme '${scheme}:', which d2 cannot use as a remote`);
  }
  if (path.isAbsolute(url)) return { kind: 'folder', path: path.resolve(url) };
  return { kind: 'folder', path: projectRoot === undefined ? path.normalize(url) : path.resolve(projectRoot, url) };
}

/** How a remote is named in messages: 's3://bucket/prefix' or the folder's path. */
export function formatLocation(parsed: ParsedRemoteUrl): string {
  if (parsed.kind === 'folder') return parsed.path;
  return parsed.prefix === '' ? `s3://${parsed.bucket}` : `s3://${parsed.bucket}/${parsed.prefix}`;
}
