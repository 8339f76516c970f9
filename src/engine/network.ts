/**
 * The network of an Architecture as plain TensorFlow.js operations: its parameters (one flat
 * Float32Array, in layer order, each layer's kernel then its bias), their seeded initialisation,
 * and the forward pass used by training, evaluation and prediction alike.
 *
 * The backward pass is written out by hand (no autodiff tape): it chooses, for each product,
 * the operand order that lets the engine pack the small operand (activations) rather than the
 * large one (weights that change every step), skips the input's gradient, and fuses ReLU with
 * max-pool gradients (fused-kernels.ts). Tests check it against TensorFlow.js's autodiff.
 *
 * Invariants:
 * - One forward function serves training and inference; in inference, dropout is the identity,
 *   so a model predicts exactly as it was evaluated.
 * - Layouts: conv activations NHWC and conv kernels [kh, kw, in, out] (TensorFlow's); dense
 *   activations feature-major [features, n] and dense kernels [out, in]; flatten in NHWC order.
 * - Initial weights are drawn in JavaScript from the seed (He-uniform for ReLU layers,
 *   Glorot-uniform for the logits layer, zero biases): identical on every engine.
 * - Batch normalisation exists only in the training network (`describeNetwork(arch, { batchNorm:
 *   true })`): each conv2d becomes conv → per-channel normalisation over the rows it is given
 *   (the statistics of the batch part: a part's gradient depends on its own rows only) → ×γ + β
 *   → ReLU. γ and β come after every parameter of the plain network, so the plain network's
 *   weights are a prefix of the training weights; batch-norm.ts folds them into plain weights
 *   for evaluation and the saved model, which never see batch normalisation.
 */
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import type { Tf } from './engines.js';
import type { Architecture, LayerSpec, TrainingPlan } from './plan.js';
import { batchNormRelu, batchNormReluGrad, biasAct, biasGrad, maxPoolReluGrad, reluGrad } from './fused-kernels.js';
import { Rng } from './prng.js';

export interface ParamSpec {
  /** e.g. 'conv2d_1/kernel', 'dense_2/bias'. */
  name: string;
  /** Layer name, e.g. 'conv2d_1'. */
  layer: string;
  shape: number[];
  offset: number;
  size: number;
}

export interface LayerInfo {
  spec: LayerSpec;
  name: string;
  /** Indices into params of this layer's kernel and bias (dense and conv2d only). */
  kernel?: number;
  bias?: number;
  /** Training network with batch normalisation: indices of the conv2d layer's γ and β. */
  gamma?: number;
  beta?: number;
  outShape: number[];
}

export interface NetworkShape {
  layers: LayerInfo[];
  params: ParamSpec[];
  paramCount: number;
  /** Parameters of the plain network (a prefix of params): paramCount unless batch-normalised. */
  plainCount: number;
}

/** Added to the variance before its square root (Keras's default). */
export const BATCH_NORM_EPSILON = 1e-3;

/**
 * The network of `arch`; with `batchNorm`, the training network whose conv2d layers are
 * batch-normalised (their γ and β appended after the plain parameters).
 */
export function describeNetwork(arch: Architecture, options: { batchNorm?: boolean } = {}): NetworkShape {
  const layers: LayerInfo[] = [];
  const params: ParamSpec[] = [];
  let shape = [...arch.inputShape];
  let offset = 0;
  const counters: Record<string, number> = {};
  const addParam = (layer: string, what: string, s: number[]): number => {
    const size = s.reduce((a, b) => a * b, 1);
    params.push({ name: `${layer}/${what}`, layer, shape: s, offset, size });
    offset += size;
    return params.length - 1;
  };
  for (const spec of arch.layers) {
    counters[spec.kind] = (counters[spec.kind] ?? 0) + 1;
    const name = `${spec.kind.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_${counters[spec.kind]}`;
    if (spec.kind === 'conv2d') {
      const [h, w, c] = shape as [number, number, number];
      const k = spec.kernel;
      const kernel = addParam(name, 'kernel', [k, k, c, spec.filters]);
      const bias = addParam(name, 'bias', [spec.filters]);
      shape = spec.padding === 'same' ? [h, w, spec.filters] : [h - k + 1, w - k + 1, spec.filters];
      if ((shape[0] as number) < 1 || (shape[1] as number) < 1) throw new Error(`input too small for ${name}`);
      layers.push({ spec, name, kernel, bias, outShape: [...shape] });
    } else if (spec.kind === 'maxPool') {
      const [h, w, c] = shape as [number, number, number];
      shape = [Math.floor(h / spec.size), Math.floor(w / spec.size), c];
      if ((shape[0] as number) < 1 || (shape[1] as number) < 1) throw new Error(`input too small for ${name}`);
      layers.push({ spec, name, outShape: [...shape] });
    } else if (spec.kind === 'flatten') {
      shape = [shape.reduce((a, b) => a * b, 1)];
      layers.push({ spec, name, outShape: [...shape] });
    } else if (spec.kind === 'dense') {
      const inUnits = shape[0] as number;
      const kernel = addParam(name, 'kernel', [spec.units, inUnits]);
      const bias = addParam(name, 'bias', [spec.units]);
      shape = [spec.units];
      layers.push({ spec, name, kernel, bias, outShape: [...shape] });
    } else {
      layers.push({ spec, name, outShape: [...shape] });
    }
  }
  const plainCount = offset;
  if (options.batchNorm) {
    for (const layer of layers) {
      if (layer.spec.kind !== 'conv2d') continue;
      layer.gamma = addParam(layer.name, 'gamma', [layer.spec.filters]);
      layer.beta = addParam(layer.name, 'beta', [layer.spec.filters]);
    }
  }
  return { layers, params, paramCount: offset, plainCount };
}

/** The network a plan trains: batch-normalised when the plan says so. */
export function trainingNetwork(plan: TrainingPlan): NetworkShape {
  return describeNetwork(plan.architecture, { batchNorm: plan.batchNorm === true });
}

/** Seeded initial weights, one flat array in `params` order. */
export function initialWeights(net: NetworkShape, seed: number): Float32Array {
  const out = new Float32Array(net.paramCount);
  const rng = new Rng(seed);
  const last = net.layers.filter((l) => l.kernel !== undefined).at(-1);
  for (const layer of net.layers) {
    if (layer.kernel === undefined) continue;
    const p = net.params[layer.kernel] as ParamSpec;
    const fanOut = layer.spec.kind === 'dense' ? (p.shape[0] as number) : (p.shape.at(-1) as number);
    const fanIn = p.size / fanOut;
    const limit = layer === last ? Math.sqrt(6 / (fanIn + fanOut)) : Math.sqrt(6 / fanIn);
    rng.fillUniform(out.subarray(p.offset, p.offset + p.size), -limit, limit);
  }
  // Batch normalisation starts as the identity: γ = 1, β = 0.
  for (const layer of net.layers) {
    if (layer.gamma === undefined) continue;
    const p = net.params[layer.gamma] as ParamSpec;
    out.fill(1, p.offset, p.offset + p.size);
  }
  return out;
}

/** Dropout masks for one forward pass: per dropout layer, 0 or 1/(1-rate) per activation. */
export type DropoutMasks = Map<number, Float32Array>;

export function dropoutMasks(net: NetworkShape, rows: number, rng: Rng): DropoutMasks {
  const masks: DropoutMasks = new Map();
  net.layers.forEach((l, i) => {
    if (l.spec.kind !== 'dropout') return;
    const rate = l.spec.rate;
    const keep = 1 / (1 - rate);
    const size = rows * l.outShape.reduce((a, b) => a * b, 1);
    const m = new Float32Array(size);
    for (let j = 0; j < size; j++) m[j] = rng.next() < rate ? 0 : keep;
    masks.set(i, m);
  });
  return masks;
}

/** The network's input for n items: NHWC (images) or rows [n, F]; feature-major xT [F, n] for an MLP. */
export interface NetInput {
  x: Tensor;
  xT?: Tensor;
}

/** What the backward pass needs from the forward pass, per layer. */
interface LayerCache {
  /** The layer's input (conv: NHWC; dense: rows [n, in]). */
  input?: Tensor;
  /** The layer's output (after its ReLU). */
  output?: Tensor;
  /** flatten: the NHWC shape it flattened. */
  shape?: number[];
  /** dropout: the mask it multiplied by. */
  mask?: Tensor;
  /** Batch-normalised conv2d: the convolution's output, and per channel its mean and 1/√(var + ε). */
  z?: Tensor;
  mean?: Tensor;
  invStd?: Tensor;
}

export interface ForwardResult {
  /** Logits, feature-major: [numClasses, n]. */
  logitsT: Tensor2D;
  caches: LayerCache[];
}

/**
 * The forward pass. With `masks`, dropout layers multiply by them (training), else they are the
 * identity (inference). Returns the logits [numClasses, n] and, for `backward`, the caches.
 */
export function forward(tf: Tf, net: NetworkShape, params: Tensor[], input: NetInput, masks?: DropoutMasks): ForwardResult {
  const n = input.x.shape[0] as number;
  const caches: LayerCache[] = [];
  // `h` is NHWC until a flatten, then feature-major [features, n]; `rows` is h as [n, features].
  let h: Tensor = input.x;
  let rows: Tensor | undefined;
  let featureMajor = false;
  if (input.x.rank === 2) {
    rows = input.x;
    h = input.xT ?? tf.transpose(input.x);
    featureMajor = true;
  }
  net.layers.forEach((layer, i) => {
    const spec = layer.spec;
    const cache: LayerCache = {};
    if (spec.kind === 'conv2d' && layer.gamma !== undefined) {
      cache.input = h;
      const z = tf.fused.conv2d({ x: h as Tensor4D, filter: params[layer.kernel!] as Tensor4D, bias: params[layer.bias!], strides: 1, pad: spec.padding });
      // Statistics over (N, H, W) of these rows, normalisation, ×γ + β and ReLU: one fused
      // kernel on wasm and cpu (fused-kernels.ts).
      const bn = batchNormRelu(tf, z, params[layer.gamma]!, params[layer.beta!]!, BATCH_NORM_EPSILON);
      h = bn.y;
      cache.z = z;
      cache.mean = bn.mean;
      cache.invStd = bn.invStd;
      cache.output = h;
    } else if (spec.kind === 'conv2d') {
      cache.input = h;
      h = tf.fused.conv2d({ x: h as Tensor4D, filter: params[layer.kernel!] as Tensor4D, bias: params[layer.bias!], strides: 1, pad: spec.padding, activation: 'relu' });
      cache.output = h;
    } else if (spec.kind === 'maxPool') {
      cache.input = h;
      h = tf.maxPool(h as Tensor4D, spec.size, spec.size, 'valid');
    } else if (spec.kind === 'flatten') {
      if (!featureMajor) {
        cache.shape = h.shape;
        rows = tf.reshape(h, [n, -1]);
        h = tf.transpose(rows);
        featureMajor = true;
      }
    } else if (spec.kind === 'dense') {
      cache.input = rows ?? tf.transpose(h);
      h = biasAct(tf, tf.matMul(params[layer.kernel!] as Tensor2D, h as Tensor2D), params[layer.bias!]!, spec.activation === 'relu');
      cache.output = h;
      rows = undefined;
    } else if (masks) {
      const m = masks.get(i);
      if (m) {
        cache.mask = tf.tensor(m, h.shape);
        h = tf.mul(h, cache.mask);
        rows = undefined;
      }
    }
    caches.push(cache);
  });
  return { logitsT: h as Tensor2D, caches };
}

/**
 * Gradients of the loss for every parameter (params order), given the forward caches and the
 * loss's gradient with respect to the logits, dLogitsT [numClasses, n].
 */
export function backward(tf: Tf, net: NetworkShape, params: Tensor[], caches: LayerCache[], dLogitsT: Tensor): Tensor[] {
  const grads: Tensor[] = new Array<Tensor>(net.params.length);
  let g: Tensor = dLogitsT;
  // Set when a max pool's gradient already went through the ReLU of the conv before it.
  let throughRelu = false;
  // Layers up to the first with parameters need no input gradient (nothing to train below).
  const firstTrained = net.layers.findIndex((l) => l.kernel !== undefined);
  for (let i = net.layers.length - 1; i >= firstTrained; i--) {
    const layer = net.layers[i]!;
    const spec = layer.spec;
    const cache = caches[i]!;
    const needInputGrad = i > firstTrained;
    if (spec.kind === 'dense') {
      const dz = spec.activation === 'relu' ? reluGrad(tf, g, cache.output!) : g;
      grads[layer.kernel!] = tf.matMul(dz as Tensor2D, cache.input as Tensor2D);
      grads[layer.bias!] = tf.sum(dz, 1);
      if (needInputGrad) g = tf.matMul(params[layer.kernel!] as Tensor2D, dz as Tensor2D, true, false);
    } else if (spec.kind === 'dropout') {
      if (cache.mask) g = tf.mul(g, cache.mask);
    } else if (spec.kind === 'flatten') {
      if (cache.shape) g = tf.reshape(tf.transpose(g), cache.shape);
    } else if (spec.kind === 'maxPool') {
      const prev = net.layers[i - 1];
      if (prev?.spec.kind === 'conv2d') {
        g = maxPoolReluGrad(tf, g, cache.input!, spec.size);
        throughRelu = true;
      } else {
        const x = cache.input!;
        const y = tf.maxPool(x as Tensor4D, spec.size, spec.size, 'valid');
        g = tf.engine().runKernel('MaxPoolGrad', { dy: g, input: x, output: y }, { filterSize: [spec.size, spec.size], strides: [spec.size, spec.size], pad: 'valid' } as never) as Tensor;
      }
    } else if (spec.kind === 'conv2d') {
      const x = cache.input!;
      const k = params[layer.kernel!]!;
      let dz: Tensor;
      if (layer.gamma !== undefined) {
        // Batch normalisation's backward (fused-kernels.ts), the ReLU's gradient included
        // unless a max pool's already went through it. Σ dz is 0, so the convolution's bias,
        // which the normalisation subtracts again, has gradient 0.
        const bn = batchNormReluGrad(tf, g, cache.z!, { mean: cache.mean!, invStd: cache.invStd! }, params[layer.gamma]!, throughRelu ? undefined : cache.output!);
        grads[layer.gamma] = bn.dgamma;
        grads[layer.beta!] = bn.dbeta;
        dz = bn.dz;
      } else {
        dz = throughRelu ? g : reluGrad(tf, g, cache.output!);
      }
      throughRelu = false;
      grads[layer.kernel!] = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dz }, {
        strides: [1, 1], pad: spec.padding, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: k.shape,
      } as never) as Tensor;
      grads[layer.bias!] = layer.gamma !== undefined ? tf.zeros([spec.filters]) : biasGrad(tf, dz);
      if (needInputGrad) {
        g = tf.engine().runKernel('Conv2DBackpropInput', { dy: dz, filter: k }, {
          strides: [1, 1], pad: spec.padding, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: x.shape,
        } as never) as Tensor;
      }
    }
  }
  return grads;
}

/** Class probabilities [n, numClasses] for a batch (inference: no dropout). */
export function predictProbabilities(tf: Tf, net: NetworkShape, params: Tensor[], input: NetInput): Tensor2D {
  return tf.tidy(() => tf.softmax(tf.transpose(forward(tf, net, params, input).logitsT)) as Tensor2D);
}

/**
 * Probabilities [n, numClasses] and the penultimate-layer features [n, features]: the input of
 * the last dense layer (the classifier), i.e. what the model "sees" before it decides. The
 * same forward pass as `predictProbabilities` (the probabilities are equal bit for bit).
 */
export function predictWithFeatures(tf: Tf, net: NetworkShape, params: Tensor[], input: NetInput): { probs: Tensor2D; features: Tensor2D } {
  return tf.tidy(() => {
    const out = forward(tf, net, params, input);
    const last = out.caches[out.caches.length - 1]!;
    const features = (last.input ?? tf.reshape(input.x, [input.x.shape[0] as number, -1])) as Tensor2D;
    return { probs: tf.softmax(tf.transpose(out.logitsT)) as Tensor2D, features: tf.reshape(features, [features.shape[0], -1]) as Tensor2D };
  });
}
