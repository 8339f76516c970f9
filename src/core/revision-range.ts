/**
 * Revision ranges in git's notation: 'A..B' names two revisions (an empty side is HEAD, as in
 * git). Pure: parsing only; the revisions are resolved by the revision reader.
 */
import { InvalidArgument } from '../errors/index.js';

/** 'A..B' → { from: A, to: B }; a plain revision → undefined; 'A...B' is refused. */
export function parseRange(text: string): { from: string; to: string } | undefined {
  if (!text.includes('..')) return undefined;
  if (text.includes('...')) throw new InvalidArgument(`'${text}': d2 diff takes 'A..B', not 'A...B'`, { data: { range: text } });
  const [x, y] = text.split('..', 2) as [string, string];
  return { from: x || 'HEAD', to: y || 'HEAD' };
}
