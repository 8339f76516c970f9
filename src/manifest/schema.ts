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

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const perChannel = z.union([z.number(), z.array(z.number()).min(1).max(4)]);

/**
 * One image preprocessing step: a mapping with exactly one of these keys. Steps run in the
 * order written; pixels are then scaled to [0, 1] floats and `normalize`d if asked.
 */
export const imageStepSchema = z
  .strictObject({
    /** Rotate/flip by the EXIF orientation (default: on, as the first step). */
    autoOrient: z.boolean().optional(),
    /** A fixed rectangle in pixels, or the central fraction of each side. */
    crop: z.union([
      z.strictObject({ left: int(0, 1 << 20), top: int(0, 1 << 20), width: int(1, 1 << 20), height: int(1, 1 << 20) }),
      z.strictObject({ center: z.number().gt(0).max(1) }),
    ]).optional(),
    resize: z.strictObject({
      width: int(1, 4096),
      height: int(1, 4096),
      /** fill: stretch; cover: scale then crop the overflow (centred); contain: scale then pad. */
      fit: z.enum(['fill', 'cover', 'contain']).default('fill'),
      kernel: z.enum(['nearest', 'bilinear', 'bicubic']).default('bilinear'),
      /** Grey level 0–255 of the padding for `fit: contain`. */
      background: int(0, 255).default(0),
    }).optional(),
    /** 1: grayscale (luma), 3: RGB, 4: RGBA. */
    channels: z.union([z.literal(1), z.literal(3), z.literal(4)]).optional(),
    /** (x - mean) / std per channel, on pixels already scaled to [0, 1]. */
    normalize: z.strictObject({ mean: perChannel.default(0), std: perChannel.default(1) }).optional(),
  })
  .refine((s) => Object.values(s).filter((v) => v !== undefined).length === 1, {
    message: 'each step has exactly one of: autoOrient, crop, resize, channels, normalize',
  });

export const preprocessSchema = z.strictObject({
  /** Image steps, in order. Omitted: derived from the data at build time and written to d2.lock. */
  image: z.array(imageStepSchema).optional(),
  /** Images with more pixels than this are refused (decompression bombs). */
  maxPixels: int(1, 1 << 30).default(50_000_000),
});

export const manifestSchema = z.strictObject({
  version: z.literal(MANIFEST_VERSION),
  sources: z.record(sourceNameSchema, sourceSchema).default({}),
  preprocess: preprocessSchema.default({ maxPixels: 50_000_000 }),
});

/** What the user wrote (before defaults). */
export type ManifestInput = z.input<typeof manifestSchema>;
/** The manifest with every default applied; what the rest of d2 reads. */
export type Manifest = Readonly<z.output<typeof manifestSchema>>;
export type SourceDecl = z.output<typeof sourceSchema>;
export type ImageStep = z.output<typeof imageStepSchema>;
export type PreprocessDecl = z.output<typeof preprocessSchema>;

/** The manifest's JSON Schema (docs/d2.schema.json, for editors), generated from the zod schema. */
export function manifestJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(manifestSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://d2.invalid/d2.schema.json', title: 'd2.yaml (d2 manifest, format version 1)' };
}
