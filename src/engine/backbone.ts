/**
 * A pretrained TensorFlow.js model used as a frozen feature extractor (transfer learning): read
 * its model.json (`describeBackbone`, pure), cut it at a layer — for a graph model, a node — and
 * embed images with it (`openBackbone`), and join a layers model with a d2 head into one layers
 * model for export (`combineWithHead`; a graph model cannot join one).
 *
 * Files are given as a map from the names model.json uses ('model.json' and the paths of its
 * weightsManifest) to bytes: the caller reads them from the store, so this module never reads
 * a file.
 *
 * Invariants:
 * - The backbone is never trained: `embed` runs inference only (Dropout is the identity).
 * - `embed` of an item does not depend on the other items of its call: every item is run on its
 *   own (batch of one), so an embedding cached from one build equals the one another build
 *   would compute (project/embeddings.ts relies on it; a test checks it).
 * - No tensor outlives a call, except the backbone's weights until `dispose`.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { GraphModel, io, LayersModel, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import { BackboneInvalid, throwIfAborted } from '../errors/index.js';
import type { BackboneWorkerData, BackboneWorkerReply } from './backbone-worker.js';
import { selectEngine, type EngineRequest, type Tf } from './engines.js';
import { parseModel } from './model.js';
import { kerasKernel, layersArtifacts, type LayersArtifacts } from './layers-export.js';
import { describeNetwork } from './network.js';

/** The backbone's files: 'model.json' and each weight file, by the name model.json gives it. */
export type BackboneFiles = ReadonlyMap<string, Uint8Array>;

export const BACKBONE_MODEL_JSON = 'model.json';

/** What model.json says about a backbone, read without TensorFlow. */
export interface BackboneTopology {
  /** A layers model, or a graph model (its "layers" are then the graph's node names). */
  format: 'layers' | 'graph';
  /** [height, width, channels]; null where model.json leaves a size open. */
  inputShape: (number | null)[];
  /** Layer names, in model.json's order. */
  layers: string[];
  /**
   * The last layer before the classifier: the trailing Dense/Dropout/Activation/Softmax layers
   * are the classifier. A graph model: the input of its final MatMul (through Softmax, BiasAdd,
   * Add, Identity), undefined when the graph does not end so (`layer` must then be declared).
   */
  defaultLayer: string | undefined;
  /** The weight files model.json names, in order. */
  weightFiles: string[];
}

/** Layers that make up a classifier on top of features (skipped to find the default cut). */
const CLASSIFIER = new Set(['Dense', 'Dropout', 'Activation', 'Softmax', 'AlphaDropout', 'GaussianDropout']);

interface LayerJson {
  class_name?: string;
  name?: string;
  config?: { name?: string; batch_input_shape?: (number | null)[]; batchInputShape?: (number | null)[] };
}

function fail(source: string, why: string, data: Record<string, unknown> = {}, hint?: string): never {
  throw new BackboneInvalid(`backbone '${source}' ${why}`, { data: { backbone: source, ...data }, hint: hint ?? 'give the folder of a TensorFlow.js layers model (model.json and its weight files), e.g. one written by tfjs-converter or d2 export' });
}

/** Read a backbone's model.json (untrusted: checked here, once). */
export function describeBackbone(modelJson: Uint8Array | string, source: string): BackboneTopology {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(typeof modelJson === 'string' ? modelJson : Buffer.from(modelJson).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    fail(source, `has a model.json that is not JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object') fail(source, 'has a model.json that is not an object');
  if (json.format === 'graph-model' || (json.modelTopology as { node?: unknown } | undefined)?.node !== undefined) return describeGraph(json, source);
  const topology = json.modelTopology as Record<string, unknown> | undefined;
  const modelConfig = (topology?.model_config ?? topology) as { class_name?: string; config?: unknown } | undefined;
  const config = modelConfig?.config as { layers?: LayerJson[] } | LayerJson[] | undefined;
  const layers = Array.isArray(config) ? config : config?.layers;
  if (!Array.isArray(layers) || layers.length === 0) fail(source, "has no layers in model.json's modelTopology");
  const names = layers.map((l) => l.config?.name ?? l.name ?? '');
  const first = layers.find((l) => l.class_name === 'InputLayer') ?? layers[0]!;
  const batchShape = first.config?.batch_input_shape ?? first.config?.batchInputShape;
  if (!Array.isArray(batchShape) || batchShape.length !== 4) {
    fail(source, `does not read images: its input shape is ${JSON.stringify(batchShape ?? null)}, expected [batch, height, width, channels]`);
  }
  let cut = layers.length - 1;
  while (cut > 0 && CLASSIFIER.has(layers[cut]!.class_name ?? '')) cut--;
  return { format: 'layers', inputShape: batchShape.slice(1), layers: names, defaultLayer: names[cut]!, weightFiles: weightFilesOf(json, source) };
}

interface GraphNode {
  name?: unknown;
  op?: unknown;
  input?: unknown;
  attr?: { shape?: { shape?: { dim?: { size?: unknown }[]; unknownRank?: boolean } } };
}

/** Ops between a graph's final MatMul and its output (the classifier's bias and activation). */
const GRAPH_CLASSIFIER = new Set(['Softmax', 'Sigmoid', 'BiasAdd', 'Add', 'AddV2', 'Identity']);

/** A node input's node name: 'x:1' and '^x' (a control input) are 'x'. */
function inputNode(spec: string): string {
  return spec.replace(/^\^/, '').replace(/:\d+$/, '');
}

/** A graph model's model.json (tfjs-converter's `graph-model`): its input, node names, default cut. */
function describeGraph(json: Record<string, unknown>, source: string): BackboneTopology {
  const nodes = (json.modelTopology as { node?: unknown }).node;
  if (!Array.isArray(nodes) || nodes.length === 0) fail(source, "is a graph model without nodes in model.json's modelTopology");
  const byName = new Map<string, { op: string; inputs: string[]; node: GraphNode }>();
  for (const n of nodes as GraphNode[]) {
    if (n === null || typeof n !== 'object' || typeof n.name !== 'string' || typeof n.op !== 'string') fail(source, 'is a graph model with a node that has no name or op');
    const inputs = Array.isArray(n.input) ? n.input.filter((i): i is string => typeof i === 'string') : [];
    byName.set(n.name, { op: n.op, inputs, node: n });
  }
  const placeholders = [...byName.entries()].filter(([, n]) => n.op === 'Placeholder');
  if (placeholders.length !== 1) fail(source, `is a graph model with ${placeholders.length} inputs (Placeholder nodes): d2 feeds one image input`, { inputs: placeholders.map(([k]) => k) });
  const dims = placeholders[0]![1].node.attr?.shape?.shape?.dim;
  const shape = Array.isArray(dims) ? dims.map((d) => Number(d?.size ?? -1)) : [];
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d))) {
    fail(source, `does not read images: its input shape is ${JSON.stringify(shape)}, expected [batch, height, width, channels]`);
  }
  // the output: the one node no other node reads (constants aside)
  const read = new Set([...byName.values()].flatMap((n) => n.inputs.map(inputNode)));
  const outputs = [...byName.entries()].filter(([k, n]) => !read.has(k) && n.op !== 'Const' && n.op !== 'NoOp');
  let defaultLayer: string | undefined;
  if (outputs.length === 1) {
    let at = outputs[0]![0];
    for (let steps = 0; steps < 16; steps++) {
      const n = byName.get(at);
      if (!n) break;
      if (n.op === 'MatMul' || n.op === '_FusedMatMul') {
        const x = n.inputs[0] === undefined ? undefined : inputNode(n.inputs[0]);
        if (x !== undefined && byName.get(x)?.op !== 'Const') defaultLayer = x;
        break;
      }
      if (!GRAPH_CLASSIFIER.has(n.op)) break;
      // the activation's or bias's data input: the first one that is not a constant
      const next = n.inputs.map(inputNode).find((i) => byName.get(i)?.op !== 'Const');
      if (next === undefined) break;
      at = next;
    }
  }
  return {
    format: 'graph',
    inputShape: shape.slice(1).map((d) => (d < 0 ? null : d)),
    layers: [...byName.keys()],
    defaultLayer,
    weightFiles: weightFilesOf(json, source),
  };
}

function weightFilesOf(json: Record<string, unknown>, source: string): string[] {
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) fail(source, 'has no weightsManifest in model.json');
  const weightFiles: string[] = [];
  for (const group of manifest as { paths?: unknown }[]) {
    if (!Array.isArray(group?.paths)) fail(source, 'has a weightsManifest group without paths');
    for (const p of group.paths as unknown[]) {
      if (typeof p !== 'string' || p.length === 0) fail(source, 'names a weight file that is not a string');
      weightFiles.push(p);
    }
  }
  return weightFiles;
}

function artifactsOf(files: BackboneFiles, source: string): io.ModelArtifacts {
  const text = files.get(BACKBONE_MODEL_JSON);
  if (!text) fail(source, 'has no model.json');
  const json = JSON.parse(Buffer.from(text).toString('utf8')) as { format?: string; modelTopology: object; weightsManifest: { paths: string[]; weights: io.WeightsManifestEntry[] }[] };
  const parts: Uint8Array[] = [];
  const specs: io.WeightsManifestEntry[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const bytes = files.get(p);
      if (!bytes) fail(source, `names weight file '${p}', which is missing`, { file: p });
      parts.push(bytes);
    }
    specs.push(...group.weights);
  }
  const total = parts.reduce((a, b) => a + b.length, 0);
  const data = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { modelTopology: json.modelTopology, weightSpecs: specs, weightData: data.buffer, ...(json.format === 'graph-model' || (json.modelTopology as { node?: unknown }).node !== undefined ? { format: 'graph-model' } : {}) };
}

async function loadLayers(files: BackboneFiles, source: string, engine: EngineRequest): Promise<LayersModel> {
  const { tf } = await selectEngine(engine);
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifactsOf(files, source)));
  } catch (e) {
    if (e instanceof BackboneInvalid) throw e;
    fail(source, `does not load as a TensorFlow.js layers model: ${(e as Error).message}`, {}, undefined);
  }
}

/** The layer named `layer`, or BackboneInvalid listing the layers there are. */
function outputOf(model: LayersModel, layer: string, source: string): SymbolicTensor {
  const names = model.layers.map((l) => l.name);
  if (!names.includes(layer)) {
    const last = names.slice(-8);
    fail(source, `has no layer '${layer}' (its last layers: ${last.join(', ')})`, { layer, layers: names },
      "name one of its layers in 'model.backbone.layer', or leave 'layer' out to cut before the classifier");
  }
  const out = model.getLayer(layer).output;
  return Array.isArray(out) ? out[0]! : out;
}

export interface OpenBackbone {
  /** [height, width, channels] of one input image. */
  readonly inputShape: number[];
  /** Numbers in one embedding. */
  readonly dims: number;
  /** The engine it runs on (its id is part of the embedding cache key). */
  readonly engine: string;
  /** Embeddings (N × dims) of N images packed in x (N × H × W × C floats, already preprocessed). */
  embed(x: Float32Array, signal?: AbortSignal): Promise<Float32Array>;
  dispose(): void;
}

/**
 * Load a backbone and cut it at `layer`: a feature extractor for images of `inputShape`
 * (checked against the model's own input where model.json fixes it).
 *
 * @example
 * const bb = await openBackbone(files, 'flatten_1', [224, 224, 3], 'backbone');
 * const vectors = await bb.embed(x); // N × bb.dims
 * bb.dispose();
 */
export async function openBackbone(files: BackboneFiles, layer: string, inputShape: number[], source: string, engine: EngineRequest = 'auto'): Promise<OpenBackbone> {
  const { tf, info } = await selectEngine(engine);
  if (isGraph(files, source)) return openGraph(files, layer, inputShape, source, engine);
  const model = await loadLayers(files, source, engine);
  let cut: LayersModel;
  try {
    cut = tf.model({ inputs: model.inputs, outputs: outputOf(model, layer, source) });
  } catch (e) {
    model.dispose();
    throw e;
  }
  const declared = model.inputs[0]!.shape.slice(1);
  if (declared.some((d, i) => d !== null && d !== inputShape[i])) {
    model.dispose();
    fail(source, `expects input [${declared.map((d) => d ?? '?').join(', ')}], but the images are preprocessed to [${inputShape.join(', ')}]`, { expected: declared, got: inputShape },
      "resize to the backbone's size with 'preprocess.image' (or leave the steps out: d2 then derives them from the backbone)");
  }
  const outShape = cut.outputs[0]!.shape.slice(1);
  let dims = 1;
  for (const d of outShape) dims *= d ?? 1;
  return {
    inputShape,
    dims,
    engine: info.id,
    embed: embedEach(tf, (x) => cut.predict(x) as Tensor, inputShape, dims),
    dispose: () => model.dispose(),
  };
}

/**
 * The `embed` of an opened backbone: each item on its own (a vector never depends on the rest
 * of the batch), through `run` (the model up to its cut), yielding to the event loop every 8
 * items so a signal can stop it.
 */
function embedEach(tf: Tf, run: (x: Tensor) => Tensor, inputShape: number[], dims: number): OpenBackbone['embed'] {
  const rowSize = inputShape.reduce((a, b) => a * b, 1);
  return async (x, signal) => {
    const n = x.length / rowSize;
    const out = new Float32Array(n * dims);
    for (let i = 0; i < n; i++) {
      if (signal && i % 8 === 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        throwIfAborted(signal);
      }
      const y = tf.tidy(() => run(tf.tensor(x.subarray(i * rowSize, (i + 1) * rowSize), [1, ...inputShape])).reshape([dims]));
      out.set(y.dataSync() as Float32Array, i * dims);
      y.dispose();
    }
    return out;
  };
}

/** True when the backbone's model.json is a graph model. */
export function isGraph(files: BackboneFiles, source: string): boolean {
  const text = files.get(BACKBONE_MODEL_JSON);
  if (!text) fail(source, 'has no model.json');
  return describeBackbone(text, source).format === 'graph';
}

/**
 * A graph model cut at node `layer`: `execute` up to that node only (TensorFlow.js runs the
 * nodes it needs). Inference only, each item on its own, as for a layers model.
 */
async function openGraph(files: BackboneFiles, layer: string, inputShape: number[], source: string, engine: EngineRequest): Promise<OpenBackbone> {
  const { tf, info } = await selectEngine(engine);
  const topology = describeBackbone(files.get(BACKBONE_MODEL_JSON)!, source);
  if (!topology.layers.includes(layer)) {
    fail(source, `has no node '${layer}' (its last nodes: ${topology.layers.slice(-8).join(', ')})`, { layer, layers: topology.layers },
      "name one of its graph nodes in 'model.backbone.layer' (the input of its classifier)");
  }
  const declared = topology.inputShape;
  if (declared.some((d, i) => d !== null && d !== inputShape[i])) {
    fail(source, `expects input [${declared.map((d) => d ?? '?').join(', ')}], but the images are preprocessed to [${inputShape.join(', ')}]`, { expected: declared, got: inputShape },
      "resize to the backbone's size with 'preprocess.image' (or leave the steps out: d2 then derives them from the backbone)");
  }
  let model: GraphModel;
  try {
    model = await tf.loadGraphModel(tf.io.fromMemory(artifactsOf(files, source)));
  } catch (e) {
    if (e instanceof BackboneInvalid) throw e;
    fail(source, `does not load as a TensorFlow.js graph model: ${(e as Error).message}`);
  }
  const run = (x: Tensor): Tensor => model.execute(x, layer) as Tensor;
  let dims: number;
  try {
    dims = tf.tidy(() => run(tf.zeros([1, ...inputShape])).size);
  } catch (e) {
    model.dispose();
    fail(source, `cannot run up to node '${layer}': ${(e as Error).message}`, { layer });
  }
  return {
    inputShape,
    dims,
    engine: info.id,
    embed: embedEach(tf, run, inputShape, dims),
    dispose: () => model.dispose(),
  };
}

/**
 * Worker threads for embedding many items: one per core (at most 4) on engines that run on one
 * thread (wasm, cpu); none for a native engine, which uses every core itself, or for few items.
 */
export async function embeddingWorkers(engine: EngineRequest, items: number): Promise<number> {
  const { info } = await selectEngine(engine);
  if (info.backend === 'tensorflow' || items < 64) return 0;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return cores > 1 ? Math.min(cores, 4) : 0;
}

/**
 * `openBackbone` over `workers` worker threads (backbone-worker.ts): `embed` splits the items
 * into contiguous parts, one a worker, and joins the vectors in order. Each item is still
 * embedded on its own by the same code, so the vectors equal `openBackbone`'s.
 */
export async function openBackbonePool(files: BackboneFiles, layer: string, inputShape: number[], source: string, engine: EngineRequest, workers: number, workerUrl?: URL): Promise<OpenBackbone> {
  const { info } = await selectEngine(engine);
  const data: BackboneWorkerData = { files: [...files.entries()], layer, inputShape, source, engine: info.name };
  // from dist/engine/ and from the CLI bundle's dist/bundle/ alike (tests give dist's from src/)
  const url = workerUrl ?? new URL('../engine/backbone-worker.js', import.meta.url);
  const threads: { worker: Worker; pending: Map<number, { resolve: (v: Float32Array) => void; reject: (e: Error) => void }> }[] = [];
  let nextId = 0;
  let dims = 0;
  const toError = (r: Extract<BackboneWorkerReply, { type: 'error' }>): Error =>
    r.code === BackboneInvalid.code ? new BackboneInvalid(r.message, { ...(r.data ? { data: r.data } : {}), ...(r.hint !== undefined ? { hint: r.hint } : {}) }) : new Error(`embedding worker failed: ${r.message}`);
  const close = async (): Promise<void> => {
    await Promise.all(threads.map((t) => t.worker.terminate()));
  };
  try {
    await Promise.all(Array.from({ length: workers }, () => new Promise<void>((resolve, reject) => {
      const worker = new Worker(url, { workerData: data });
      const t = { worker, pending: new Map<number, { resolve: (v: Float32Array) => void; reject: (e: Error) => void }>() };
      threads.push(t);
      const failAll = (e: Error): void => {
        reject(e);
        for (const p of t.pending.values()) p.reject(e);
        t.pending.clear();
      };
      worker.on('message', (r: BackboneWorkerReply) => {
        if (r.type === 'ready') {
          dims = r.dims;
          resolve();
        } else if (r.type === 'embedded') {
          t.pending.get(r.id)?.resolve(r.vectors);
          t.pending.delete(r.id);
        } else if (r.id !== undefined) {
          t.pending.get(r.id)?.reject(toError(r));
          t.pending.delete(r.id);
        } else {
          failAll(toError(r));
        }
      });
      worker.on('error', (e) => failAll(new Error(`embedding worker crashed: ${e.message}`, { cause: e })));
    })));
  } catch (e) {
    await close();
    throw e;
  }
  const rowSize = inputShape.reduce((a, b) => a * b, 1);
  return {
    inputShape,
    dims,
    engine: info.id,
    embed: async (x, signal) => {
      throwIfAborted(signal);
      const n = x.length / rowSize;
      const per = Math.ceil(n / threads.length);
      const parts = threads.map((t, i) => {
        const from = Math.min(n, i * per);
        const to = Math.min(n, (i + 1) * per);
        if (from === to) return Promise.resolve(new Float32Array(0));
        const id = nextId++;
        return new Promise<Float32Array>((resolve, reject) => {
          t.pending.set(id, { resolve, reject });
          t.worker.postMessage({ type: 'embed', id, x: x.slice(from * rowSize, to * rowSize) });
        });
      });
      const vectors = await Promise.all(parts);
      const out = new Float32Array(n * dims);
      let at = 0;
      for (const v of vectors) {
        out.set(v, at);
        at += v.length;
      }
      throwIfAborted(signal);
      return out;
    },
    dispose: () => {
      void close();
    },
  };
}

/** A TensorFlow.js layers model as model.json content and one weights file. */
export type CombinedArtifacts = LayersArtifacts;

/**
 * The backbone cut at `layer` and a d2 head ('D2MODEL1' over the embedding) as one layers
 * model: image in (N × H × W × C, preprocessed), class probabilities out. Loads with
 * `tf.loadLayersModel` anywhere TensorFlow.js runs, without d2.
 */
export async function combineWithHead(files: BackboneFiles, layer: string, headBytes: Uint8Array, source: string, weightsFile = 'weights.bin'): Promise<CombinedArtifacts> {
  const { tf } = await selectEngine('auto');
  if (isGraph(files, source)) fail(source, 'is a graph model: it cannot be joined with a head into one layers model', { format: 'graph-model' }, 'a graph backbone runs beside its head (d2 export writes both; loadBundle runs them)');
  const { header, weights } = parseModel(headBytes);
  const net = describeNetwork(header.architecture);
  const model = await loadLayers(files, source, 'auto');
  try {
    let x = outputOf(model, layer, source);
    if (x.shape.length > 2) x = tf.layers.flatten({ name: 'd2_head_flatten' }).apply(x) as SymbolicTensor;
    const last = net.layers.length - 1;
    const dense: { layer: ReturnType<typeof tf.layers.dense>; kernel: Float32Array; bias: Float32Array; shape: [number, number] }[] = [];
    net.layers.forEach((l, i) => {
      if (l.spec.kind !== 'dense') return; // flatten of a vector and dropout are the identity at inference
      const k = net.params[l.kernel!]!;
      const b = net.params[l.bias!]!;
      const [out, inp] = k.shape as [number, number];
      const t = kerasKernel(weights, k);
      const d = tf.layers.dense({ name: `d2_head_${l.name}`, units: l.spec.units, activation: i === last ? 'softmax' : l.spec.activation === 'relu' ? 'relu' : 'linear', useBias: true });
      x = d.apply(x) as SymbolicTensor;
      dense.push({ layer: d, kernel: t, bias: weights.slice(b.offset, b.offset + b.size), shape: [inp, out] });
    });
    for (const d of dense) d.layer.setWeights([tf.tensor(d.kernel, d.shape), tf.tensor(d.bias, [d.shape[1]])]);
    const combined = tf.model({ name: 'd2_backbone_head', inputs: model.inputs, outputs: x });
    return await layersArtifacts(tf, combined, weightsFile);
  } finally {
    model.dispose();
  }
}
