import { describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64 } from './base64.js';
import { base64ToF32, f32ToBase64 } from '../core/evaluation.js';

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

describe('base64', () => {
  it('encodes exactly as Node does, every padding case, and decodes back', () => {
    for (let n = 0; n <= 70; n++) {
      const b = bytes(n, n + 1);
      const text = bytesToBase64(b);
      expect(text).toBe(Buffer.from(b).toString('base64'));
      expect(Array.from(base64ToBytes(text))).toEqual(Array.from(b));
    }
    expect(bytesToBase64(Uint8Array.from([255, 254, 253, 0]))).toBe('//79AA==');
  });

  it('refuses text that is not base64', () => {
    expect(() => base64ToBytes('abc')).toThrow(/multiple of 4/);
    expect(() => base64ToBytes('ab!d')).toThrow(/invalid base64 character/);
    expect(() => base64ToBytes('ab\u0141d')).toThrow(/invalid base64 character/);
    expect(() => base64ToBytes('a=bc')).toThrow(/invalid base64 character/);
  });

  it('carries float32 arrays, views included, bit for bit', () => {
    const all = Float32Array.from([0, -0, 1.5, Number.NaN, Infinity, -3.25e-30, 7]);
    const view = all.subarray(2, 6);
    const back = base64ToF32(f32ToBase64(view));
    expect(Array.from(new Uint32Array(back.buffer, back.byteOffset, back.length))).toEqual(Array.from(new Uint32Array(view.buffer, view.byteOffset, view.length)));
    expect(() => base64ToF32(bytesToBase64(Uint8Array.from([1, 2, 3])))).toThrow(/whole 32-bit/);
  });
});
