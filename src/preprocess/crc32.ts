/**
 * CRC-32 (ISO 3309, the PNG chunk checksum), table-driven. Written here rather than taken from
 * `node:zlib` because `zlib.crc32` only exists from Node 20.15/22.2 and d2 supports Node 20.9.
 *
 * Invariant: `crc32(bytes, from, to)` equals the standard CRC-32 of `bytes[from..to)`.
 */

let table: Int32Array | undefined;

function makeTable(): Int32Array {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
}

export function crc32(bytes: Uint8Array, from = 0, to = bytes.length): number {
  const t = (table ??= makeTable());
  let c = -1;
  for (let i = from; i < to; i++) c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
