import { describe, expect, it } from 'vitest';
import { parsePredictionChunk, rowsByOid, serializePredictionChunk, type PredictionChunk } from './predictions.js';

describe('prediction chunks', () => {
  const chunk: PredictionChunk = {
    format: 1, build: 'b'.repeat(64), model: 'm'.repeat(64), classes: ['cat', 'dog'],
    oids: ['x', 'y'], probs: Float32Array.from([0.1, 0.9, 0.7000000476837158, 0.3]), failed: { z: 'not an image' },
  };

  it('round-trips exactly', () => {
    const back = parsePredictionChunk(serializePredictionChunk(chunk));
    expect(back).toEqual(chunk);
    expect(Array.from(back.probs)).toEqual(Array.from(chunk.probs));
  });

  it('finds each row by oid', () => {
    const rows = rowsByOid(chunk);
    expect(Array.from(rows.get('y')!)).toEqual([Math.fround(0.7000000476837158), Math.fround(0.3)]);
    expect(rows.has('z')).toBe(false);
  });

  it('refuses other objects and truncated probabilities', () => {
    expect(() => parsePredictionChunk('{"format":1,"kind":"d2-evaluation"}')).toThrow(/not a d2 predictions object/);
    const text = serializePredictionChunk({ ...chunk, probs: chunk.probs.subarray(0, 2) });
    expect(() => parsePredictionChunk(text)).toThrow(/2 probabilities for 2 items/);
  });
});
