/**
 * The one way preprocessing refuses an item: `ItemInvalid` with a `data.reason` from a fixed
 * list (see `ItemInvalidReason`), so callers can count and report bad items by kind.
 *
 * Invariant: every refusal of an item's bytes goes through `itemInvalid`; decoder messages are
 * kept in `data.detail` and the original error as `cause`, never as the reason itself.
 */
import { ItemInvalid } from '../errors/index.js';
import type { ItemInvalidReason } from './types.js';

export function itemInvalid(
  reason: ItemInvalidReason,
  message: string,
  data: Record<string, unknown> = {},
  options: { hint?: string; cause?: unknown } = {},
): ItemInvalid {
  const opts: { data: Record<string, unknown>; hint?: string; cause?: unknown } = { data: { reason, ...data } };
  if (options.hint !== undefined) opts.hint = options.hint;
  if (options.cause !== undefined) opts.cause = options.cause;
  return new ItemInvalid(message, opts);
}

export function tooManyPixels(format: string, width: number, height: number, maxPixels: number): ItemInvalid {
  return itemInvalid(
    'too-many-pixels',
    `${format} image of ${width}x${height} pixels exceeds the limit of ${maxPixels} pixels`,
    { format, width, height, maxPixels },
    { hint: "raise 'preprocess.maxPixels' in d2.yaml if the image is genuine" },
  );
}
