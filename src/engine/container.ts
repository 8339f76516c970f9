/**
 * The byte container shared by d2's model and checkpoint formats (docs/training.md):
 *
 *     magic                8 bytes ASCII ('D2MODEL1' or 'D2CKPT01')
 *     header length        u32 little-endian
 *     header               UTF-8 JSON (the format's fields; `blobs` lists the arrays that follow)
 *     padding              0–3 zero bytes, so the arrays start 4-byte aligned
 *     arrays               float32 little-endian, back to back, in `blobs` order
 *
 * Invariants: parsing checks the magic, the lengths and every blob's bounds before reading
 * anything; a container either parses completely or throws InvalidArgument.
 */
import { InvalidArgument } from '../errors/index.js';

export interface BlobSpec {
  name: string;
  length: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function encodeContainer(magic: string, header: Record<string, unknown>, blobs: [string, Float32Array][]): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error('d2 model files need a little-endian machine');
  const specs: BlobSpec[] = blobs.map(([name, a]) => ({ name, length: a.length }));
  const json = new TextEncoder().encode(JSON.stringify({ ...header, blobs: specs }));
  const start = 12 + json.length;
  const aligned = (start + 3) & ~3;
  const total = aligned + blobs.reduce((n, [, a]) => n + a.byteLength, 0);
  const out = new Uint8Array(total);
  out.set(new TextEncoder().encode(magic.padEnd(8, ' ').slice(0, 8)), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  let at = aligned;
  for (const [, a] of blobs) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  }
  return out;
}

export function decodeContainer(bytes: Uint8Array, magic: string, what: string): { header: Record<string, unknown>; blobs: Map<string, Float32Array> } {
  if (!(bytes instanceof Uint8Array) || bytes.length < 12) throw new InvalidArgument(`not a d2 ${what}: too short`);
  const got = new TextDecoder().decode(bytes.subarray(0, 8));
  if (got !== magic) throw new InvalidArgument(`not a d2 ${what}: bad magic '${got.replace(/[^\x20-\x7e]/g, '?')}'`);
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + len > bytes.length) throw new InvalidArgument(`d2 ${what} is truncated (header)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as Record<string, unknown>;
  } catch (e) {
    throw new InvalidArgument(`d2 ${what} has a damaged header`, { cause: e });
  }
  const specs = header.blobs as BlobSpec[] | undefined;
  if (!Array.isArray(specs)) throw new InvalidArgument(`d2 ${what} has no blob list`);
  let at = (12 + len + 3) & ~3;
  const blobs = new Map<string, Float32Array>();
  for (const s of specs) {
    const n = s.length * 4;
    if (!Number.isInteger(s.length) || s.length < 0 || at + n > bytes.length) throw new InvalidArgument(`d2 ${what} is truncated (array '${s.name}')`);
    // Copy: the result must not alias the caller's bytes, and must be aligned.
    const a = new Float32Array(s.length);
    new Uint8Array(a.buffer).set(bytes.subarray(at, at + n));
    blobs.set(s.name, a);
    at += n;
  }
  if (at !== bytes.length) throw new InvalidArgument(`d2 ${what} has ${bytes.length - at} unexpected trailing bytes`);
  return { header, blobs };
}
