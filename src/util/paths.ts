/**
 * Path helpers. Paths d2 records are POSIX (forward slashes) and relative to the project root;
 * these helpers turn platform paths into that form and answer containment questions.
 */
import path from 'node:path';

export function toPosix(p: string): string {
  return path.sep === '/' ? p : p.split(path.sep).join('/');
}

/** True when `child` is `parent` itself or lies below it (both absolute, already resolved). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The POSIX path of `target` relative to `root`; '.' for the root itself. */
export function relativePosix(root: string, target: string): string {
  const rel = toPosix(path.relative(root, target));
  return rel === '' ? '.' : rel;
}
