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
  const lines = text.split('\n');
  if (lines[0] !== HEADER) throw new Error(`not a d2 listing (first line '${(lines[0] ?? '').slice(0, 40)}')`);
  const out: ListingEntry[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const sp1 = line.indexOf(' ');
    const sp2 = line.indexOf(' ', sp1 + 1);
    if (sp1 !== 64 || sp2 < 0) throw new Error(`listing line ${i + 1} is malformed`);
    const raw = line.slice(sp2 + 1);
    out.push({ oid: line.slice(0, 64), size: Number(line.slice(sp1 + 1, sp2)), path: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw });
  }
  return out;
}
