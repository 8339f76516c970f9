/**
 * The data shapes of image preprocessing: the step configuration it is given, the decoded
 * image it works on, and the results it returns.
 *
 * Invariants: pixels are always uint8, interleaved HWC (row by row, channel by channel within
 * a pixel), with `pixels.length === width * height * channels`; floats are HWC in the same order.
 */
import type { ImageStep } from '../manifest/schema.js';

export type { ImageStep };

/** Channels of a decoded or processed image: grey, grey + alpha, RGB, RGBA. */
export type ChannelCount = 1 | 2 | 3 | 4;

/** What `preprocessImage` is given: the manifest's `preprocess.image` steps and `maxPixels`. */
export interface ImageConfig {
  readonly steps: readonly ImageStep[];
  /** Images whose header declares more pixels than this are refused before decoding. */
  readonly maxPixels: number;
}

/** A uint8 image, HWC. What the preprocessing cache keeps. */
export interface ImagePixels {
  width: number;
  height: number;
  channels: ChannelCount;
  pixels: Uint8Array;
}

/** A float32 image, HWC: pixels / 255, then normalised. What a model is fed. */
export interface ImageTensor {
  width: number;
  height: number;
  channels: ChannelCount;
  data: Float32Array;
}

/** What `probeImage` reads from an image's header: the size and channels `preprocessImage` would give without steps. */
export interface ImageProbe {
  /** The decoder's name: 'png', 'jpeg', 'webp', 'gif', 'tiff', 'heif', 'svg', … */
  format: string;
  /** After EXIF orientation, as `preprocessImage` returns the image by default. */
  width: number;
  height: number;
  channels: ChannelCount;
}

/** Why an item was refused (`ItemInvalid.data.reason`). */
export type ItemInvalidReason =
  | 'empty'
  | 'truncated'
  | 'corrupt'
  | 'not-an-image'
  | 'too-many-pixels'
  | 'unsupported'
  | 'crop-outside-image';

/** A decoded image before any step: stored orientation, native channels. */
export interface DecodedImage extends ImagePixels {
  /** EXIF orientation 1–8 (1 when absent). */
  orientation: number;
}
