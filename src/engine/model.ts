/**
 * Trained models as bytes, and prediction from them on any engine.
 *
 * Format 'D2MODEL1' (the container of container.ts): header
 *   { format: 1, architecture, params: [{ name, shape }], training: { engine, preset, seed,
 *     epochs, bestEpoch } }
 * and one array, `weights`: every parameter in `params` order, flat, float32 (TensorFlow
 * layouts: conv kernels [kh, kw, in, out] as TensorFlow, dense kernels [out, in] as PyTorch). The architecture is d2's
 * own layer list (plan.ts), so any engine can rebuild the network from it.
 *
 * Invariants: a model predicts with the same forward pass it was trained and evaluated with
 * (network.ts); `predict` returns probabilities (softmax of the logits), N × numClasses,
 * row-major; predicting disposes every tensor it creates.
 */
import type { Tensor } from '@tensorflow/tfjs';
import { InvalidArgument, throwIfAborted } from '../errors/index.js';
import { decodeContainer, encodeContainer } from './container.js';
import { selectEngine, type EngineInfo, type EngineRequest } from './engines.js';
import { describeNetwork, predictProbabilities, predictWithFeatures, type NetworkShape } from './network.js';
import type { Architecture } from './plan.js';
import type { BackboneFiles, OpenBackbone } from './backbone.js';

export const MODEL_MAGIC = 'D2MODEL1';

export interface ModelTrainingInfo {
  engine: string;
  preset: string;
  seed: number;
  /** Epochs run. */
  epochs: number;
  /** The epoch (0-based) whose weights were kept. */
  bestEpoch: number;
}

export interface ModelHeader {
  format: 1;
  architecture: Architecture;
  params: { name: string; shape: number[] }[];
  training: ModelTrainingInfo;
}

export function serializeModel(architecture: Architecture, weights: Float32Array, training: ModelTrainingInfo): Uint8Array {
  const net = describeNetwork(architecture);
  if (weights.length !== net.paramCount) throw new Error(`internal: ${weights.length} weights for a network of ${net.paramCount}`);
  const header: Omit<ModelHeader, 'blobs'> = {
    format: 1,
    architecture,
    params: net.params.map((p) => ({ name: p.name, shape: p.shape })),
    training,
  };
  return encodeContainer(MODEL_MAGIC, header as unknown as Record<string, unknown>, [['weights', weights]]);
}

const posInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 1;

/** Why `a` is not an architecture d2 can rebuild, or null. */
function architectureProblem(a: unknown): string | null {
  if (a === null || typeof a !== 'object') return 'not an object';
  const arch = a as Partial<Architecture>;
  if (arch.family !== 'cnn' && arch.family !== 'mlp') return `unknown family '${String(arch.family)}'`;
  if (!Array.isArray(arch.inputShape) || !arch.inputShape.length || !arch.inputShape.every(posInt)) return 'bad input shape';
  if (!posInt(arch.numClasses) || (arch.numClasses as number) < 2) return 'bad class count';
  if (!Array.isArray(arch.layers) || !arch.layers.length) return 'no layers';
  for (const l of arch.layers as unknown[]) {
    const layer = l as Record<string, unknown> | null;
    const kind = layer?.kind;
    const ok = kind === 'conv2d' ? posInt(layer!.filters) && posInt(layer!.kernel) && (layer!.padding === 'valid' || layer!.padding === 'same')
      : kind === 'maxPool' ? posInt(layer!.size)
        : kind === 'flatten' ? true
          : kind === 'dense' ? posInt(layer!.units) && (layer!.activation === 'relu' || layer!.activation === 'linear')
            : kind === 'dropout' ? typeof layer!.rate === 'number' && (layer!.rate as number) >= 0 && (layer!.rate as number) < 1
              : false;
    if (!ok) return `bad layer ${JSON.stringify(l)}`;
  }
  const last = arch.layers.at(-1)!;
  if (last.kind !== 'dense' || last.units !== arch.numClasses) return 'the last layer does not give one logit per class';
  return null;
}

export function parseModel(bytes: Uint8Array): { header: ModelHeader; weights: Float32Array } {
  const { header, blobs } = decodeContainer(bytes, MODEL_MAGIC, 'model');
  if (header.format !== 1) throw new InvalidArgument(`d2 model format ${String(header.format)} is not supported (expected 1)`);
  const h = header as unknown as ModelHeader;
  const problem = architectureProblem(h.architecture);
  if (problem) throw new InvalidArgument(`d2 model has an invalid architecture: ${problem}`);
  let net: NetworkShape;
  try {
    net = describeNetwork(h.architecture);
  } catch (e) {
    throw new InvalidArgument('d2 model has an invalid architecture', { cause: e });
  }
  const weights = blobs.get('weights');
  if (!weights || weights.length !== net.paramCount) throw new InvalidArgument(`d2 model has ${weights?.length ?? 0} weights, its architecture needs ${net.paramCount}`);
  return { header: h, weights };
}

export interface LoadedModel {
  readonly header: ModelHeader;
  readonly engine: EngineInfo;
  readonly numClasses: number;
  /** What `predict` is fed: the head's input, or the backbone's image shape when there is one. */
  readonly inputShape: number[];
  /** Transfer learning: the frozen feature extractor run before the head (engine/backbone.ts). */
  readonly backbone?: OpenBackbone;
  /** Release the model's tensors. */
  dispose(): void;
  /** @internal */
  readonly params: Tensor[];
  /** @internal */
  readonly net: NetworkShape;
}

/**
 * Load a model for prediction on an engine (default: the fastest available).
 *
 * @example
 * const model = await loadModel(bytes);
 * const probs = await predict(model, x); // x: Float32Array of N × H × W × C
 * model.dispose();
 */
export async function loadModel(bytes: Uint8Array, options: { engine?: EngineRequest; backbone?: { files: BackboneFiles; layer: string; inputShape: number[]; source: string } } = {}): Promise<LoadedModel> {
  const { header, weights } = parseModel(bytes);
  const { tf, info } = await selectEngine(options.engine ?? 'auto');
  const net = describeNetwork(header.architecture);
  let backbone: OpenBackbone | undefined;
  if (options.backbone) {
    const b = options.backbone;
    backbone = await (await import('./backbone.js')).openBackbone(b.files, b.layer, b.inputShape, b.source, info.name);
    const headInput = header.architecture.inputShape.reduce((a, c) => a * c, 1);
    if (backbone.dims !== headInput) {
      backbone.dispose();
      throw new InvalidArgument(`the backbone's layer '${b.layer}' gives ${backbone.dims} numbers, the head reads ${headInput}`);
    }
  }
  const params = net.params.map((p) => tf.tensor(weights.subarray(p.offset, p.offset + p.size), p.shape));
  return {
    header,
    engine: info,
    numClasses: header.architecture.numClasses,
    inputShape: backbone ? [...backbone.inputShape] : [...header.architecture.inputShape],
    ...(backbone ? { backbone } : {}),
    params,
    net,
    dispose: () => {
      for (const t of params) t.dispose();
      backbone?.dispose();
    },
  };
}

/** The head's input: x as given, or its embeddings when the model has a backbone. */
async function headInput(model: LoadedModel, x: Float32Array, signal?: AbortSignal): Promise<Float32Array> {
  return model.backbone ? model.backbone.embed(x, signal) : x;
}

/** The head's input shape (the model's own architecture). */
function headShape(model: LoadedModel): number[] {
  return model.header.architecture.inputShape;
}

/** Class probabilities for N items packed in x (N × product(inputShape)), N × numClasses. */
export async function predict(model: LoadedModel, x: Float32Array, options: { batchSize?: number; signal?: AbortSignal } = {}): Promise<Float32Array> {
  const { tf } = await selectEngine(model.engine.name);
  const rowSize = model.inputShape.reduce((a, b) => a * b, 1);
  if (!(x instanceof Float32Array) || x.length % rowSize !== 0) {
    throw new InvalidArgument(`predict needs a Float32Array of N × ${rowSize} numbers (input shape [${model.inputShape.join(', ')}]), got ${x?.length ?? 0}`);
  }
  const n = x.length / rowSize;
  const k = model.numClasses;
  const out = new Float32Array(n * k);
  const chunk = options.batchSize ?? 256;
  const inputShape = headShape(model);
  const headRow = inputShape.reduce((a, b) => a * b, 1);
  x = await headInput(model, x, options.signal);
  for (let start = 0; start < n; start += chunk) {
    if (options.signal) {
      // Between chunks the event loop runs (a Ctrl-C's handler), and an abort stops here.
      await new Promise<void>((resolve) => setImmediate(resolve));
      throwIfAborted(options.signal);
    }
    const end = Math.min(n, start + chunk);
    const rows = end - start;
    const p = tf.tidy(() => {
      const xs = tf.tensor(x.subarray(start * headRow, end * headRow), model.net.layers[0]?.spec.kind === 'flatten' ? [rows, headRow] : [rows, ...inputShape]);
      return predictProbabilities(tf, model.net, model.params, { x: xs });
    });
    out.set(p.dataSync() as Float32Array, start * k);
    p.dispose();
  }
  return out;
}

/**
 * Class probabilities (N × numClasses) and penultimate-layer feature vectors (N × D, D =
 * `features` in the result) for N items packed in x. Probabilities equal `predict`'s.
 */
export async function predictFeatures(model: LoadedModel, x: Float32Array, options: { batchSize?: number } = {}): Promise<{ probs: Float32Array; features: Float32Array; dims: number }> {
  const { tf } = await selectEngine(model.engine.name);
  const rowSize = model.inputShape.reduce((a, b) => a * b, 1);
  if (!(x instanceof Float32Array) || x.length % rowSize !== 0) {
    throw new InvalidArgument(`predictFeatures needs a Float32Array of N × ${rowSize} numbers (input shape [${model.inputShape.join(', ')}]), got ${x?.length ?? 0}`);
  }
  const n = x.length / rowSize;
  const k = model.numClasses;
  const probs = new Float32Array(n * k);
  let features = new Float32Array(0);
  let dims = 0;
  const chunk = options.batchSize ?? 256;
  const inputShape = headShape(model);
  const headRow = inputShape.reduce((a, b) => a * b, 1);
  x = await headInput(model, x);
  for (let start = 0; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    const rows = end - start;
    const out = tf.tidy(() => {
      const xs = tf.tensor(x.subarray(start * headRow, end * headRow), model.net.layers[0]?.spec.kind === 'flatten' ? [rows, headRow] : [rows, ...inputShape]);
      return predictWithFeatures(tf, model.net, model.params, { x: xs });
    });
    if (start === 0) {
      dims = out.features.shape[1];
      features = new Float32Array(n * dims);
    }
    probs.set(out.probs.dataSync() as Float32Array, start * k);
    features.set(out.features.dataSync() as Float32Array, start * dims);
    out.probs.dispose();
    out.features.dispose();
  }
  return { probs, features, dims };
}
