/**
 * The backbone of a state (`model.backbone` in d2.yaml): its files brought into the object
 * store, pinned by d2.lock, cut at a layer, with the pixel steps it expects. Builds, predict,
 * export and the predictions service get the backbone of a build through here.
 *
 * A backbone is read from a folder (`path`), a URL (`url`) or another d2 build (`build`: its
 * model converted to a layers model once). It is stored as a `d2-backbone` record object,
 * `{ kind, format, files: { name: oid } }`: each
 * file (model.json and the weight files it names) is an object of its own, so the record's oid
 * is a hash of every byte of the backbone, wherever it was read from.
 *
 * Invariants:
 * - Pinning: when the state's d2.lock names a backbone from the same source, the files read
 *   now must hash to the pinned record, or BackboneChanged (nothing is built); only
 *   `updateBackbone` accepts new files. A committed state reads the pinned record from the
 *   store (the files on disk may have moved on since).
 * - A URL is fetched only when the store has no record pinned for it: once. A `path` that does
 *   not exist (a clone that pulled the backbone with `d2 pull`) is the pinned record, when the
 *   store has it.
 * - model.json comes from outside (a download, a clone): the weight file names it gives are
 *   checked to be plain relative paths inside the backbone's folder before any is read.
 * - The layer and input are checked against model.json before any training (BackboneInvalid).
 */
import fs from 'node:fs';
import path from 'node:path';
import { checkRelativePath, isOid } from '../core/safe-path.js';
import type { CommonOptions } from '../core/progress.js';
import { BackboneChanged, BackboneInvalid, BackboneUnreachable, ObjectCorrupt } from '../errors/index.js';
import type { BackboneTopology } from '../engine/backbone.js';
import { LOCK_FILE, MANIFEST_FILE, manifestPosition, parseLock, type BackboneDecl, type ImageStep, type Manifest } from '../manifest/index.js';
import type { ObjectStore } from '../store/index.js';
import { canonicalJson } from '../util/canonical-json.js';
import type { Project } from './project.js';
import type { ProjectState } from './revision.js';

const MODEL_JSON = 'model.json';
/** A d2 bundle's description (api/export.ts): its preprocessing becomes the backbone's. */
const BUNDLE_JSON = 'd2-bundle.json';

/** The stored record of a backbone's files. */
export interface BackboneRecord {
  kind: 'd2-backbone';
  format: 1;
  /** Each file by the name model.json gives it ('model.json' included). */
  files: Record<string, string>;
  /** The image steps of the d2 bundle the backbone is (when it is one). */
  steps?: ImageStep[];
  /** A backbone made from another d2 build (`model.backbone.build`): that build's record oid. */
  build?: string;
}

/** A state's backbone, resolved: what builds key on and what prediction loads. */
export interface ResolvedBackbone {
  /** Where it was declared from: the manifest's `path` or `url`. */
  source: string;
  /** The `d2-backbone` record object. */
  oid: string;
  record: BackboneRecord;
  /** The layer cut at (declared, or the one before the classifier). */
  layer: string;
  /** True when `layer` was found automatically. */
  layerDerived: boolean;
  /** [height, width, channels] of the images it reads. */
  inputShape: number[];
  /** The pixel steps that bring an image to that input (used when d2.yaml declares none). */
  steps: ImageStep[];
}

/** A backbone as a build records it (BuildRecord.backbone, d2.lock's `backbone`). */
export interface BuildBackbone {
  source: string;
  oid: string;
  layer: string;
  /** Numbers in one embedding. */
  dims: number;
}

export function sourceOf(decl: BackboneDecl): string {
  return decl.path ?? decl.url ?? `build:${decl.build!}`;
}

/** A `d2-backbone` record's text, checked (it may come from a remote). */
export function parseBackboneRecord(text: string, oid: string): BackboneRecord {
  let raw: Partial<BackboneRecord>;
  try {
    raw = JSON.parse(text) as Partial<BackboneRecord>;
  } catch {
    raw = {};
  }
  const files = raw.files;
  const ok = raw.kind === 'd2-backbone' && raw.format === 1 && files !== null && typeof files === 'object' && typeof files[MODEL_JSON] === 'string' &&
    (raw.build === undefined || isOid(raw.build)) &&
    Object.values(files).every((v) => isOid(v)) && Object.keys(files).every((k) => k === MODEL_JSON || checkRelativePath(k) === undefined);
  if (!ok) throw new ObjectCorrupt(`backbone record ${oid.slice(0, 12)} is damaged or crafted`, { data: { oid }, hint: "run 'd2 fsck'" });
  return raw as BackboneRecord;
}

/** The backbone record object `oid` from the store. */
export function readBackboneRecord(store: ObjectStore, oid: string): BackboneRecord {
  return parseBackboneRecord(store.readText(oid), oid);
}

/** A backbone's files, by name, from the store. */
export function readBackboneFiles(store: ObjectStore, record: BackboneRecord): Map<string, Uint8Array> {
  return new Map(Object.entries(record.files).map(([name, oid]) => [name, store.read(oid)]));
}

/** What prediction needs of a build's backbone (undefined: the build has none). */
export function backboneOfBuild(store: ObjectStore, build: { backbone?: BuildBackbone; preprocess: { shape: number[] } }): { files: Map<string, Uint8Array>; layer: string; inputShape: number[]; source: string } | undefined {
  const b = build.backbone;
  if (!b) return undefined;
  return { files: readBackboneFiles(store, readBackboneRecord(store, b.oid)), layer: b.layer, inputShape: build.preprocess.shape, source: b.source };
}

/** Store files and their record; the record's oid. */
function storeFiles(store: ObjectStore, files: ReadonlyMap<string, Uint8Array>, steps: ImageStep[] | undefined, build?: string): { oid: string; record: BackboneRecord } {
  const names = [...files.keys()].sort();
  const record: BackboneRecord = { kind: 'd2-backbone', format: 1, files: Object.fromEntries(names.map((n) => [n, store.putBytes(files.get(n)!)])), ...(steps ? { steps } : {}), ...(build ? { build } : {}) };
  return { oid: store.putBytes(canonicalJson(record)), record };
}

/** Weight file names from model.json: plain relative paths, or BackboneInvalid. */
function checkWeightNames(topology: BackboneTopology, source: string): void {
  for (const name of topology.weightFiles) {
    const problem = checkRelativePath(name);
    if (problem !== undefined) {
      throw new BackboneInvalid(`backbone '${source}' names weight file '${name.slice(0, 80)}', which is not a plain relative path (it ${problem})`, { data: { backbone: source, file: name.slice(0, 80) } });
    }
  }
}

/** Read a backbone from a folder (or a model.json file) on disk. */
function readFromDisk(root: string, decl: BackboneDecl, source: string): { files: Map<string, Uint8Array>; steps?: ImageStep[] } {
  const abs = path.resolve(root, decl.path!);
  let dir = abs;
  let modelJson = path.join(abs, MODEL_JSON);
  try {
    if (fs.statSync(abs).isFile()) {
      dir = path.dirname(abs);
      modelJson = abs;
    }
  } catch {
    throw new BackboneInvalid(`backbone '${source}' does not exist`, {
      data: { backbone: source },
      hint: "give 'model.backbone.path' as a folder holding model.json (a d2 bundle's folder works too), or a model.json file",
    });
  }
  let text: Buffer;
  try {
    text = fs.readFileSync(modelJson);
  } catch {
    throw new BackboneInvalid(`backbone '${source}' has no model.json`, { data: { backbone: source }, hint: "give a folder holding a TensorFlow.js model's model.json and weight files" });
  }
  return { files: readWeights(text, source, (name) => fs.readFileSync(path.join(dir, name))), ...bundleSteps(path.join(dir, BUNDLE_JSON)) };
}

function readWeights(modelJson: Uint8Array, source: string, read: (name: string) => Uint8Array): Map<string, Uint8Array> {
  const topology = describe(modelJson, source);
  checkWeightNames(topology, source);
  const files = new Map<string, Uint8Array>([[MODEL_JSON, modelJson]]);
  for (const name of topology.weightFiles) {
    try {
      files.set(name, read(name));
    } catch (e) {
      if (e instanceof BackboneUnreachable) throw e;
      throw new BackboneInvalid(`backbone '${source}' names weight file '${name}', which cannot be read: ${(e as Error).message}`, { data: { backbone: source, file: name } });
    }
  }
  return files;
}

function bundleSteps(file: string): { steps?: ImageStep[] } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  return parseBundleSteps(text);
}

function parseBundleSteps(text: string): { steps?: ImageStep[] } {
  try {
    const b = JSON.parse(text) as { kind?: string; preprocess?: { modality?: string; steps?: ImageStep[] } };
    if (b.kind === 'd2-bundle' && b.preprocess?.modality === 'image' && Array.isArray(b.preprocess.steps)) return { steps: b.preprocess.steps };
  } catch {
    // not a d2 bundle's description: the backbone's own input decides
  }
  return {};
}

// Loaded lazily: reading model.json needs no TensorFlow, but engine/backbone.ts is the module that knows its format.
let describe: (json: Uint8Array | string, source: string) => BackboneTopology;

async function loadDescribe(): Promise<void> {
  describe ??= (await import('../engine/backbone.js')).describeBackbone;
}

/** Fetch a backbone from an https:// URL: model.json, then each weight file beside it. */
async function fetchFromUrl(url: string, signal?: AbortSignal): Promise<{ files: Map<string, Uint8Array>; steps?: ImageStep[] }> {
  const get = async (u: string): Promise<Uint8Array> => {
    let res: Response;
    try {
      res = await fetch(u, { signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(30_000)]) : AbortSignal.timeout(30_000) });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw unreachable(url, String(cause));
    }
    if (!res.ok) throw unreachable(url, `HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };
  const modelJson = await get(url);
  const base = new URL('.', url);
  const files = new Map<string, Uint8Array>();
  const topology = describe(modelJson, url);
  checkWeightNames(topology, url);
  files.set(MODEL_JSON, modelJson);
  for (const name of topology.weightFiles) files.set(name, await get(new URL(name, base).href));
  // a d2 bundle served as it was exported: its preprocessing comes with it (optional)
  let bundle: { steps?: ImageStep[] } = {};
  try {
    bundle = parseBundleSteps(Buffer.from(await get(new URL(BUNDLE_JSON, base).href)).toString('utf8'));
  } catch {
    // not a d2 bundle: the model's own input decides
  }
  return { files, ...bundle };
}

/**
 * A backbone made from another d2 build in the store (`model.backbone.build`: its record's or
 * its model's oid): the build's model as a TensorFlow.js layers model (with its own backbone
 * joined in, when it has one), and the build's image steps. The conversion is deterministic,
 * and the record pinned in d2.lock is used whenever the store has it, so it runs once.
 */
async function readFromBuild(project: Project, state: Pick<ProjectState, 'readText'>, oid: string, source: string): Promise<{ files: Map<string, Uint8Array>; steps: ImageStep[]; build: string }> {
  const { findBuildByOid } = await import('./builds.js'); // lazy: builds.ts reaches this module through prepared.ts
  const found = await findBuildByOid(project, oid);
  if (!found) {
    const text = await state.readText(MANIFEST_FILE);
    const at = text === undefined ? undefined : manifestPosition(text, 'model.backbone.build');
    const where = at ? `${MANIFEST_FILE}:${at.line}:${at.col}: ` : '';
    throw new BackboneInvalid(`${where}'model.backbone.build' names ${oid.slice(0, 12)}, which is no build in the store (neither a build record nor a build's model)`, {
      data: { backbone: source, build: oid },
      hint: "run 'd2 pull --with-models' in this project to bring the builds that d2.lock files name, or build the project it comes from here; give its d2.lock's 'model.record' or 'model.oid'",
    });
  }
  const { build } = found;
  if (build.preprocess.modality !== 'image') {
    throw new BackboneInvalid(`backbone '${source}' is a model of ${build.preprocess.modality === 'table' ? 'table rows' : 'texts'}: a backbone reads images`, {
      data: { backbone: source, modality: build.preprocess.modality },
      hint: "name the build of an image project in 'model.backbone.build'",
    });
  }
  const modelBytes = project.store.read(build.model);
  const inner = backboneOfBuild(project.store, build);
  const layers = inner
    ? await (await import('../engine/backbone.js')).combineWithHead(inner.files, inner.layer, modelBytes, inner.source, 'weights.bin')
    : await (await import('../engine/layers-export.js')).toLayersModel(modelBytes, 'weights.bin');
  const files = new Map<string, Uint8Array>([
    [MODEL_JSON, new TextEncoder().encode(`${JSON.stringify(layers.modelJson)}\n`)],
    [layers.weightsFile, layers.weights],
  ]);
  return { files, steps: build.preprocess.steps, build: found.oid };
}

function unreachable(url: string, cause: string): BackboneUnreachable {
  return new BackboneUnreachable(`backbone '${url}' is unreachable (${cause}); vendor it into the project: download model.json and its weight files into a folder (e.g. models/backbone/) and set 'model.backbone.path' to it`, {
    data: { url, cause },
    hint: "or build once where the URL is reachable: d2.lock then pins it and 'd2 push'/'d2 pull' carry its files",
  });
}

/** The image shape a list of steps produces, where it can be known from the steps alone. */
function stepsOutput(steps: readonly ImageStep[]): { width?: number; height?: number; channels?: number } {
  const out: { width?: number; height?: number; channels?: number } = {};
  for (const s of steps) {
    if (s.resize) {
      out.width = s.resize.width;
      out.height = s.resize.height;
    }
    if (s.crop && 'width' in s.crop) {
      out.width = s.crop.width;
      out.height = s.crop.height;
    }
    if (s.channels !== undefined) out.channels = s.channels;
  }
  return out;
}

/** The steps that bring any image to the backbone's input. */
function inputSteps(shape: number[], range: [number, number]): ImageStep[] {
  const [height, width, channels] = shape as [number, number, number];
  const steps: ImageStep[] = [
    { resize: { width, height, fit: 'cover', kernel: 'bilinear', background: 0 } },
    { channels: channels as 1 | 3 },
  ];
  // pixels arrive in [0, 1]; (x - mean) / std maps them onto [low, high]
  const [low, high] = range;
  if (low !== 0 || high !== 1) steps.push({ normalize: { mean: -low / (high - low), std: 1 / (high - low) } });
  return steps;
}

export interface ResolveBackboneOptions extends CommonOptions {
  /** Accept backbone files that differ from those d2.lock pinned. */
  updateBackbone?: boolean;
}

/**
 * The backbone a state declares, resolved and stored (undefined when it declares none).
 * Expects the store lock held.
 */
export async function resolveBackbone(project: Project, state: Pick<ProjectState, 'commit' | 'manifest' | 'readText'>, options: ResolveBackboneOptions = {}): Promise<ResolvedBackbone | undefined> {
  const decl = state.manifest.model.backbone;
  if (!decl) return undefined;
  await loadDescribe();
  const { store } = project;
  const source = sourceOf(decl);
  const lockText = await state.readText(LOCK_FILE);
  const pinned = lockText === undefined ? undefined : parseLock(lockText).lock?.backbone;
  const pin = pinned?.source === source ? pinned : undefined;
  const pinnedRecord = pin && store.has(pin.oid) ? tryRecord(store, pin.oid) : undefined;
  let oid: string;
  let record: BackboneRecord;
  const absent = decl.path !== undefined && !fs.existsSync(path.resolve(project.root, decl.path));
  if (pinnedRecord && (state.commit !== null || absent || decl.build !== undefined || (decl.url !== undefined && !options.updateBackbone))) {
    // a revision reads what it pinned; a URL is fetched once; a clone that pulled the pinned
    // files needs no copy of the folder; a build (named by its oid, so immutable) is converted
    // once, and a clone with the pinned files needs neither the build nor its model
    oid = pin!.oid;
    record = pinnedRecord;
  } else {
    const read = decl.build !== undefined ? await readFromBuild(project, state, decl.build, source)
      : decl.url !== undefined ? await fetchFromUrl(decl.url, options.signal) : readFromDisk(project.root, decl, source);
    ({ oid, record } = storeFiles(store, read.files, read.steps, (read as { build?: string }).build));
    if (pin && pin.oid !== oid && !options.updateBackbone) {
      const changed = pinnedRecord
        ? [...new Set([...Object.keys(pinnedRecord.files), ...Object.keys(record.files)])].filter((n) => pinnedRecord.files[n] !== record.files[n]).sort()
        : Object.keys(record.files).sort();
      throw new BackboneChanged(`backbone '${source}' changed since d2.lock pinned it: ${changed.join(', ')} differ${changed.length === 1 ? 's' : ''}`, {
        data: { backbone: source, pinned: pin.oid, found: oid, files: changed },
        hint: "restore the pinned files, or accept the new ones with 'd2 build --update-backbone'",
      });
    }
  }
  const topology = describe(store.read(record.files[MODEL_JSON]!), source);
  // a d2 build is cut where its own feature vectors are (predictFeatures): before its last layer
  const layer = decl.layer ?? (record.build !== undefined && topology.layers.length > 1 ? topology.layers.at(-2)! : topology.defaultLayer);
  if (layer === undefined) {
    throw new BackboneInvalid(`backbone '${source}' is a graph model whose classifier d2 cannot find (no final MatMul before its output): name the node to cut at`, {
      data: { backbone: source, layers: topology.layers.slice(-8) },
      hint: `set 'model.backbone.layer' to the graph node whose output is the features (its last nodes: ${topology.layers.slice(-8).join(', ')})`,
    });
  }
  if (!topology.layers.includes(layer)) {
    const what = topology.format === 'graph' ? 'node' : 'layer';
    throw new BackboneInvalid(`backbone '${source}' has no ${what} '${layer}' (its last ${what}s: ${topology.layers.slice(-8).join(', ')})`, {
      data: { backbone: source, layer, layers: topology.layers },
      hint: "name one of its layers in 'model.backbone.layer', or leave 'layer' out to cut before the classifier",
    });
  }
  const fromBundle = record.steps ? stepsOutput(record.steps) : {};
  const [h, w, c] = topology.inputShape;
  const height = decl.input?.height ?? h ?? fromBundle.height;
  const width = decl.input?.width ?? w ?? fromBundle.width;
  const channels = decl.input?.channels ?? c ?? fromBundle.channels ?? 3;
  if (height == null || width == null) {
    throw new BackboneInvalid(`backbone '${source}' leaves its input size open: declare it`, {
      data: { backbone: source },
      hint: "set 'model.backbone.input.width' and 'height' in d2.yaml (the size it was trained at, e.g. 224)",
    });
  }
  if ((h != null && h !== height) || (w != null && w !== width) || (c != null && c !== channels)) {
    throw new BackboneInvalid(`backbone '${source}' reads ${h}×${w}×${c} images, not the ${height}×${width}×${channels} of 'model.backbone.input'`, {
      data: { backbone: source, expected: [h, w, c], declared: [height, width, channels] },
      hint: "remove 'model.backbone.input' sizes (d2 reads them from model.json)",
    });
  }
  const inputShape = [height, width, channels];
  const declared = state.manifest.preprocess.image;
  if (declared) checkDeclaredSteps(declared, inputShape, source);
  const steps = record.steps && decl.input?.range === undefined ? record.steps : inputSteps(inputShape, decl.input?.range ?? [0, 1]);
  return { source, oid, record, layer, layerDerived: decl.layer === undefined, inputShape, steps };
}

function tryRecord(store: ObjectStore, oid: string): BackboneRecord | undefined {
  try {
    const r = readBackboneRecord(store, oid);
    return Object.values(r.files).every((f) => store.has(f)) ? r : undefined;
  } catch {
    return undefined;
  }
}

/** d2.yaml's own image steps must give the backbone's input size. */
function checkDeclaredSteps(steps: readonly ImageStep[], inputShape: number[], source: string): void {
  const out = stepsOutput(steps);
  const [height, width, channels] = inputShape as [number, number, number];
  const problems: string[] = [];
  if (out.width === undefined || out.height === undefined) problems.push(`no 'resize' to ${width}×${height}`);
  else if (out.width !== width || out.height !== height) problems.push(`they resize to ${out.width}×${out.height}, the backbone reads ${width}×${height}`);
  if (out.channels !== undefined && out.channels !== channels) problems.push(`they give ${out.channels} channel${out.channels === 1 ? '' : 's'}, the backbone reads ${channels}`);
  if (problems.length) {
    throw new BackboneInvalid(`the image steps of 'preprocess.image' do not fit backbone '${source}': ${problems.join('; ')}`, {
      data: { backbone: source, expected: inputShape, steps },
      hint: `resize to width ${width}, height ${height} with ${channels} channel${channels === 1 ? '' : 's'}, or remove 'preprocess.image' (d2 then derives the steps from the backbone)`,
    });
  }
}

/** The manifest's model section as a build key sees it: the backbone by content, not by path. */
export function backboneKeyOf(b: ResolvedBackbone | undefined): { oid: string; layer: string } | undefined {
  return b ? { oid: b.oid, layer: b.layer } : undefined;
}

/** For d2 data / d2 build: the steps a backbone state packs with when d2.yaml declares none. */
export function backboneSteps(manifest: Manifest, b: ResolvedBackbone | undefined): ImageStep[] | undefined {
  return b && !manifest.preprocess.image ? b.steps : undefined;
}
