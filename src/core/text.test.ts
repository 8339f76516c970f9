import { describe, expect, it } from 'vitest';
import { ItemInvalid } from '../errors/index.js';
import { parseTextPack, serializeTextPack } from './text-pack.js';
import {
  chunkWords, countTerms, decodeText, encodeTerms, encodeText, firstInvalidUtf8, fitTextEncoding, hashTerm, normalizeText, termsOf,
  TEXT_DEFAULTS, textSnippet, wordsOf, type TextSettings,
} from './text.js';

const settings = (over: Partial<TextSettings> = {}): TextSettings => ({ ...TEXT_DEFAULTS, ...over });
const bytes = (s: string) => new TextEncoder().encode(s);

function reason(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ItemInvalid);
    return (e as ItemInvalid).data.reason;
  }
  throw new Error('expected an ItemInvalid');
}

describe('decodeText', () => {
  it('drops a byte-order mark and keeps the rest', () => {
    expect(decodeText(new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('héllo')]))).toBe('héllo');
  });
  it('refuses invalid UTF-8, NUL bytes, texts over the limit and blank texts, each with its reason', () => {
    expect(reason(() => decodeText(new Uint8Array([0x61, 0xff, 0x62])))).toBe('not-utf8');
    expect(reason(() => decodeText(bytes('a\0b')))).toBe('nul-byte');
    expect(reason(() => decodeText(new Uint8Array([0xff, 0xfe, 0x61, 0x00])))).toBe('not-utf8'); // UTF-16 LE
    expect(reason(() => decodeText(bytes('x'.repeat(11)), 10))).toBe('too-large');
    expect(reason(() => decodeText(bytes(' \n\t')))).toBe('empty-text');
  });
  it('finds the first invalid byte', () => {
    expect(firstInvalidUtf8(bytes('ok é'))).toBe(5);
    expect(firstInvalidUtf8(new Uint8Array([0x61, 0x62, 0xc3]))).toBe(2); // truncated sequence
    expect(firstInvalidUtf8(new Uint8Array([0xed, 0xa0, 0x80]))).toBe(0); // a surrogate
  });
});

describe('normalisation and tokenisation', () => {
  it('folds compatibility forms (NFKC) and case', () => {
    expect(normalizeText('Ｆｕｌｌ ﬁne Ⅻ', { normalize: 'nfkc', lowercase: true })).toBe('full fine xii');
    expect(normalizeText('Ｆｕｌｌ', { normalize: 'none', lowercase: false })).toBe('Ｆｕｌｌ');
  });
  it('takes words of two or more letters, digits or underscores, in any script', () => {
    expect(wordsOf("it's a C++ lib_2 für 東京 x")).toEqual(['it', 'lib_2', 'für', '東京']);
  });
  it('makes word n-grams and character n-grams of padded words', () => {
    const t = termsOf(['big', 'cat'], { words: [1, 2], chars: [2, 2] });
    expect(t.words).toEqual(['big', 'cat', 'big cat']);
    expect(t.chars).toEqual([' b', 'bi', 'ig', 'g ', ' c', 'ca', 'at', 't ']);
  });
  it('hashes terms with FNV-1a over UTF-8, word and char n-grams apart', () => {
    expect(hashTerm('a', 'word')).toBe(hashTerm('a', 'word'));
    expect(hashTerm('a', 'word')).not.toBe(hashTerm('a', 'char'));
    // FNV-1a 32 of the bytes 0x77 'a': a fixed value, so the bundle and d2 agree across releases.
    let h = 0x811c9dc5;
    for (const b of [0x77, 0x61]) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    expect(hashTerm('a', 'word')).toBe(h);
    expect(hashTerm('é')).not.toBe(hashTerm('e'));
  });
});

describe('chunks', () => {
  it('splits long word lists into overlapping windows, the last one shorter', () => {
    const w = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    expect(chunkWords(w, { words: 3, overlap: 1 })).toEqual([['a', 'b', 'c'], ['c', 'd', 'e'], ['e', 'f', 'g']]);
    expect(chunkWords(w, { words: 4, overlap: 0 })).toEqual([['a', 'b', 'c', 'd'], ['e', 'f', 'g']]);
    expect(chunkWords(w, null)).toEqual([w]);
    expect(chunkWords(['a'], { words: 3, overlap: 0 })).toEqual([['a']]);
  });
  it("averages the chunks' L2-normalised vectors, so a linear model's logits are the chunks' mean", () => {
    const s = settings({ chunk: { words: 2, overlap: 0 }, features: 'hashing', dimensions: 64 });
    const doc = countTerms('red red blue blue', s); // chunks: 'red red' and 'blue blue'
    expect(doc).toHaveLength(2);
    const enc = fitTextEncoding([doc, countTerms('green green', s)], s);
    const v = encodeTerms(doc, enc);
    const red = encodeTerms([doc[0]!], enc);
    const blue = encodeTerms([doc[1]!], enc);
    for (let i = 0; i < v.length; i++) expect(v[i]).toBeCloseTo(((red[i] as number) + (blue[i] as number)) / 2, 6);
    // A linear map (weights w, bias b) of the average is the average of the chunks' maps.
    const w = Array.from({ length: 64 }, (_, i) => Math.sin(i));
    const dot = (x: Float32Array) => x.reduce((a, xi, i) => a + xi * w[i]!, 0) + 0.5;
    expect(dot(v)).toBeCloseTo((dot(red) + dot(blue)) / 2, 5);
  });
});

describe('fitTextEncoding and encodeTerms', () => {
  const s = settings();
  const train = ['the cat sat', 'the dog sat', 'the cat ran'].map((t) => countTerms(t, s));

  it('fits the vocabulary on the training texts only, most frequent first, by id', () => {
    const enc = fitTextEncoding(train, settings({ dimensions: 3 }));
    // document frequencies: the 3, sat 2, cat 2, dog 1, ran 1 → the, sat, cat
    const ids = ['the', 'sat', 'cat'].map((w) => hashTerm(w)).sort((a, b) => a - b);
    expect(enc.vocabulary).toEqual(ids);
    expect(enc.width).toBe(3);
    // a word seen only outside train ('bird') has no column: it encodes to zeros
    expect(Array.from(encodeText('bird', enc))).toEqual([0, 0, 0]);
  });
  it('drops terms in fewer than minCount training texts', () => {
    const enc = fitTextEncoding(train, settings({ minCount: 2 }));
    expect(enc.width).toBe(3);
    expect(() => fitTextEncoding(train, settings({ minCount: 4 }))).toThrow(/vocabulary is empty/);
  });
  it('weights by smooth IDF and normalises to unit length (as scikit-learn)', () => {
    const enc = fitTextEncoding(train, s);
    const col = (w: string) => enc.vocabulary!.indexOf(hashTerm(w));
    expect(enc.idf[col('the')]).toBeCloseTo(Math.log(4 / 4) + 1, 6);
    expect(enc.idf[col('dog')]).toBeCloseTo(Math.log(4 / 2) + 1, 6);
    const v = encodeText('the dog the', enc);
    const norm = Math.hypot(...v);
    expect(norm).toBeCloseTo(1, 6);
    const the = 2 * enc.idf[col('the')]!;
    const dog = 1 * enc.idf[col('dog')]!;
    expect(v[col('the')]).toBeCloseTo(the / Math.hypot(the, dog), 6);
  });
  it('hashes into a fixed number of buckets, IDF per bucket', () => {
    const enc = fitTextEncoding(train, settings({ features: 'hashing', dimensions: 16 }));
    expect(enc.vocabulary).toBeNull();
    expect(enc.width).toBe(16);
    const v = encodeText('the cat', enc);
    expect(v).toHaveLength(16);
    expect(v[hashTerm('the') % 16]).toBeGreaterThan(0);
  });
  it('is deterministic and does not depend on the order of the texts beyond the fit', () => {
    const a = fitTextEncoding(train, s);
    const b = fitTextEncoding([...train].reverse(), s);
    expect(b).toEqual(a);
    expect(Array.from(encodeText('the cat sat', a))).toEqual(Array.from(encodeText('the cat sat', b)));
  });
  it('refuses an empty training set', () => {
    expect(() => fitTextEncoding([], s)).toThrow(/no training items/);
  });
});

describe('text packs', () => {
  it('round-trip and refuse crafted content', () => {
    const oid = 'a'.repeat(64);
    const terms = [countTerms('one two two', TEXT_DEFAULTS)];
    const pack = parseTextPack(serializeTextPack(oid, [oid], terms));
    expect(pack.terms).toEqual(terms);
    expect(() => parseTextPack(serializeTextPack(oid, ['../x'], terms))).toThrow(/oids/);
    expect(() => parseTextPack(JSON.stringify({ format: 1, kind: 'd2-text-pack', config: oid, items: [oid], terms: [[[[1], [-1]]]] }))).toThrow(/chunk/);
  });
});

it('textSnippet keeps one line and cuts with an ellipsis', () => {
  expect(textSnippet('a\n b   c')).toBe('a b c');
  expect(textSnippet('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
});
