/**
 * The schema of `d2.yaml`, format version 1: the single source of truth for what the manifest
 * may contain. `docs/manifest.md` documents every key and `docs/d2.schema.json` is generated
 * from this file (a test keeps it current).
 *
 * Invariants: objects are strict (an unknown key is an error, never ignored); every default is
 * applied here, so code downstream of `parseManifest` never sees a missing optional value.
 */
import { z } from 'zod';

export const MANIFEST_VERSION = 1 as const;

/** Source names become file names under `d2.sources/`, so they are kept portable. */
export const SOURCE_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export const sourceNameSchema = z
  .string()
  .regex(SOURCE_NAME_PATTERN, 'a source name uses lower-case letters, digits, ".", "_" and "-" (at most 64, starting with a letter or digit)');

/** How `d2 add` finds the label of each file of a source. */
export const labelRuleSchema = z
  .string()
  .refine((s) => s === 'dirname' || /\.csv$/i.test(s), {
    message: "expected 'dirname' (the parent folder's name) or the path of a CSV file with columns path,label",
  });

export const sourceSchema = z.strictObject({
  /** Folder of raw files, relative to the project root (POSIX). */
  path: z.string().min(1, 'expected a folder path'),
  /** 'dirname' or a CSV path; omitted means the items are unlabelled. */
  labels: labelRuleSchema.optional(),
});

export const manifestSchema = z.strictObject({
  version: z.literal(MANIFEST_VERSION),
  sources: z.record(sourceNameSchema, sourceSchema).default({}),
});

/** What the user wrote (before defaults). */
export type ManifestInput = z.input<typeof manifestSchema>;
/** The manifest with every default applied; what the rest of d2 reads. */
export type Manifest = Readonly<z.output<typeof manifestSchema>>;
export type SourceDecl = z.output<typeof sourceSchema>;
