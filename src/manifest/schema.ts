/**
 * The schema of `d2.yaml`, format version 1: the single source of truth for what the manifest
 * may contain. `docs/manifest.md` documents every key and `docs/d2.schema.json` is generated
 * from this file (a test keeps it current).
 *
 * Invariants: objects are strict (an unknown key is an error, never ignored); every default is
 * applied here, so code downstream of `parseManifest` never sees a missing optional value.
 */
import * as z from 'zod';
import { OID_PATTERN } from '../core/safe-path.js';

export const MANIFEST_VERSION = 1 as const;

/**
 * An object id in a committed file (snapshot, d2.lock): exactly 64 lower-case hex digits, so a
 * crafted value (`../../x`, upper case, 63 digits) is an issue at its line, never a file name.
 */
export const oidSchema = z.string().regex(OID_PATTERN, 'expected an object id (64 lower-case hex digits)');

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

export const SPLITS = ['train', 'validation', 'test'] as const;
export const splitSchema = z.enum(SPLITS);
export type Split = z.output<typeof splitSchema>;

export const sourceSchema = z.strictObject({
  /** Folder of raw files, or a .csv file whose rows are items (a table source); relative to the project root (POSIX), inside the project unless `external`. */
  path: z.string().min(1, 'expected a folder path'),
  /** The source (its folder, or its labels CSV) is outside the project, given by an absolute path or one with '..'; without it both must be inside. */
  external: z.boolean().optional(),
  /** 'dirname' or a CSV path; omitted means the items are unlabelled. Folder sources only. */
  labels: labelRuleSchema.optional(),
  /** Table sources: the column holding each row's label. */
  labelColumn: z.string().min(1).optional(),
  /** Table sources: a column that names each row (its item path); default: the row's content hash. */
  idColumn: z.string().min(1).optional(),
  /** A pool to label later (`d2 add --unlabelled`): its items start with no label, and having none is not a problem. Not with `labels` or `labelColumn`. */
  unlabelled: z.boolean().optional(),
  /** Table sources: the column holding each row's text, which makes its rows text items (preprocess.text). */
  textColumn: z.string().min(1).optional(),
  /** Folder sources: 'text' for a folder of text files (.txt, .md…), each file one item; default 'image'. */
  modality: z.enum(['image', 'text']).optional(),
  /** Put every item of this source in one split (an official test set, say) instead of splitting it by hash. */
  split: splitSchema.optional(),
});

/** A source whose `path` is a CSV or JSON Lines file: its rows are its items. */
export function isTableSource(decl: { path: string }): boolean {
  return /\.(csv|jsonl)$/i.test(decl.path);
}

/** A source whose items are texts: a folder with `modality: text`, or a table with a `textColumn`. */
export function isTextSource(decl: { path: string; textColumn?: string | undefined; modality?: 'image' | 'text' | undefined }): boolean {
  return isTableSource(decl) ? decl.textColumn !== undefined : decl.modality === 'text';
}

const fraction = z.number().min(0).max(1);

export const datasetSchema = z.strictObject({
  /** Sources in the dataset (default: every source). */
  include: z.array(sourceNameSchema).min(1).optional(),
  /** Sources left out. */
  exclude: z.array(sourceNameSchema).default([]),
  filter: z
    .strictObject({
      /** Keep only items whose '<source>/<path>' matches one of these globs. */
      paths: z.array(z.string().min(1)).min(1).optional(),
      /** Drop items whose '<source>/<path>' matches one of these globs. */
      excludePaths: z.array(z.string().min(1)).default([]),
      /** Keep only items with these labels (after labelMap). */
      labels: z.array(z.string().min(1)).min(1).optional(),
      /** Drop items with these labels (after labelMap). */
      excludeLabels: z.array(z.string().min(1)).default([]),
    })
    .default({ excludePaths: [], excludeLabels: [] }),
  /** Rename labels (old: new), merge them (several old: one new), or drop a class (old: null). */
  labelMap: z.record(z.string().min(1), z.string().min(1).nullable()).default({}),
  /** Fractions of the items split by content hash; sources with a `split` are not split. */
  split: z
    .strictObject({ seed: z.number().int().min(0).max(2 ** 32 - 1).default(0), train: fraction, validation: fraction, test: fraction })
    .refine((s) => Math.abs(s.train + s.validation + s.test - 1) < 1e-9, { message: 'train + validation + test must add up to 1' })
    .default({ seed: 0, train: 0.8, validation: 0.1, test: 0.1 }),
  /** A CSV (path,label; path as '<source>/<path in source>') of items with the label they must get: always held out of training. Inside the project. */
  modelTests: z.string().regex(/\.csv$/i, 'expected the path of a .csv file').optional(),
  /** Let identical content sit in two splits (normally the build refuses: it is leakage). */
  allowLeakage: z.boolean().default(false),
  /** What to do with an item that cannot be preprocessed: stop with an error, or skip it and list it. */
  onBadItem: z.enum(['error', 'skip']).default('error'),
});

export const DATASET_DEFAULTS = datasetSchema.parse({});

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

/** How table rows become feature vectors (statistics are computed on the train split only). */
export const tableSchema = z.strictObject({
  /** Feature columns (default: every column but the label and id columns). */
  features: z.array(z.string().min(1)).min(1).optional(),
  /** Columns one-hot encoded (default: the feature columns with a non-numeric value in train). */
  categorical: z.array(z.string().min(1)).optional(),
  /** Numeric scaling: standard ((x - mean) / std), minmax (to [0, 1]) or none. */
  scale: z.enum(['standard', 'minmax', 'none']).default('standard'),
  missing: z
    .strictObject({
      /** An empty numeric cell becomes the train mean, median or 0 — or is an error. */
      numeric: z.enum(['mean', 'median', 'zero', 'error']).default('mean'),
      /** An empty categorical cell is its own category, the most frequent one — or an error. */
      categorical: z.enum(['category', 'mode', 'error']).default('category'),
    })
    .default({ numeric: 'mean', categorical: 'category' }),
});

const ngramRange = z.tuple([int(1, 16), int(1, 16)]).refine(([lo, hi]) => lo <= hi, { message: 'expected [min, max] with min <= max' });

/** How texts become feature vectors (the vocabulary and IDF weights are fitted on the train split only). */
export const textSchema = z.strictObject({
  /** Unicode normalisation before anything else: NFKC (compatibility forms folded) or none. */
  normalize: z.enum(['nfkc', 'none']).default('nfkc'),
  /** Lower-case the text (locale-independent). */
  lowercase: z.boolean().default(true),
  /** Word n-grams [min, max] (words: runs of 2+ letters or digits), or null for none. */
  words: ngramRange.nullable().default([1, 1]),
  /** Character n-grams [min, max] inside each word (padded with a space), or null for none. */
  chars: ngramRange.nullable().default(null),
  /** vocabulary: the `dimensions` terms in most training items; hashing: `dimensions` hash buckets. */
  features: z.enum(['vocabulary', 'hashing']).default('vocabulary'),
  /** Columns of the model's input (vocabulary size, or number of hash buckets). */
  dimensions: int(2, 1 << 20).default(4096),
  /** Vocabulary: keep a term only when it is in at least this many training items. */
  minCount: int(1, 1 << 30).default(1),
  /** Term frequency: the count (raw) or 1 + ln(count) (log); then × IDF, L2-normalised. */
  tf: z.enum(['raw', 'log']).default('raw'),
  /** Long texts: windows of this many words (overlapping by `overlap`), encoded apart and averaged per item. */
  chunk: z.strictObject({ words: int(2, 1 << 24), overlap: int(0, 1 << 24).default(0) })
    .refine((c) => c.overlap < c.words, { message: "'overlap' must be smaller than 'words'" })
    .nullable().default(null),
  /** A text larger than this many bytes is a bad item. */
  maxBytes: int(1, 1 << 30).default(10_000_000),
}).refine((t) => t.words !== null || t.chars !== null, { message: "give word n-grams ('words') or character n-grams ('chars'), or both" });

/**
 * Which transforms keep an image's label, so training may show images moved or mirrored
 * (never at evaluation or prediction). Only the data manager knows whether a mirrored item
 * keeps its class (a shoe does; a '6' and a left arrow do not): mirrors are off unless listed.
 */
export const augmentSchema = z.strictObject({
  /** Small translations (a few pixels) keep labels: on by default for images. */
  translate: z.boolean().default(true),
  /** Mirrors that keep labels: 'horizontal' (left-right), 'vertical' (top-bottom). */
  flip: z.array(z.enum(['horizontal', 'vertical'])).default([]).refine((f) => new Set(f).size === f.length, { message: 'a flip is listed twice' }),
});

export const preprocessSchema = z.strictObject({
  /** Table sources: how rows become features. */
  table: tableSchema.default(() => tableSchema.parse({})),
  /** Text sources: how texts become features. */
  text: textSchema.default(() => textSchema.parse({})),
  /** Image steps, in order. Omitted: derived from the data at build time and written to d2.lock. */
  image: z.array(imageStepSchema).optional(),
  /** Images: transforms that keep labels, applied to training images only (default: small translations). */
  augment: augmentSchema.optional(),
  /** Images with more pixels than this are refused (decompression bombs). */
  maxPixels: int(1, 1 << 30).default(50_000_000),
});

/** '90s', '15m', '1h30m' or a number of seconds. */
export const durationSchema = z.union([
  z.number().positive(),
  z.string().regex(/^(\d+h)?(\d+m)?(\d+s)?$/, "expected a duration such as '90s', '15m' or '1h30m'").refine((v) => v.length > 0, 'expected a duration'),
]);

export function durationSeconds(d: number | string): number {
  if (typeof d === 'number') return d;
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(d)!;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

export const PRESETS = ['fast', 'default', 'thorough'] as const;

/**
 * A pretrained TensorFlow.js model whose features a small head is trained on (transfer
 * learning, docs/backbone.md). Its files are copied into the store and pinned by hash in
 * d2.lock; a changed file is an error, never a silent new model.
 */
export const backboneSchema = z
  .strictObject({
    /** A folder holding model.json (a d2 bundle's folder too), or a model.json file; relative to the project, inside it unless `external`. */
    path: z.string().min(1).optional(),
    /** An https:// URL of a model.json: fetched once, its files pinned by hash in d2.lock. */
    url: z.string().regex(/^https:\/\/[^\s]+$/, 'expected an https:// URL of a model.json').optional(),
    /** Another d2 build by its oid (d2.lock's `model.record` or `model.oid`): its model, cut before its last layer, with its preprocessing. */
    build: z.string().regex(/^[0-9a-f]{64}$/, "expected a build's oid: 64 lower-case hex digits (d2.lock's 'model.record' or 'model.oid' of the build)").optional(),
    /** The backbone's `path` is outside the project (an absolute path or one with '..'). */
    external: z.boolean().optional(),
    /** The layer (a graph model: the node) whose output is the embedding (default: the one before the model's classifier, written to d2.lock). */
    layer: z.string().min(1).optional(),
    /** What the backbone expects; size and channels default to its model.json's input shape. */
    input: z
      .strictObject({
        width: int(1, 4096).optional(),
        height: int(1, 4096).optional(),
        channels: z.union([z.literal(1), z.literal(3)]).optional(),
        /** The pixel value range it was trained on: [0, 1] (x / 255) or e.g. [-1, 1]. */
        range: z.tuple([z.number(), z.number()]).refine((r) => r[0] < r[1], 'expected [low, high] with low < high').optional(),
      })
      .optional(),
  })
  .refine((b) => [b.path, b.url, b.build].filter((v) => v !== undefined).length === 1, { message: "a backbone has exactly one of 'path', 'url' and 'build'" });


/** The model: no learning-rate or batch-size knobs; d2 chooses (docs/training.md). */
export const modelSchema = z.strictObject({
  /** fast: a quick baseline; default: good accuracy; thorough: larger model, more epochs. */
  preset: z.enum(PRESETS).default('default'),
  /** Seeds weight initialisation, shuffling and dropout: same inputs and seed, same model. */
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
  /** Stop training after this long (the epochs run are recorded; results then depend on the machine's speed). */
  timeBudget: durationSchema.optional(),
  /** Transfer learning: train a small head on this pretrained model's features (docs/backbone.md). */
  backbone: backboneSchema.optional(),
});

export const manifestSchema = z.strictObject({
  version: z.literal(MANIFEST_VERSION),
  sources: z.record(sourceNameSchema, sourceSchema).default({}),
  dataset: datasetSchema.default(() => datasetSchema.parse({})),
  preprocess: preprocessSchema.default(() => preprocessSchema.parse({})),
  model: modelSchema.default(() => modelSchema.parse({})),
});

/** What the user wrote (before defaults). */
export type ManifestInput = z.input<typeof manifestSchema>;
/** The manifest with every default applied; what the rest of d2 reads. */
export type Manifest = Readonly<z.output<typeof manifestSchema>>;
export type SourceDecl = z.output<typeof sourceSchema>;
export type ImageStep = z.output<typeof imageStepSchema>;
export type DatasetDecl = z.output<typeof datasetSchema>;
export type PreprocessDecl = z.output<typeof preprocessSchema>;
export type TableDecl = z.output<typeof tableSchema>;
export type TextDecl = z.output<typeof textSchema>;
export type ModelDecl = z.output<typeof modelSchema>;
export type BackboneDecl = z.output<typeof backboneSchema>;
export type Preset = (typeof PRESETS)[number];

/** The manifest's JSON Schema (docs/d2.schema.json, for editors), generated from the zod schema. */
export function manifestJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(manifestSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://d2.invalid/d2.schema.json', title: 'd2.yaml (d2 manifest, format version 1)' };
}
