/**
 * Image preprocessing: raw item bytes + the manifest's `preprocess` configuration -> tensor
 * data. The only folder that imports sharp (lazily) or decodes images.
 *
 * One implementation, used by dataset building, training, evaluation and prediction:
 * `preprocessImage` (uint8 pixels, what the cache keeps) and `toFloat` (x / 255, normalize),
 * composed as `preprocessImageToFloat`; `createImagePool` runs the same functions on every
 * core over a stream of items; `probeImage` reads format, size and channels from a header.
 */
export { preprocessImage, preprocessImageToFloat } from './preprocess-image.js';
export { toFloat, toFloatWith } from './float.js';
export { probeImage } from './probe.js';
export {
  createImagePool,
  type ImagePool,
  type ImagePoolOptions,
  type PoolItem,
  type PoolOutcome,
  type ProcessOptions,
} from './pool.js';
export type {
  ChannelCount,
  ImageConfig,
  ImagePixels,
  ImageProbe,
  ImageStep,
  ImageTensor,
  ItemInvalidReason,
} from './types.js';
export { fitTableEncoding, encodeRow, MISSING_CATEGORY, type TableEncoding, type TableSpec, type ColumnEncoding } from './table.js';
export { thumbnail, PASS_THROUGH_BYTES, type Thumbnail } from './thumbnail.js';
export { preprocessText, preprocessTextBytes } from './portable.js';
export { textOfInput } from './text-input.js';
