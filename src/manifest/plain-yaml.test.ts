import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { serializeLock, type Lock } from './lock-file.js';
import { parsePlainYaml } from './plain-yaml.js';
import { serializeSnapshot } from './snapshot-file.js';

const h = (c: string) => c.repeat(64);

function lock(i: number): Lock {
  return {
    format: 1, dataset: h('a'), classes: ['ankle_boot', 'bag', 'T-shirt/top'],
    preprocess: {
      modality: 'image', config: `${i}${h('b')}`.slice(0, 64), derived: i % 2 === 0,
      steps: [{ resize: { width: 28, height: 28, fit: 'cover', kernel: 'bilinear', background: 0 } }, { channels: 1 }, { normalize: { mean: [0.5], std: 0.25 } }],
      shape: [28, 28, 1],
    },
    model: { oid: h('c'), build: h('d'), record: h('e'), preset: 'fast', seed: i, architecture: 'cnn conv16-pool-conv32-pool-dense64-dense3', engine: 'wasm@4.22.0+simd', trainer: 'd2-trainer-2', epochs: 10, stopped: 'patience' },
    evaluation: h('f'),
    metrics: {
      validation: { count: 12, accuracy: 1 / 3, macroF1: 0.123456 },
      test: { count: 8, accuracy: i / 8, macroF1: 1e-7 },
      modelTests: { count: 3, passed: 3 - (i % 2), failed: i % 2 ? ['img/bag/t10k-00126.png'] : [] },
    },
  };
}

describe('plain YAML (what d2 writes itself)', () => {
  it('reads serialised locks and snapshots exactly as the YAML parser does', () => {
    for (let i = 0; i < 8; i++) {
      const text = serializeLock(lock(i));
      expect(parsePlainYaml(text), text).toEqual(parse(text));
    }
    const snap = serializeSnapshot({ format: 1, source: 'fashion', listing: h('a'), items: 2, bytes: 10, labelled: 1 });
    expect(parsePlainYaml(snap)).toEqual(parse(snap));
  });

  it('reads an oid made of digits and e as YAML does, or leaves it to the YAML parser', () => {
    for (const oid of [`1e5${h('a').slice(3)}`, `12${h('3').slice(2)}`, h('0'), `1e${'5'.repeat(62)}`]) {
      const text = `listing: ${oid}\n`;
      const plain = parsePlainYaml(text);
      if (plain !== undefined) expect(plain).toEqual(parse(text));
    }
    expect(parsePlainYaml(`listing: ${h('1')}\n`)).toBeUndefined(); // a number to YAML
  });

  it.each([
    ['a quoted value', 'source: "x"\n'],
    ['null', 'a: null\n'],
    ['a key without a value', 'a:\n'],
    ['a hex number', 'a: 0x10\n'],
    ['.inf', 'a: .inf\n'],
    ['a flow list', 'a: [1, 2]\n'],
    ['a comment after a value', 'a: b # c\n'],
    ['an anchor', 'a: &x b\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['a tab', 'a:\tb\n'],
    ['yes', 'a: yes\n'],
    ['a huge integer', 'a: 123456789012345678901\n'],
    ['bad indentation', 'a:\n  b: 1\n c: 2\n'],
    ['an empty document', '# only a comment\n'],
  ])('leaves %s to the YAML parser', (_what, text) => {
    expect(parsePlainYaml(text)).toBeUndefined();
  });
});
