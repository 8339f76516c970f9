/**
 * `d2 suggest`: what to label next. The unlabelled items of the working tree's sources are run
 * through the current build's model (its own preprocessing, through the predictions service,
 * which caches probabilities and penultimate-layer features per (model, item)), ranked by an
 * uncertainty score (margin by default) combined with diversity in the model's feature space
 * (core/active-learning.ts), plus a few confident predictions per class as a sanity check.
 *
 * Invariants: nothing is written to the working tree; unlabelled items are never trained or
 * evaluated on; the same model, items, strategy and seed give the same suggestions (ties
 * broken by item id); `random` is the honest baseline.
 */
import type { DatasetItem } from '../core/dataset.js';
import { planSuggestions, type SuggestReason, type SuggestStrategy } from '../core/active-learning.js';
import { InvalidArgument, SourceNotFound } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import { serializeDecisionsCsv } from '../manifest/decisions-file.js';
import { serializeLabelStudioTasks } from '../manifest/label-studio.js';
import { findModelBuild } from '../project/builds.js';
import { predictItems } from '../project/predictions.js';
import { prepareData } from '../project/prepared.js';
import { runVerb, type VerbOptions } from './verb.js';

export const SUGGEST_STRATEGIES: readonly SuggestStrategy[] = ['margin', 'entropy', 'random'];

export interface SuggestOptions extends VerbOptions {
  /** How many items to suggest (default 20), before the sanity checks. */
  n?: number;
  /** Only the unlabelled items of this source (default: every source). */
  source?: string;
  /** 'margin' (default), 'entropy' or 'random' (the baseline). */
  strategy?: SuggestStrategy;
  /** Confident predictions per class added as a sanity check (default 2; 0: none). */
  checksPerClass?: number;
  /** Seed of the `random` strategy (default: the manifest's model seed). */
  seed?: number;
  engine?: EngineRequest;
}

export interface Suggestion {
  /** '<source>/<path>' of the item. */
  path: string;
  source: string;
  /** The raw file, relative to the project's root (POSIX). */
  file: string;
  /** The item's oid. */
  item: string;
  /** The model's prediction and its probability. */
  predicted: string;
  confidence: number;
  /** The strategy's score (uncertainty in [0, 1], or the random draw). */
  score: number;
  reason: SuggestReason;
  /** Why it was chosen, in words. */
  why: string;
}

export interface SuggestResult {
  /** The model that ranked the items: its object, build record and the commit whose d2.lock names it. */
  model: { oid: string; build: string; commit: string | null };
  strategy: SuggestStrategy;
  /** The model's classes. */
  classes: string[];
  /** Unlabelled items considered. */
  pool: number;
  /** The picks, most useful first; then the sanity checks (`reason: 'confident-check'`). */
  suggestions: Suggestion[];
  /** Unlabelled items the model could not be run on (they cannot be preprocessed with its steps). */
  failed: { path: string; message: string }[];
  /** Items the model was run on now (0 when every output was cached). */
  computedNow: number;
}

/**
 * Rank the unlabelled items: which to label next so the next build improves most.
 *
 * @example
 * const r = await suggest({ dir: 'my-dataset', n: 50 });
 * for (const s of r.suggestions) console.log(s.path, s.predicted, s.why);
 */
export async function suggest(options: SuggestOptions = {}): Promise<SuggestResult> {
  const n = options.n ?? 20;
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgument(`option 'n' must be a whole number >= 0, not ${n}`, { data: { option: 'n' } });
  const strategy = options.strategy ?? 'margin';
  if (!SUGGEST_STRATEGIES.includes(strategy)) {
    throw new InvalidArgument(`unknown strategy '${strategy}' (expected one of: ${SUGGEST_STRATEGIES.join(', ')})`, { data: { option: 'strategy' } });
  }
  const checks = options.checksPerClass ?? 2;
  if (!Number.isInteger(checks) || checks < 0) throw new InvalidArgument(`option 'checksPerClass' must be a whole number >= 0, not ${checks}`, { data: { option: 'checksPerClass' } });
  return runVerb('d2.suggest', options, { lock: 'd2 suggest' }, async (project) => {
    if (options.source !== undefined && !project.manifest.sources[options.source]) {
      throw new SourceNotFound(`no source named '${options.source}' in d2.yaml`, { data: { source: options.source }, hint: `sources: ${Object.keys(project.manifest.sources).sort().join(', ')}` });
    }
    const found = await findModelBuild(project, { ...(options.engine ? { engine: options.engine } : {}) });
    const prepared = await prepareData(project, { preprocess: false, ...(options.signal ? { signal: options.signal } : {}) });
    const pool = prepared.resolved.unlabelled.filter((u) => options.source === undefined || u.source === options.source);
    const base = { model: { oid: found.build.model, build: found.oid, commit: found.commit }, strategy, classes: found.build.classes, pool: pool.length };
    if (pool.length === 0) return { ...base, suggestions: [], failed: [], computedNow: 0 };
    const items: DatasetItem[] = pool.map((u) => ({ ...u, label: '', set: 'test' }));
    const out = await predictItems(project, found.build, items, prepared, {
      features: strategy !== 'random',
      ...(options.engine ? { engine: options.engine } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const k = found.build.classes.length;
    const ok = items.map((_, i) => i).filter((i) => out.probs[i] !== undefined && (strategy === 'random' || out.features?.[i] !== undefined));
    const probs = new Float32Array(ok.length * k);
    ok.forEach((i, row) => probs.set(out.probs[i]!, row * k));
    let features: Float32Array | undefined;
    if (strategy !== 'random' && ok.length) {
      const dims = out.features![ok[0]!]!.length;
      features = new Float32Array(ok.length * dims);
      ok.forEach((i, row) => features!.set(out.features![i]!, row * dims));
    }
    const picks = planSuggestions({
      ids: ok.map((i) => items[i]!.oid), probs, numClasses: k, ...(features ? { features } : {}),
      n, strategy, seed: options.seed ?? prepared.state.manifest.model.seed, sanityPerClass: checks, classes: found.build.classes,
    });
    const suggestions = picks.map((p): Suggestion => {
      const it = items[ok[p.index]!]!;
      return {
        path: `${it.source}/${it.path}`, source: it.source, file: `${project.manifest.sources[it.source]!.path}/${it.path}`, item: it.oid, predicted: found.build.classes[p.predicted]!, confidence: p.confidence,
        score: p.score, reason: p.reason, why: p.why,
      };
    });
    return { ...base, suggestions, failed: out.failed.map((f) => ({ path: f.path, message: f.message })), computedNow: out.computedNow };
  });
}

/**
 * Suggestions as the task file Label Studio imports (image classification; the model's
 * prediction is a pre-annotation; the item id travels in `data.d2_item`, so `d2 label --from`
 * can apply the export). `imageUrl` turns an item path (relative to the project) into a URL
 * Label Studio can load; by default its local-files storage URL.
 *
 * @example
 * const tasks = labelStudioTasks(await suggest({ dir: 'my-dataset' }));
 */
export function labelStudioTasks(result: SuggestResult, imageUrl: (file: string) => string = (f) => `/data/local-files/?d=${encodeURI(f)}`): string {
  return serializeLabelStudioTasks(result.suggestions.map((s) => ({
    id: s.item, image: imageUrl(s.file), path: s.path, predicted: { label: s.predicted, score: s.confidence }, modelVersion: `d2 ${result.model.oid.slice(0, 7)}`,
  })));
}

/**
 * Suggestions as a decisions CSV (`path,label,decision,predicted,confidence,why`), the label
 * prefilled with the model's prediction, for someone to correct in a spreadsheet and bring back
 * with `d2 label --from`. Paths are '<source>/<path>'.
 */
export function suggestionsCsv(result: SuggestResult): string {
  return serializeDecisionsCsv(result.suggestions.map((s) => ({
    path: s.path, label: s.predicted, predicted: s.predicted, confidence: Number(s.confidence.toFixed(4)), why: s.why,
  })));
}
