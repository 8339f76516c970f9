import { describe, expect, it } from 'vitest';
import { parseLock, serializeLock, type Lock } from './lock-file.js';

const h = (c: string) => c.repeat(64);
const lock: Lock = {
  format: 1,
  dataset: h('a'),
  classes: ['bag', 'coat'],
  preprocess: { modality: 'image', config: h('b'), derived: true, steps: [{ resize: { width: 28, height: 28, fit: 'cover', kernel: 'bilinear', background: 0 } }, { channels: 1 }], shape: [28, 28, 1] },
  model: { oid: h('c'), build: h('d'), preset: 'default', seed: 0, architecture: 'cnn-small', engine: 'wasm', trainer: '1', epochs: 12, stopped: 'early-stopping' },
  evaluation: h('e'),
  metrics: { test: { count: 100, accuracy: 0.9123456789, macroF1: 0.9 }, modelTests: { count: 2, passed: 1, failed: ['img/x.png'] } },
};

describe('d2.lock', () => {
  it('round-trips, with metrics rounded for stable diffs', () => {
    const text = serializeLock(lock);
    expect(text).toMatch(/^# Written by 'd2 build'/);
    expect(text).toContain('accuracy: 0.912346');
    const back = parseLock(text);
    expect(back.problems).toEqual([]);
    expect(back.lock).toEqual({ ...lock, metrics: { ...lock.metrics, test: { count: 100, accuracy: 0.912346, macroF1: 0.9 } } });
    expect(serializeLock(back.lock!)).toBe(text);
  });

  it('reports a damaged lock with its position', () => {
    expect(parseLock('format: 1\ndataset: nope\n').problems).toContainEqual(expect.stringMatching(/^d2\.lock:2:10: 'dataset': /));
  });
});
