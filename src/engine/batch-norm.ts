/**
 * Batch normalisation folded into the convolutions: from the weights of a batch-normalised
 * training network (network.ts, `describeNetwork(arch, { batchNorm: true })`) to weights of the
 * plain architecture, which evaluation, the saved model, export and prediction use unchanged.
 *
 * Training normalises each conv2d's output by the statistics of the batch part it sees. For
 * inference the statistics are those of the population, estimated on a fixed subset of the
 * training rows (`foldRows`: evenly spaced, at most FOLD_ROWS), layer by layer: layer j's
 * statistics are those of its convolution's output when the layers below it are already
 * folded, accumulated in float64 per channel (sums shifted by the first row's values, read
 * in place and summed by the batch-norm SIMD pass on the wasm engine); then layer j is folded,
 *   W' = W·s,  b' = (b − mean)·s + β,  s = γ / √(var + ε)   (per output channel),
 * so conv' followed by ReLU is exactly BN-with-population-statistics followed by ReLU.
 *
 * Invariants:
 * - Deterministic: the result depends on the training weights, the training data and the
 *   engine only (never on the number of workers); the trainer folds in its own thread.
 * - The plain weights are the training weights' prefix (network.ts): a network without
 *   batch-normalised layers folds to that prefix unchanged.
 * - Every tensor it creates is disposed before it returns.
 */
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import type { Tf } from './engines.js';
import { channelSums, type ChannelSums } from './fused-kernels.js';
import { BATCH_NORM_EPSILON, describeNetwork, forward, type ParamSpec } from './network.js';
import type { Architecture } from './plan.js';

/** At most this many training rows estimate the population statistics. */
export const FOLD_ROWS = 4096;

/** Rows the statistics are estimated on: all of them, or FOLD_ROWS evenly spaced ones. */
export function foldRows(count: number, max = FOLD_ROWS): Uint32Array {
  const n = Math.min(count, max);
  const rows = new Uint32Array(n);
  for (let i = 0; i < n; i++) rows[i] = Math.floor((i * count) / n);
  return rows;
}

/** Items packed as in training: `count` rows of `rowSize` numbers (NHWC). */
export interface FoldData {
  x: Float32Array;
  count: number;
  rowSize: number;
}

/**
 * Plain-architecture weights from batch-normalised training weights (see the header). Rows
 * are fed `chunk` at a time.
 */
export function foldBatchNorm(tf: Tf, arch: Architecture, trainingWeights: Float32Array, data: FoldData, options: { rows?: Uint32Array; chunk?: number } = {}): Float32Array {
  const bn = describeNetwork(arch, { batchNorm: true });
  const plain = describeNetwork(arch);
  if (trainingWeights.length !== bn.paramCount) throw new Error(`internal: ${trainingWeights.length} weights for a batch-normalised network of ${bn.paramCount}`);
  const out = trainingWeights.slice(0, bn.plainCount);
  const rows = options.rows ?? foldRows(data.count);
  const chunk = options.chunk ?? 256;
  const { rowSize } = data;
  bn.layers.forEach((layer, li) => {
    if (layer.gamma === undefined || layer.spec.kind !== 'conv2d') return;
    const c = layer.spec.filters;
    const kernel = bn.params[layer.kernel!] as ParamSpec;
    const bias = bn.params[layer.bias!] as ParamSpec;
    // The plain network below this layer, with the layers below already folded.
    const below = { ...plain, layers: plain.layers.slice(0, li) };
    const params = plain.params.map((p) => tf.tensor(out.subarray(p.offset, p.offset + p.size), p.shape));
    // Σ(z − K) and Σ(z − K)² per channel, K the first row's z (see channelSums).
    const shift = new Float64Array(c);
    const sum = new Float64Array(c);
    const sumSq = new Float64Array(c);
    let positions = 0;
    try {
      for (let start = 0; start < rows.length; start += chunk) {
        const n = Math.min(chunk, rows.length - start);
        const xs = new Float32Array(n * rowSize);
        for (let i = 0; i < n; i++) {
          const row = rows[start + i] as number;
          xs.set(data.x.subarray(row * rowSize, (row + 1) * rowSize), i * rowSize);
        }
        const z = tf.tidy(() => {
          const h = forward(tf, below, params, { x: tf.tensor(xs, [n, ...arch.inputShape]) }).logitsT as Tensor;
          const spec = layer.spec as Extract<typeof layer.spec, { kind: 'conv2d' }>;
          return tf.fused.conv2d({ x: h as Tensor4D, filter: params[layer.kernel!] as Tensor4D, bias: params[layer.bias!], strides: 1, pad: spec.padding });
        });
        let sums: ChannelSums;
        try {
          sums = channelSums(tf, z);
        } finally {
          z.dispose();
        }
        // Each chunk's sums are shifted by its own first row; re-shift them to the first chunk's.
        if (positions === 0) shift.set(sums.shift);
        for (let ch = 0; ch < c; ch++) {
          const d = (sums.shift[ch] as number) - (shift[ch] as number);
          const s1 = sums.s1[ch] as number;
          sum[ch] = (sum[ch] as number) + s1 + sums.rows * d;
          sumSq[ch] = (sumSq[ch] as number) + (sums.s2[ch] as number) + 2 * d * s1 + sums.rows * d * d;
        }
        positions += sums.rows;
      }
    } finally {
      for (const t of params) t.dispose();
    }
    const gamma = bn.params[layer.gamma] as ParamSpec;
    const beta = bn.params[layer.beta!] as ParamSpec;
    for (let ch = 0; ch < c; ch++) {
      const m1 = (sum[ch] as number) / positions;
      const mean = (shift[ch] as number) + m1;
      const variance = Math.max(0, (sumSq[ch] as number) / positions - m1 * m1);
      const s = (trainingWeights[gamma.offset + ch] as number) / Math.sqrt(variance + BATCH_NORM_EPSILON);
      // Kernel [kh, kw, in, out]: output channel ch is every c-th number from ch.
      for (let k = kernel.offset + ch; k < kernel.offset + kernel.size; k += c) out[k] = (out[k] as number) * s;
      out[bias.offset + ch] = ((out[bias.offset + ch] as number) - mean) * s + (trainingWeights[beta.offset + ch] as number);
    }
  });
  return out;
}
