/**
 * The byte container shared by d2's model and checkpoint formats (docs/training.md):
 *
 *     magic                8 bytes ASCII ('D2MODEL1' or 'D2CKPT01')
 *     header length        u32 little-endian
 *     header               UTF-8 JSON: {"crc32":"<8 hex>", the format's fields…, "blobs": [...]}
 *     padding              0–3 zero bytes, so the arrays start 4-byte aligned
 *     arrays               float32 little-endian, back to back, in `blobs` order
 *
 * `crc32` is the CRC-32 (zlib's) of the whole container with its own 8 hex digits replaced by
 * '0': any damaged byte (magic, header or arrays) is detected. It is the header's first key, so
 * its digits sit at a fixed offset. Containers written without it (before it was added; their
 * header begins '{"format":') are still read, with structural checks only.
 *
 * Invariants: parsing checks the magic, the lengths, the checksum and every blob's bounds
 * before reading anything; a container either parses completely or throws InvalidArgument.
 */
import zlib from 'node:zlib';
import { InvalidArgument } from '../errors/index.js';

export interface BlobSpec {
  name: string;
  length: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** The header's opening bytes when it carries a checksum; the 8 hex digits follow. */
const CRC_PREFIX = '{"crc32":"';
const CRC_AT = 12 + CRC_PREFIX.length;
const LEGACY_PREFIX = '{"format":';

let table: Uint32Array | undefined;

/** CRC-32 (IEEE, as zlib), continuing from `crc`: native when this Node has it, else a table-driven loop. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  if (typeof native === 'function') return native(bytes, crc) >>> 0;
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = (table[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const ZERO_DIGITS = new TextEncoder().encode('00000000');

/** CRC of a container with the checksum's own digits counted as '0' (`bytes` is not modified). */
function containerCrc(bytes: Uint8Array): number {
  let crc = crc32(bytes.subarray(0, CRC_AT));
  crc = crc32(ZERO_DIGITS, crc);
  return crc32(bytes.subarray(CRC_AT + 8), crc);
}

export function encodeContainer(magic: string, header: Record<string, unknown>, blobs: [string, Float32Array][]): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error('d2 model files need a little-endian machine');
  const specs: BlobSpec[] = blobs.map(([name, a]) => ({ name, length: a.length }));
  const { crc32: _ignored, ...rest } = header;
  const json = new TextEncoder().encode(JSON.stringify({ crc32: '00000000', ...rest, blobs: specs }));
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
  out.set(new TextEncoder().encode(containerCrc(out).toString(16).padStart(8, '0')), CRC_AT);
  return out;
}

export function decodeContainer(bytes: Uint8Array, magic: string, what: string): { header: Record<string, unknown>; blobs: Map<string, Float32Array> } {
  if (!(bytes instanceof Uint8Array) || bytes.length < 12) throw new InvalidArgument(`not a d2 ${what}: too short`);
  const got = new TextDecoder().decode(bytes.subarray(0, 8));
  if (got !== magic) throw new InvalidArgument(`not a d2 ${what}: bad magic '${got.replace(/[^\x20-\x7e]/g, '?')}'`);
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + len > bytes.length) throw new InvalidArgument(`d2 ${what} is truncated (header)`);
  const opening = new TextDecoder().decode(bytes.subarray(12, Math.min(12 + len, CRC_AT)));
  const hasCrc = opening === CRC_PREFIX && len >= CRC_PREFIX.length + 8;
  // Written before the checksum: those headers began with the format number.
  if (!hasCrc && !opening.startsWith(LEGACY_PREFIX)) throw new InvalidArgument(`d2 ${what} has a damaged header`);
  if (hasCrc) {
    const stored = new TextDecoder().decode(bytes.subarray(CRC_AT, CRC_AT + 8));
    if (!/^[0-9a-f]{8}$/.test(stored) || parseInt(stored, 16) !== containerCrc(bytes)) {
      throw new InvalidArgument(`d2 ${what} is damaged (checksum mismatch)`, { data: { stored } });
    }
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as Record<string, unknown>;
  } catch (e) {
    throw new InvalidArgument(`d2 ${what} has a damaged header`, { cause: e });
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new InvalidArgument(`d2 ${what} has a damaged header`);
  delete header.crc32;
  const specs = header.blobs as BlobSpec[] | undefined;
  if (!Array.isArray(specs)) throw new InvalidArgument(`d2 ${what} has no blob list`);
  let at = (12 + len + 3) & ~3;
  const blobs = new Map<string, Float32Array>();
  for (const s of specs) {
    if (s === null || typeof s !== 'object' || typeof s.name !== 'string') throw new InvalidArgument(`d2 ${what} has a damaged blob list`);
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
