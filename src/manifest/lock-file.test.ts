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

  it('round-trips a pinned backbone, and refuses one whose oid is not an oid', () => {
    const pinned: Lock = { ...lock, backbone: { source: 'models/mobilenet', oid: h('f'), layer: 'global_average_pooling2d', dims: 1280 } };
    const text = serializeLock(pinned);
    expect(text).toContain(`backbone:\n  source: models/mobilenet\n  oid: ${h('f')}\n  layer: global_average_pooling2d\n  dims: 1280\nevaluation:`);
    expect(parseLock(text).lock?.backbone).toEqual(pinned.backbone);
    expect(parseLock(text.replace(`oid: ${h('f')}`, 'oid: ../../etc')).problems).toContainEqual(expect.stringMatching(/'backbone\.oid': expected an object id/));
  });

  it('reports a damaged lock with its position', () => {
    expect(parseLock('format: 1\ndataset: nope\n').problems).toContainEqual(expect.stringMatching(/^d2\.lock:2:10: 'dataset': /));
  });
});

describe('d2.lock from an untrusted commit', () => {
  const fields: [string, (l: Lock, v: string) => Lock][] = [
    ['dataset', (l, v) => ({ ...l, dataset: v })],
    ['preprocess.config', (l, v) => ({ ...l, preprocess: { ...l.preprocess, config: v } })],
    ['model.oid', (l, v) => ({ ...l, model: { ...l.model, oid: v } })],
    ['model.build', (l, v) => ({ ...l, model: { ...l.model, build: v } })],
    ['model.record', (l, v) => ({ ...l, model: { ...l.model, record: v } })],
    ['evaluation', (l, v) => ({ ...l, evaluation: v })],
  ];
  const crafted = ['../../x', '../../../../../../home/user/.bashrc', 'a'.repeat(63), 'a'.repeat(65), 'A'.repeat(64), `${'a'.repeat(62)}/x`, 'not-a-key'];

  it.each(fields.flatMap(([field, set]) => crafted.map((v) => [field, v, set] as const)))('refuses %s: %j', (field, value, set) => {
    const text = serializeLock(set(lock, value));
    const r = parseLock(text);
    expect(r.lock).toBeUndefined();
    expect(r.problems).toEqual([expect.stringMatching(new RegExp(`^d2\\.lock:\\d+:\\d+: '${field.replace('.', '\\.')}': expected an object id \\(64 lower-case hex digits\\)$`))]);
  });

  it('accepts a lock whose every oid is well formed, record included', () => {
    expect(parseLock(serializeLock({ ...lock, model: { ...lock.model, record: h('f') } })).problems).toEqual([]);
  });
});

