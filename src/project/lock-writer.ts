/**
 * Writing `d2.lock`: the hashes that make the working tree's state reproducible (dataset,
 * preprocessing, model, engine) and its headline metrics, from a build record.
 *
 * Invariants:
 * - d2.lock is written only for the working tree's build, atomically, after the model and its
 *   evaluation are durable objects (the caller holds a stored build record).
 * - A lock that already names the same model (same key, same weights) is kept as it is: only
 *   its build record may differ, e.g. when a clone trains the same model again.
 * - The text is `serializeLock`'s: fixed key order, so an unchanged build rewrites nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LOCK_FILE, parseLock, serializeLock, type Lock } from '../manifest/index.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { describeArchitecture, type BuildRecord, type FoundBuild } from './builds.js';
import type { Project } from './project.js';

/** The d2.lock value that records a build (its record stored as `recordOid`). */
export function lockOf(b: BuildRecord, recordOid: string): Lock {
  return {
    format: 1,
    dataset: b.dataset,
    classes: b.classes,
    preprocess: { modality: b.preprocess.modality, config: b.preprocess.config, derived: b.preprocess.derived, steps: b.preprocess.steps, shape: b.preprocess.shape },
    model: {
      oid: b.model, build: b.key, record: recordOid, preset: b.preset, seed: b.seed, architecture: describeArchitecture(b.architecture),
      ...(b.recipe !== undefined ? { recipe: b.recipe } : {}),
      engine: b.engine, trainer: b.trainer, epochs: b.epochs, stopped: b.stoppedBy,
      ...(b.selection ? { selection: lockSelectionOf(b.selection) } : {}),
    },
    ...(b.backbone ? { backbone: { source: b.backbone.source, oid: b.backbone.oid, layer: b.backbone.layer, dims: b.backbone.dims } } : {}),
    evaluation: b.evaluation,
    metrics: b.metrics,
  };
}

/**
 * The lock's account of a text or table build's choice: the model kept, how, and the score
 * each candidate was compared by (its mean cross-validated loss, or its validation loss).
 */
function lockSelectionOf(sel: NonNullable<BuildRecord['selection']>): NonNullable<Lock['model']['selection']> {
  const cv = sel.method === 'cross-validation';
  const score = (c: 'linear' | 'mlp') => (cv ? sel.candidates[c].cvLoss ?? null : sel.candidates[c].valLoss);
  return {
    chosen: sel.chosen,
    ...(sel.method !== undefined ? { method: sel.method } : {}),
    ...(cv && sel.k !== undefined ? { k: sel.k } : {}),
    linear: score('linear'),
    mlp: score('mlp'),
  };
}

/** Record a build in the working tree's d2.lock; returns whether the file was (re)written. */
export function writeLockFor(project: Project, made: FoundBuild): boolean {
  const text = serializeLock(lockOf(made.build, made.oid));
  const file = path.join(project.root, LOCK_FILE);
  let current: string | undefined;
  try {
    current = fs.readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) return false;
  const theirs = current === undefined ? undefined : parseLock(current).lock;
  const same = theirs?.model.record !== undefined && theirs.model.build === made.build.key && theirs.model.oid === made.build.model &&
    current === serializeLock(lockOf(made.build, theirs.model.record));
  if (same) return false;
  writeFileAtomicSync(file, text);
  return true;
}
