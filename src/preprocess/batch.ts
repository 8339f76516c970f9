/**
 * One batch of items through the preprocessing pipeline: the unit of work a pool thread runs.
 * The batch travels as transferable buffers each way (inputs concatenated; results
 * concatenated plus a table of sizes), because one message per tiny image costs more than
 * decoding it.
 *
 * Invariants:
 * - The same `runBatch` runs in worker threads and, for a pool of 0 workers, in the calling
 *   thread; it runs `planPipeline` (preprocess-image.ts) and nothing else, so results do not
 *   depend on where they were computed.
 * - Every item gets exactly one outcome, in the batch's order. A D2Error is an outcome of its
 *   item (serialised with `toJSON()`); anything else is a bug and fails the whole batch.
 */
import { D2Error, type D2ErrorJSON, errorClasses } from '../errors/index.js';
import { mapLimit } from '../util/pool.js';
import { planPipeline } from './preprocess-image.js';
import type { ImagePixels, ImageStep, ImageTensor } from './types.js';

export type BatchOutput = 'pixels' | 'float';

export interface BatchRequest {
  id: number;
  steps: readonly ImageStep[];
  maxPixels: number;
  output: BatchOutput;
  /** The items' bytes, concatenated; item i is data[ends[i-1] .. ends[i]). */
  data: ArrayBuffer;
  ends: number[];
}

/** Per item, `FIELDS` int32s: width, height, channels (0: refused, see `errors`), offset, length. */
export const FIELDS = 5;

export interface BatchResponse {
  id: number;
  table: Int32Array;
  /** [item index, error] for each refused item. */
  errors: [number, D2ErrorJSON][];
  /** Results, concatenated: uint8 pixels, or float32 data (offsets stay multiples of 4). */
  data: ArrayBuffer;
}

/** Images of one batch that sharp decodes at once: enough to overlap its per-image set-up. */
const SHARP_IN_FLIGHT = 4;

export async function runBatch(req: BatchRequest): Promise<BatchResponse> {
  const pipeline = planPipeline({ steps: req.steps, maxPixels: req.maxPixels });
  const bytes = new Uint8Array(req.data);
  const n = req.ends.length;
  const itemBytes = (i: number) => bytes.subarray(i === 0 ? 0 : (req.ends[i - 1] as number), req.ends[i] as number);
  const finish = (p: ImagePixels) => (req.output === 'float' ? pipeline.toFloat(p) : p);
  const results: (ImagePixels | ImageTensor | D2Error)[] = new Array(n);
  const refuse = (i: number, e: unknown) => {
    if (!(e instanceof D2Error)) throw e;
    results[i] = e;
  };
  const needSharp: number[] = [];
  for (let i = 0; i < n; i++) {
    try {
      const p = pipeline.runSync(itemBytes(i));
      if (p) results[i] = finish(p);
      else needSharp.push(i);
    } catch (e) {
      refuse(i, e);
    }
  }
  await mapLimit(needSharp, SHARP_IN_FLIGHT, async (i) => {
    try {
      results[i] = finish(await pipeline.run(itemBytes(i)));
    } catch (e) {
      refuse(i, e);
    }
  });

  let total = 0;
  for (const r of results) if (!(r instanceof D2Error)) total += 'data' in r ? r.data.byteLength : r.pixels.byteLength;
  const data = new ArrayBuffer(total);
  const out = new Uint8Array(data);
  const table = new Int32Array(n * FIELDS);
  const errors: [number, D2ErrorJSON][] = [];
  let offset = 0;
  results.forEach((r, i) => {
    if (r instanceof D2Error) {
      errors.push([i, r.toJSON()]);
      return;
    }
    const src = 'data' in r ? new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength) : r.pixels;
    out.set(src, offset);
    table.set([r.width, r.height, r.channels, offset, 'data' in r ? r.data.length : r.pixels.length], i * FIELDS);
    offset += src.byteLength;
  });
  return { id: req.id, table, errors, data };
}

/** Rebuild an item's error on the receiving side, as the same class with the same code and data. */
export function reviveError(json: D2ErrorJSON): D2Error {
  const Cls = errorClasses.find((c) => c.code === json.code) ?? D2Error;
  const opts: { data: Record<string, unknown>; hint?: string } = { data: json.data };
  if (json.hint !== undefined) opts.hint = json.hint;
  return new Cls(json.message, opts);
}
