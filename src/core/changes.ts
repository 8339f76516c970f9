/**
 * What changed between two states of a source: files (by path and oid) and labels.
 * A data structure, rendered elsewhere (DVC's hashfile/diff). Pure.
 *
 * A file whose path disappeared while the same content appeared under another path is a
 * rename, not a delete plus an add; a rename that changes the parent folder of a
 * dirname-labelled source is how ImageFolder users relabel.
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

export function diffFiles(before: Iterable<ListingEntry>, after: Iterable<ListingEntry>): FileChanges {
  const old = new Map<string, string>();
  for (const e of before) old.set(e.path, e.oid);
  const added: ListingEntry[] = [];
  const modified: string[] = [];
  const seen = new Set<string>();
  for (const e of after) {
    seen.add(e.path);
    const prev = old.get(e.path);
    if (prev === undefined) added.push(e);
    else if (prev !== e.oid) modified.push(e.path);
  }
  const deletedByOid = new Map<string, string[]>();
  const deleted: string[] = [];
  for (const [path, oid] of old) {
    if (seen.has(path)) continue;
    deleted.push(path);
    const list = deletedByOid.get(oid);
    if (list) list.push(path); else deletedByOid.set(oid, [path]);
  }
  const renamed: { from: string; to: string }[] = [];
  const renamedFrom = new Set<string>();
  const plainAdded: string[] = [];
  for (const e of added) {
    const candidates = deletedByOid.get(e.oid);
    const from = candidates?.shift();
    if (from !== undefined) {
      renamed.push({ from, to: e.path });
      renamedFrom.add(from);
    } else {
      plainAdded.push(e.path);
    }
  }
  return {
    added: plainAdded.sort(compareStrings),
    modified: modified.sort(compareStrings),
    deleted: deleted.filter((p) => !renamedFrom.has(p)).sort(compareStrings),
    renamed: renamed.sort((a, b) => compareStrings(a.to, b.to)),
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
