/**
 * Where objects live on a remote: `objects/<oid[0:2]>/<oid[2:]>` below the remote's base, the
 * local store's own layout (docs/store-format.md). Pure.
 *
 * Invariant: only a well-formed oid (64 lower-case hex digits) is turned into a name, so no
 * caller mistake can address a file or key outside `objects/`.
 */
import { InvalidArgument } from '../errors/index.js';
import { compareStrings } from '../util/compare.js';

export const OBJECTS = 'objects';
/** Asking about at most this many oids: one HEAD/stat each; more: list the shards that hold them. */
export const FEW_OIDS = 32;

const OID = /^[0-9a-f]{64}$/;

export function assertOid(oid: string): void {
  if (!OID.test(oid)) {
    throw new InvalidArgument(`'${oid}' is not an object id`, { data: { oid }, hint: 'an object id is 64 lower-case hex digits (SHA-256)' });
  }
}

/** `objects/ab/cdef…`, POSIX separators. */
export function objectRelPath(oid: string): string {
  assertOid(oid);
  return `${OBJECTS}/${oid.slice(0, 2)}/${oid.slice(2)}`;
}

/** Wanted oids grouped by shard (`ab`), each group sorted; shards in order. Duplicates dropped. */
export function groupByShard(oids: readonly string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const oid of new Set(oids)) {
    assertOid(oid);
    const shard = oid.slice(0, 2);
    let g = groups.get(shard);
    if (!g) groups.set(shard, (g = []));
    g.push(oid);
  }
  for (const g of groups.values()) g.sort(compareStrings);
  return new Map([...groups.entries()].sort((a, b) => compareStrings(a[0], b[0])));
}
