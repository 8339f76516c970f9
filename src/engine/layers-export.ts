/**
 * A d2 model as a TensorFlow.js layers model (model.json + one weights file), for runtimes that
 * have TensorFlow.js but not d2: a browser, a server without d2. The network is rebuilt from
 * d2's layer list with standard Keras layers; the last layer gets a softmax, so the layers
 * model outputs probabilities as d2's `predict` does.
 *
 * Layouts: conv kernels are already [kh, kw, in, out] (TensorFlow's); d2's dense kernels are
 * [out, in] and are transposed to Keras's [in, out]. Flatten is NHWC in both. Dropout is the
 * identity at inference in both.
 *
 * Invariant: the layers model computes the same function as d2's forward pass; its results
 * agree to float32 rounding (different kernels, so not bit for bit; tests bound the gap).
 */
import { InvalidArgument } from '../errors/index.js';
import type { io, LayersModel, Tensor } from '@tensorflow/tfjs';
import { loadTf, type Tf } from './engines.js';
import { parseModel } from './model.js';
import { describeNetwork } from './network.js';

export interface LayersArtifacts {
  /** The model.json content (topology + weightsManifest pointing at `weightsFile`). */
  modelJson: Record<string, unknown>;
  /** The weights file's bytes (float32, little-endian, in weightsManifest order). */
  weights: Uint8Array;
  weightsFile: string;
}

/** Convert model bytes ('D2MODEL1') to a TensorFlow.js layers model. */
export async function toLayersModel(modelBytes: Uint8Array, weightsFile = 'weights.bin'): Promise<LayersArtifacts> {
  const { header, weights } = parseModel(modelBytes);
  const tf = await loadTf();
  if (!tf.getBackend()) await tf.setBackend('cpu');
  const arch = header.architecture;
  const net = describeNetwork(arch);
  const model = tf.sequential({ name: 'd2' }); // a fixed name: the same model gives the same model.json
  const last = net.layers.length - 1;
  const values: Float32Array[] = [];
  let added = 0;
  net.layers.forEach((l, i) => {
    const spec = l.spec;
    const first = added === 0 ? { inputShape: arch.inputShape } : {};
    const name = l.name;
    // Keras's Flatten needs a rank-3+ input; over a feature vector (an MLP on table rows) it is the identity
    if (spec.kind === 'flatten' && added === 0 && arch.inputShape.length === 1) return;
    added++;
    if (spec.kind === 'conv2d') {
      model.add(tf.layers.conv2d({ ...first, name, filters: spec.filters, kernelSize: spec.kernel, padding: spec.padding, activation: 'relu', useBias: true }));
      const k = net.params[l.kernel!]!;
      const b = net.params[l.bias!]!;
      values.push(weights.subarray(k.offset, k.offset + k.size), weights.subarray(b.offset, b.offset + b.size));
    } else if (spec.kind === 'maxPool') {
      model.add(tf.layers.maxPooling2d({ ...first, name, poolSize: spec.size, strides: spec.size, padding: 'valid' }));
    } else if (spec.kind === 'flatten') {
      model.add(tf.layers.flatten({ ...first, name }));
    } else if (spec.kind === 'dense') {
      model.add(tf.layers.dense({ ...first, name, units: spec.units, activation: i === last ? 'softmax' : spec.activation === 'relu' ? 'relu' : 'linear', useBias: true }));
      const b = net.params[l.bias!]!;
      values.push(kerasKernel(weights, net.params[l.kernel!]!), weights.subarray(b.offset, b.offset + b.size));
    } else if (spec.kind === 'dropout') {
      model.add(tf.layers.dropout({ ...first, name, rate: spec.rate }));
    } else {
      throw new InvalidArgument(`cannot export layer kind '${(spec as { kind: string }).kind}'`);
    }
  });
  const vars = model.weights;
  if (vars.length !== values.length) throw new Error(`internal: ${vars.length} layer weights for ${values.length} arrays`);
  model.setWeights(vars.map((v, i) => tf.tensor(values[i]!, v.shape as number[])));
  try {
    return await layersArtifacts(tf, model, weightsFile);
  } finally {
    model.dispose();
  }
}

/** A dense kernel of d2's layout ([out, in]) in Keras's ([in, out]). */
export function kerasKernel(weights: Float32Array, k: { offset: number; size: number; shape: readonly number[] }): Float32Array {
  const [out, inp] = k.shape as [number, number];
  const t = new Float32Array(k.size);
  for (let o = 0; o < out; o++) for (let j = 0; j < inp; j++) t[j * out + o] = weights[k.offset + o * inp + j] as number;
  return t;
}

/** A built layers model saved in memory: model.json content and one weights file. */
export async function layersArtifacts(tf: Tf, model: LayersModel, weightsFile: string): Promise<LayersArtifacts> {
  let saved: io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
  }));
  const a = saved!;
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tf.version['tfjs-layers'] ?? tf.version.tfjs}`,
      convertedBy: 'd2',
      modelTopology: a.modelTopology,
      weightsManifest: [{ paths: [weightsFile], weights: a.weightSpecs }],
    },
    weights: new Uint8Array(a.weightData as ArrayBuffer),
    weightsFile,
  };
}

/** Load layers artifacts (as written by `toLayersModel`) and predict N items: probabilities N × classes. */
export async function predictWithLayersModel(artifacts: LayersArtifacts, x: Float32Array, inputShape: number[]): Promise<Float32Array> {
  const tf = await loadTf();
  const manifest = (artifacts.modelJson.weightsManifest as { weights: io.WeightsManifestEntry[] }[])[0]!;
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: artifacts.modelJson.modelTopology as object,
    weightSpecs: manifest.weights,
    weightData: artifacts.weights.slice().buffer,
  }));
  const rowSize = inputShape.reduce((a, b) => a * b, 1);
  const n = x.length / rowSize;
  const out = tf.tidy(() => model.predict(tf.tensor(x, [n, ...inputShape])) as Tensor);
  const probs = out.dataSync() as Float32Array;
  out.dispose();
  model.dispose();
  return new Float32Array(probs);
}
