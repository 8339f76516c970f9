/**
 * The image preprocessing entry points: raw item bytes + the manifest's step configuration ->
 * uint8 pixels (what the cache keeps) -> float32 tensor data (what a model is fed). Dataset
 * building, training, evaluation and prediction all call these, directly or through the
 * worker pool (pool.ts), and nothing else; there is no second implementation.
 *
 * Invariants:
 * - `preprocessImage` is a pure function of (bytes, steps, maxPixels): decode (decode.ts), then
 *   the pixel steps in order (steps.ts). `toFloat` is a pure function of (pixels, normalize
 *   steps). `preprocessImageToFloat` is exactly their composition.
 * - `planPipeline` is the one place that composes them; the pool runs the same plan, only
 *   split at its one asynchronous point (sharp) so that fast-path items skip the promise.
 * - A bad item is refused with ItemInvalid (`data.reason`); a bad configuration with
 *   InvalidArgument, before any item is read; the caller's buffer is never modified.
 */
import { decodeImageSync } from './decode.js';
import { toFloatWith } from './float.js';
import { decodeWithSharp } from './sharp-decode.js';
import { applyPixelOps, planImageSteps, type StepPlan } from './steps.js';
import type { ImageConfig, ImagePixels, ImageTensor } from './types.js';

export interface Pipeline {
  readonly plan: StepPlan;
  /** The pixels when the fast decoder takes the bytes; undefined when sharp is needed. Throws ItemInvalid. */
  runSync(bytes: Uint8Array): ImagePixels | undefined;
  /** The pixels, whichever decoder is needed. */
  run(bytes: Uint8Array): Promise<ImagePixels>;
  /** Pixels to float32: x / 255, then the normalize steps. */
  toFloat(pixels: ImagePixels): ImageTensor;
}

/** Check a configuration once and return the pipeline it describes. Throws InvalidArgument. */
export function planPipeline(config: ImageConfig): Pipeline {
  const plan = planImageSteps(config.steps);
  const { maxPixels } = config;
  const runSync = (bytes: Uint8Array) => {
    const decoded = decodeImageSync(bytes, maxPixels);
    return decoded && applyPixelOps(decoded, plan);
  };
  return {
    plan,
    runSync,
    run: async (bytes) => runSync(bytes) ?? applyPixelOps(await decodeWithSharp(bytes, maxPixels), plan),
    toFloat: (pixels) => toFloatWith(pixels, plan.normalize),
  };
}

/** Decode `bytes` and run the pixel steps of `config.steps`: uint8 HWC pixels. */
export async function preprocessImage(bytes: Uint8Array, config: ImageConfig): Promise<ImagePixels> {
  return planPipeline(config).run(bytes);
}

/** The whole pipeline: decode, pixel steps, x / 255, normalize. float32 HWC. */
export async function preprocessImageToFloat(bytes: Uint8Array, config: ImageConfig): Promise<ImageTensor> {
  const pipeline = planPipeline(config);
  return pipeline.toFloat(await pipeline.run(bytes));
}
