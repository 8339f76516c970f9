/**
 * uint8 pixels to the float32 tensor data a model is fed: x / 255, then each `normalize` step
 * in the order written, (x - mean) / std per channel.
 *
 * Kept apart from the pixel steps so the preprocessing cache can hold compact uint8 pixels and
 * a change of normalisation needs no image work.
 *
 * Invariant: float32 arithmetic throughout, as numpy/PyTorch do on float32 arrays: x / 255 is
 * the float32 nearest to the exact quotient, and each normalisation computes
 * f32(f32(x - f32(mean)) / f32(std)), so results are bit-identical on every machine.
 */
import { InvalidArgument } from '../errors/index.js';
import type { NormalizeStep } from './steps.js';
import type { ImagePixels, ImageStep, ImageTensor } from './types.js';

let scaleTable: Float32Array | undefined;

/** x / 255 rounded once to float32, for every byte (the quotient is computed exactly in float64 first). */
function scaled(): Float32Array {
  if (!scaleTable) {
    scaleTable = new Float32Array(256);
    for (let i = 0; i < 256; i++) scaleTable[i] = i / 255;
  }
  return scaleTable;
}

function perChannel(value: number | readonly number[], channels: number, what: string): Float32Array {
  const list = typeof value === 'number' ? [value] : value;
  if (list.length !== 1 && list.length !== channels) {
    throw new InvalidArgument(
      `'normalize.${what}' has ${list.length} values but the image has ${channels} channel${channels === 1 ? '' : 's'}`,
      { data: { [what]: list, channels }, hint: `give one value, or one per channel; or add a 'channels: ${list.length}' step` },
    );
  }
  return Float32Array.from({ length: channels }, (_, c) => (list.length === 1 ? list[0] : list[c]) as number);
}

/**
 * Pixels to float32 HWC data. `steps` may be the whole step list: only its `normalize` steps
 * are used here.
 */
export function toFloat(image: ImagePixels, steps: readonly ImageStep[] = []): ImageTensor {
  const normalize = steps.map((s) => s.normalize).filter((n): n is NormalizeStep => n !== undefined);
  return toFloatWith(image, normalize);
}

export function toFloatWith(image: ImagePixels, normalize: readonly NormalizeStep[]): ImageTensor {
  const { width, height, channels, pixels } = image;
  const table = scaled();
  const data = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) data[i] = table[pixels[i] as number] as number;
  for (const step of normalize) {
    const mean = perChannel(step.mean, channels, 'mean');
    const std = perChannel(step.std, channels, 'std');
    for (let i = 0; i < data.length; i += channels) {
      for (let c = 0; c < channels; c++) {
        data[i + c] = Math.fround((data[i + c] as number) - (mean[c] as number)) / (std[c] as number);
      }
    }
  }
  return { width, height, channels, data };
}
