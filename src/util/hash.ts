/**
 * SHA-256 of bytes and files (Node's crypto: ≈ 1.1 GB/s here, twice BLAKE3 in WebAssembly).
 * Files are hashed with streaming reads, so memory stays bounded whatever their size.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

const CHUNK = 1 << 20;

/** Hash an open file from its start; returns the digest and the number of bytes read. */
export function hashFdSync(fd: number): { oid: string; size: number } {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(CHUNK);
  let pos = 0;
  for (;;) {
    const n = fs.readSync(fd, buf, 0, CHUNK, pos);
    if (n === 0) break;
    h.update(n === CHUNK ? buf : buf.subarray(0, n));
    pos += n;
  }
  return { oid: h.digest('hex'), size: pos };
}

export function hashFileSync(file: string): { oid: string; size: number } {
  const fd = fs.openSync(file, 'r');
  try {
    return hashFdSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
