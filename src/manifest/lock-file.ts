/**
 * `d2.lock`: what makes a commit's model reproducible — the hashes of its dataset, its
 * preprocessing and its model, the engine that trained it — and its headline metrics. Written by
 * `d2 build`, committed, read by `d2 log` and `d2 diff` (docs/store-format.md, "d2.lock").
 *
 * Invariant: written only by `serializeLock` (fixed key order), so two builds of the same inputs
 * write the same text (nothing machine- or time-dependent, such as training time, is in it), and a change shows in git as the lines that changed.
 * A d2.lock read from a commit is untrusted (docs/security.md): every oid in it (`dataset`,
 * `preprocess.config`, `model.oid`, `model.build`, `model.record`, `backbone.oid`, `evaluation`) must be exactly
 * 64 lower-case hex digits, or `parseLock` returns no lock and the problems with their lines.
 */
import { stringify } from 'yaml';
import * as z from 'zod';
import { formatIssue, parseYamlWithSchema } from './parse-yaml.js';
import { parsePlainYaml } from './plain-yaml.js';
import { imageStepSchema, oidSchema, PRESETS } from './schema.js';

export const LOCK_FILE = 'd2.lock';
export const LOCK_FORMAT = 1 as const;

const oid = oidSchema;
const setMetrics = z.strictObject({ count: z.number().int(), accuracy: z.number(), macroF1: z.number() });

export const lockSchema = z.strictObject({
  format: z.literal(LOCK_FORMAT),
  dataset: oid,
  classes: z.array(z.string()),
  preprocess: z.strictObject({
    modality: z.enum(['image', 'table', 'text']),
    /** Cache key of the preprocessing (a SHA-256 of its canonical JSON). */
    config: oid,
    /** True when the image steps were derived from the data (not written in d2.yaml). */
    derived: z.boolean(),
    steps: z.array(imageStepSchema),
    shape: z.array(z.number().int()),
  }),
  model: z.strictObject({
    /** The model object (weights, topology, preprocessing) in the store. */
    oid,
    /** Hash of every input of the build: same key, same model. */
    build: oid,
    /** The build record object (how it was trained, its history), so a clone that pulls models can reuse the build. Absent in locks written before remotes. */
    record: oid.optional(),
    preset: z.enum(PRESETS),
    seed: z.number().int(),
    architecture: z.string(),
    /** How it was trained: optimizer, batch, schedule, epochs, augmentation (absent in older locks). */
    recipe: z.string().optional(),
    engine: z.string(),
    trainer: z.string(),
    epochs: z.number().int(),
    /** Why training stopped: early stopping, the epoch limit, the time budget. */
    stopped: z.string(),
    /**
     * Text and table builds: the model kept ('linear' or 'mlp'), how ('validation', or
     * 'cross-validation' with k folds on small data; absent in locks written before: validation)
     * and each candidate's score: its validation loss, or its mean cross-validated loss.
     */
    selection: z.strictObject({
      chosen: z.enum(['linear', 'mlp']),
      method: z.enum(['validation', 'cross-validation']).optional(),
      k: z.number().int().min(2).optional(),
      linear: z.number().nullable(),
      mlp: z.number().nullable(),
    }).optional(),
  }),
  /**
   * Transfer learning: the backbone the head was trained on — where it came from, its record
   * object (every file by hash: the pin), the layer cut at and the embedding's size.
   */
  backbone: z.strictObject({ source: z.string().min(1), oid, layer: z.string().min(1), dims: z.number().int().min(1) }).optional(),
  /** The evaluation object (metrics and per-item predictions). */
  evaluation: oid,
  metrics: z.strictObject({
    validation: setMetrics.optional(),
    test: setMetrics.optional(),
    modelTests: z.strictObject({ count: z.number().int(), passed: z.number().int(), failed: z.array(z.string()) }).optional(),
  }),
});

export type Lock = z.output<typeof lockSchema>;

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function roundOrNull(x: number | null): number | null {
  return x === null ? null : round(x);
}

function serializeSelection(sel: NonNullable<Lock['model']['selection']>): Record<string, unknown> {
  return {
    chosen: sel.chosen,
    ...(sel.method !== undefined ? { method: sel.method } : {}),
    ...(sel.k !== undefined ? { k: sel.k } : {}),
    linear: roundOrNull(sel.linear),
    mlp: roundOrNull(sel.mlp),
  };
}

export function serializeLock(l: Lock): string {
  const m = l.metrics;
  const metrics: Record<string, unknown> = {};
  if (m.validation) metrics.validation = { count: m.validation.count, accuracy: round(m.validation.accuracy), macroF1: round(m.validation.macroF1) };
  if (m.test) metrics.test = { count: m.test.count, accuracy: round(m.test.accuracy), macroF1: round(m.test.macroF1) };
  if (m.modelTests) metrics.modelTests = { count: m.modelTests.count, passed: m.modelTests.passed, failed: m.modelTests.failed };
  const body = stringify({
    format: l.format,
    dataset: l.dataset,
    classes: l.classes,
    preprocess: { modality: l.preprocess.modality, config: l.preprocess.config, derived: l.preprocess.derived, steps: l.preprocess.steps, shape: l.preprocess.shape },
    model: {
      oid: l.model.oid, build: l.model.build, ...(l.model.record !== undefined ? { record: l.model.record } : {}), preset: l.model.preset, seed: l.model.seed, architecture: l.model.architecture,
      ...(l.model.recipe !== undefined ? { recipe: l.model.recipe } : {}),
      engine: l.model.engine, trainer: l.model.trainer, epochs: l.model.epochs, stopped: l.model.stopped,
      ...(l.model.selection ? { selection: serializeSelection(l.model.selection) } : {}),
    },
    ...(l.backbone ? { backbone: { source: l.backbone.source, oid: l.backbone.oid, layer: l.backbone.layer, dims: l.backbone.dims } } : {}),
    evaluation: l.evaluation,
    metrics,
  }, { lineWidth: 0 });
  return `# Written by 'd2 build': what this commit's model was built from, and how it scored.\n# Do not edit; 'd2 build' rewrites it. Objects named here are in .d2/objects.\n${body}`;
}

export function parseLock(text: string, file = LOCK_FILE): { lock?: Lock; problems: string[] } {
  // d2's own output, read without the YAML parser (plain-yaml.ts); anything else goes through it
  const plain = lockSchema.safeParse(parsePlainYaml(text));
  if (plain.success) return { lock: plain.data, problems: [] };
  const { value, issues } = parseYamlWithSchema(text, lockSchema);
  if (value && issues.length === 0) return { lock: value, problems: [] };
  return { problems: issues.map((i) => formatIssue(file, i)) };
}
