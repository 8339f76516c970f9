/**
 * Packs: many preprocessed items of one shape in one object, the compact binary form training
 * reads (docs/store-format.md, "Packs"). Layout:
 *
 *     "D2PACK01"                          8 bytes
 *     item 0 … item N-1                   N × itemBytes (uint8: H×W×C, HWC; float32: F × 4)
 *     trailer                             JSON: { format, dtype, shape, count, config, items }
 *     trailer length (u32 LE), "D2PK"     8 bytes
 *
 * The trailer comes last so a pack is written in one streaming pass, items in order, even when
 * some are skipped on the way. Pure: encoding and decoding of the framing only.
 *
 * Invariant: item i of a pack is at byte 8 + i × itemBytes, and `items[i]` is its raw item's
 * oid; `config` is the key of the preprocessing that produced it.
 */
export const PACK_MAGIC = 'D2PACK01';
export const PACK_END = 'D2PK';
export const PACK_HEADER_BYTES = 8;
export const PACK_FOOTER_BYTES = 8;

export type PackDtype = 'uint8' | 'float32';

export interface PackTrailer {
  format: 1;
  dtype: PackDtype;
  /** Shape of one item: [H, W, C] for images, [F] for table rows. */
  shape: number[];
  count: number;
  /** The preprocessing configuration key the items were produced with. */
  config: string;
  /** Raw item oids, in pack order. */
  items: string[];
}

export function itemBytes(t: Pick<PackTrailer, 'dtype' | 'shape'>): number {
  return t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'float32' ? 4 : 1);
}

export function packHeader(): Uint8Array {
  return new TextEncoder().encode(PACK_MAGIC);
}

export function packTrailer(t: PackTrailer): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(t));
  const out = new Uint8Array(json.length + PACK_FOOTER_BYTES);
  out.set(json, 0);
  new DataView(out.buffer).setUint32(json.length, json.length, true);
  out.set(new TextEncoder().encode(PACK_END), json.length + 4);
  return out;
}

/** Length of the trailer JSON, from a pack's last 8 bytes. */
export function readFooter(last8: Uint8Array): number {
  if (new TextDecoder().decode(last8.subarray(4, 8)) !== PACK_END) throw new Error('not a d2 pack (bad end marker)');
  return new DataView(last8.buffer, last8.byteOffset, 8).getUint32(0, true);
}

export function parseTrailer(json: Uint8Array, packSize: number): PackTrailer {
  const t = JSON.parse(new TextDecoder().decode(json)) as PackTrailer;
  if (t.format !== 1 || !Array.isArray(t.items) || t.items.length !== t.count) throw new Error('not a d2 pack (bad trailer)');
  const expected = PACK_HEADER_BYTES + t.count * itemBytes(t) + json.length + PACK_FOOTER_BYTES;
  if (expected !== packSize) throw new Error(`d2 pack has ${packSize} bytes, its trailer implies ${expected}`);
  return t;
}

export function itemOffset(t: Pick<PackTrailer, 'dtype' | 'shape'>, index: number): number {
  return PACK_HEADER_BYTES + index * itemBytes(t);
}
