/**
 * Source snapshot files, `d2.sources/<source>.yaml`: the committed pointer from git to a
 * source's listing in the object store (the listing itself can hold millions of rows, so it
 * lives in the store, as DVC's `.dir` objects do; git holds this small file and the labels CSV).
 *
 * Invariants: written only by `serializeSnapshot` (fixed key order), so a change of content
 * shows as a change of the `listing` line and the counts, nothing else. A snapshot read from a
 * commit is untrusted (docs/security.md): `parseSnapshot` returns one only when `listing` and
 * `table` are object ids (64 lower-case hex digits) and the counts non-negative integers.
 */
import { stringify } from 'yaml';
import * as z from 'zod';
import { formatIssue, parseYamlWithSchema } from './parse-yaml.js';
import { parsePlainYaml } from './plain-yaml.js';
import { SOURCES_DIR } from './manifest-file.js';
import { oidSchema, sourceNameSchema } from './schema.js';

export { SOURCES_DIR };

export const SNAPSHOT_FORMAT = 1 as const;

export const snapshotSchema = z.strictObject({
  format: z.literal(SNAPSHOT_FORMAT),
  source: sourceNameSchema,
  /** oid of the listing object in the store. */
  listing: oidSchema,
  items: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  labelled: z.number().int().nonnegative(),
  /** Table sources: the oid of the CSV file (the rows' content lives there, not as objects of their own). */
  table: oidSchema.optional(),
  /** Table sources: the CSV's columns. */
  columns: z.array(z.string()).optional(),
});

export type Snapshot = z.output<typeof snapshotSchema>;

export function snapshotPath(source: string): string {
  return `${SOURCES_DIR}/${source}.yaml`;
}

export function labelsPath(source: string): string {
  return `${SOURCES_DIR}/${source}.labels.csv`;
}

export function serializeSnapshot(s: Snapshot): string {
  const body = stringify(
    {
      format: s.format, source: s.source, listing: s.listing, items: s.items, bytes: s.bytes, labelled: s.labelled,
      ...(s.table !== undefined ? { table: s.table } : {}),
      ...(s.columns !== undefined ? { columns: s.columns } : {}),
    },
    { lineWidth: 0 },
  );
  return `# Snapshot of source '${s.source}', written by 'd2 add': do not edit by hand.\n` +
    `# The listing (path, oid, size of every file) is object ${s.listing.slice(0, 12)} in .d2/objects.\n${body}`;
}

/** Parse a snapshot file; throws nothing, returns the problems as printable lines. */
export function parseSnapshot(text: string, file: string): { snapshot?: Snapshot; problems: string[] } {
  // d2's own output, read without the YAML parser (plain-yaml.ts); anything else goes through it
  const plain = snapshotSchema.safeParse(parsePlainYaml(text));
  if (plain.success) return { snapshot: plain.data, problems: [] };
  const { value, issues } = parseYamlWithSchema(text, snapshotSchema);
  if (value && issues.length === 0) return { snapshot: value, problems: [] };
  return { problems: issues.map((i) => formatIssue(file, i)) };
}
