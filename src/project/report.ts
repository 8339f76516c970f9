/**
 * Reports: the data `d2 report` draws, from a project — one state's model on its evaluation
 * items, or two states compared (project/comparison.ts) — with each model's penultimate-layer
 * features (project/predictions.ts, cached) projected to a 2-D map, and the items'
 * thumbnails (project/thumbnails.ts, cached). Pure assembly in core/report-data.ts.
 *
 * Invariants:
 * - A report is never drawn without its models: a side with no model is ModelNotBuilt with
 *   the command that builds it (`build: true` builds it, as `d2 diff --build` does).
 * - The figures are `d2 diff`'s (the same comparison, the same items); a map shows every
 *   evaluation item the model has a feature vector for.
 * - A UMAP map is a function of (seed, build key, items): cached as a `d2-projection`
 *   object named by that hash, so a second report does not recompute it. PCA is not cached
 *   (it takes milliseconds).
 * - Label suspects are read, never computed: the last `d2 review` of the reported revision's
 *   data (a diff's: B's), found by its dataset oid (project/label-issues.ts); without one the
 *   data says so, and the page names the command.
 * - Expects the store lock held (predictions, thumbnails and maps may be cached).
 */
import type { DatasetItem } from '../core/dataset.js';
import { base64ToF32, f32ToBase64 } from '../core/evaluation.js';
import { checkFailOn, type FailRule } from '../core/fail-on.js';
import type { CommonOptions } from '../core/progress.js';
import { pcaMap, umap, type MapMethod, type Projection } from '../core/projection.js';
import { buildReportData, SUSPECTS_SHOWN, type ReportData, type ReportMapInput, type ReportModelInput, type ReportSuspectsInput } from '../core/report-data.js';
import type { EngineRequest } from '../engine/engines.js';
import { ModelNotBuilt, throwIfAborted } from '../errors/index.js';
import type { ObjectStore } from '../store/index.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import type { StateBuild } from './builds.js';
import { compareStates, evaluationItems, findSide, predictSide, type DiffResult, type SidePredictions } from './comparison.js';
import { findReviewOfDataset, isKept, readKept } from './label-issues.js';
import type { Project } from './project.js';
import { thumbnailsFor } from './thumbnails.js';

/** The seed of every UMAP map (a map is a picture, not an experiment: one seed keeps it stable). */
export const UMAP_SEED = 1;

export interface ReportSpec extends CommonOptions {
  /** One revision (a build's report; undefined: the working tree) … */
  rev?: string;
  /** … or two: A and B (a diff's report). */
  range?: { a: string; b: string | undefined };
  on?: string;
  build?: boolean;
  engine?: EngineRequest;
  map?: MapMethod;
  failOn?: readonly FailRule[];
  /** The d2 version, for the page. */
  version: string;
}

export interface MadeReport {
  data: ReportData;
  /** The comparison's result (a diff's report). */
  comparison?: DiffResult;
  /** How each map was made. */
  maps: { model: string; method: MapMethod; points: number; seconds: number; cached: boolean }[];
  /** Thumbnails drawn now (the rest came from the cache). */
  thumbnailsDrawn: number;
}

interface ProjectionObject {
  format: 1;
  kind: 'd2-projection';
  method: MapMethod;
  seed: number;
  build: string;
  oids: string[];
  coords: string;
}

function readProjection(store: ObjectStore, key: string, oids: readonly string[]): Float32Array | undefined {
  const oid = store.state.readPointer('projection', key);
  if (!oid || !store.has(oid)) return undefined;
  try {
    const p = JSON.parse(store.readText(oid)) as ProjectionObject;
    const coords = base64ToF32(p.coords);
    if (p.kind !== 'd2-projection' || p.format !== 1 || p.oids.length !== oids.length || coords.length !== oids.length * 2) return undefined;
    return p.oids.every((o, i) => o === oids[i]) ? coords : undefined;
  } catch {
    return undefined; // a damaged map is only a cache miss
  }
}

/** A model's map over the items it has features for (null coordinates for the others). */
async function mapOf(
  project: Project, buildKey: string, items: readonly DatasetItem[], p: SidePredictions, method: MapMethod, options: CommonOptions & { model: string },
): Promise<{ input: ReportMapInput; points: number; seconds: number; cached: boolean } | undefined> {
  const feats = p.features;
  if (!feats) return undefined;
  const rows: number[] = [];
  feats.forEach((f, i) => { if (f && p.label[i] !== undefined) rows.push(i); });
  if (!rows.length) return undefined;
  const d = feats[rows[0]!]!.length;
  const matrix = new Float32Array(rows.length * d);
  rows.forEach((i, r) => matrix.set(feats[i]!, r * d));
  const started = performance.now();
  let projection: Projection;
  let cached = false;
  if (method === 'umap') {
    const oids = rows.map((i) => items[i]!.oid);
    const key = sha256Hex(canonicalJson({ kind: 'd2-projection-key', method, seed: UMAP_SEED, build: buildKey, oids }));
    const found = readProjection(project.store, key, oids);
    if (found) {
      projection = { method, coords: found };
      cached = true;
    } else {
      projection = await umap(matrix, rows.length, d, {
        seed: UMAP_SEED,
        onEpoch: async (done, total) => {
          options.onProgress?.({ phase: 'map', loaded: done, total, detail: { model: options.model, method } });
          await new Promise((r) => setImmediate(r));
          throwIfAborted(options.signal);
        },
      });
      const object: ProjectionObject = { format: 1, kind: 'd2-projection', method, seed: UMAP_SEED, build: buildKey, oids, coords: f32ToBase64(projection.coords) };
      project.store.state.writePointer('projection', key, project.store.putBytes(JSON.stringify(object)));
    }
  } else {
    projection = pcaMap(matrix, rows.length, d);
  }
  const x: (number | null)[] = new Array(items.length).fill(null);
  const y: (number | null)[] = new Array(items.length).fill(null);
  rows.forEach((i, r) => {
    x[i] = projection.coords[r * 2]!;
    y[i] = projection.coords[r * 2 + 1]!;
  });
  return {
    input: { method, x, y, ...(projection.explained ? { explained: projection.explained } : {}) },
    points: rows.length, seconds: (performance.now() - started) / 1000, cached,
  };
}

function notBuilt(missing: { message: string; command: string }[]): ModelNotBuilt {
  return new ModelNotBuilt(`no report without both models: ${missing.map((m) => m.message).join('; ')}`, {
    data: { missing },
    hint: `run ${missing.map((m) => `'${m.command}'`).join(' and ')}, or give --build`,
  });
}

function modelInput(name: string, s: StateBuild, p: SidePredictions): Omit<ReportModelInput, 'map'> {
  const b = s.build!;
  return {
    name, rev: s.rev ?? null, commit: s.prepared.state.commit, oid: b.build.model, key: b.build.key, preset: b.build.preset, engine: b.build.engine,
    label: p.label, confidence: p.confidence,
  };
}

/** The stored review of a side's data (kept suspects left out), and the items to draw for it. */
async function suspectsOf(project: Project, side: StateBuild): Promise<{ input: ReportSuspectsInput; pictures: DatasetItem[] }> {
  const rev = side.rev ?? null;
  const found = findReviewOfDataset(project.store, side.prepared.datasetOid);
  if (!found) return { input: { rev }, pictures: [] };
  const kept = await readKept(side.prepared.state);
  const shown = found.review.suspects.filter((s) => !isKept(s, kept));
  const byPath = new Map(side.prepared.resolved.items.map((it) => [`${it.source}/${it.path}`, it]));
  const pictures = shown.slice(0, SUSPECTS_SHOWN).map((s) => byPath.get(s.path)).filter((it): it is DatasetItem => it !== undefined);
  return {
    input: { rev, review: { oid: found.oid, items: found.review.items, kept: found.review.suspects.length - shown.length, suspects: shown, noise: found.review.noise } },
    pictures,
  };
}

/** Make a report's data: a build's (`rev`) or a diff's (`range`). Expects the store lock held. */
export async function makeReport(project: Project, spec: ReportSpec): Promise<MadeReport> {
  const method = spec.map ?? 'pca';
  const common = {
    ...(spec.engine ? { engine: spec.engine } : {}),
    ...(spec.signal ? { signal: spec.signal } : {}),
    ...(spec.onProgress ? { onProgress: spec.onProgress } : {}),
  };
  let sides: { name: string; side: StateBuild; p: SidePredictions }[];
  let items: DatasetItem[];
  let evalSide: StateBuild;
  let comparison: DiffResult | undefined;
  if (spec.range) {
    const c = await compareStates(project, {
      a: spec.range.a, b: spec.range.b, build: spec.build === true, features: true, ...common,
      ...(spec.on !== undefined ? { on: spec.on } : {}),
    });
    if (!c.predictions) throw notBuilt(c.result.missing);
    comparison = c.result;
    if (spec.failOn) comparison.checks = checkFailOn(comparison, spec.failOn);
    items = c.items;
    evalSide = c.on;
    sides = [{ name: 'A', side: c.a, p: c.predictions.a }, { name: 'B', side: c.b, p: c.predictions.b }];
  } else {
    const side = await findSide(project, spec.rev, { build: spec.build === true, ...common });
    if (!side.build) {
      throw new ModelNotBuilt(`${spec.rev === undefined ? 'the working tree' : `revision '${spec.rev}'`} has no model in this store`, {
        data: { rev: spec.rev ?? null },
        hint: spec.rev === undefined ? "run 'd2 build'" : `run 'd2 build --rev ${spec.rev}', or give --build`,
      });
    }
    items = evaluationItems(side.prepared);
    evalSide = side;
    sides = [{ name: 'model', side, p: await predictSide(project, side, items, side.prepared, {}, { ...common, features: true }) }];
  }
  const maps: MadeReport['maps'] = [];
  const models: ReportModelInput[] = [];
  for (const s of sides) {
    const m = await mapOf(project, s.side.build!.build.key, items, s.p, method, { ...common, model: s.name });
    if (m) maps.push({ model: s.name, method, points: m.points, seconds: m.seconds, cached: m.cached });
    models.push({ ...modelInput(s.name, s.side, s.p), ...(m ? { map: m.input } : {}) });
  }
  const reviewed = sides[sides.length - 1]!.side;
  const suspects = await suspectsOf(project, reviewed);
  // Pictures of image items only (a table row has none).
  const images = sides.every((s) => s.side.build!.build.preprocess.modality === 'image');
  let thumbnails: Map<string, string | null> | undefined;
  let thumbnailsDrawn = 0;
  if (images) {
    const t = await thumbnailsFor(project, [...items, ...suspects.pictures], { ...common, maxPixels: evalSide.prepared.state.manifest.preprocess.maxPixels });
    thumbnails = t.thumbnails;
    thumbnailsDrawn = t.drawn;
  }
  const data = buildReportData({
    title: spec.range ? `${spec.range.a}..${spec.range.b ?? ''}` : spec.rev ?? 'working tree',
    version: spec.version,
    evaluatedOn: { rev: evalSide.rev ?? null, commit: evalSide.prepared.state.commit },
    items: items.map((it) => ({ path: `${it.source}/${it.path}`, oid: it.oid, truth: it.label, modelTest: it.set === 'modelTest' })),
    models,
    ...(thumbnails ? { thumbnails } : {}),
    ...(comparison ? { data: comparison.data } : {}),
    ...(comparison?.checks ? { checks: comparison.checks } : {}),
    suspects: suspects.input,
  });
  return { data, ...(comparison ? { comparison } : {}), maps, thumbnailsDrawn };
}
