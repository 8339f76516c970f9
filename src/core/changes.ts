/**
 * What changed between two states of a source: files (by path and oid) and labels.
 * A data structure, rendered elsewhere (DVC's hashfile/diff). Pure.
 *
 * A file whose path disappeared while the same content appeared under another path is a
 * rename, not a delete plus an add; a rename that changes the parent folder of a
 * dirname-labelled source is how ImageFolder users relabel. Inputs are listings, sorted by
 * path (`sortListing`); outputs are sorted the same way.
 */
import { compareStrings } from '../util/compare.js';
import type { ListingEntry } from './listing.js';

export interface FileChanges {
  added: string[];
  modified: string[];
  deleted: string[];
  renamed: { from: string; to: string }[];
}

export interface Relabel {
  path: string;
  from: string | null;
  to: string | null;
  /** Set when the item also moved: its path before (ImageFolder users relabel by moving). */
  previousPath?: string;
}

export function diffFiles(before: readonly ListingEntry[], after: readonly ListingEntry[]): FileChanges {
  // Both sides are listings sorted by path: one merge pass, no maps for the common case.
  const added: ListingEntry[] = [];
  const deleted: ListingEntry[] = [];
  const modified: string[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const b = before[i];
    const a = after[j];
    const order = b === undefined ? 1 : a === undefined ? -1 : compareStrings(b.path, a.path);
    if (order === 0) {
      if (b!.oid !== a!.oid) modified.push(a!.path);
      i++;
      j++;
    } else if (order < 0) {
      deleted.push(b!);
      i++;
    } else {
      added.push(a!);
      j++;
    }
  }
  // A deleted path whose content reappears under a new path is a rename.
  const deletedByOid = new Map<string, string[]>();
  for (const d of deleted) {
    const list = deletedByOid.get(d.oid);
    if (list) list.push(d.path); else deletedByOid.set(d.oid, [d.path]);
  }
  const renamed: { from: string; to: string }[] = [];
  const renamedFrom = new Set<string>();
  const plainAdded: string[] = [];
  for (const e of added) {
    const from = deletedByOid.get(e.oid)?.shift();
    if (from !== undefined) {
      renamed.push({ from, to: e.path });
      renamedFrom.add(from);
    } else {
      plainAdded.push(e.path);
    }
  }
  return {
    added: plainAdded,
    modified,
    deleted: deleted.map((d) => d.path).filter((p) => !renamedFrom.has(p)),
    renamed,
  };
}

/**
 * Label changes of the items present on both sides (`paths`): an item that is new or gone is
 * a file change, not a relabel.
 */
export function diffLabels(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
  paths: Iterable<string>,
  renamed: readonly { from: string; to: string }[] = [],
): Relabel[] {
  const out: Relabel[] = [];
  for (const path of paths) {
    const from = before.get(path) ?? null;
    const to = after.get(path) ?? null;
    if (from !== to) out.push({ path, from, to });
  }
  for (const r of renamed) {
    const from = before.get(r.from) ?? null;
    const to = after.get(r.to) ?? null;
    if (from !== to) out.push({ path: r.to, from, to, previousPath: r.from });
  }
  return out.sort((a, b) => compareStrings(a.path, b.path));
}

export function isEmptyFileChanges(c: FileChanges): boolean {
  return c.added.length + c.modified.length + c.deleted.length + c.renamed.length === 0;
}
