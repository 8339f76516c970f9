/**
 * Text to feature vectors: the one implementation d2 runs for text items in training,
 * evaluation, prediction and (bundled by preprocess/portable.ts) in an exported bundle.
 *
 *   raw bytes ─ decodeText ─► string ─ countTerms ─► TermCounts (per chunk: term ids, counts)
 *   train TermCounts ─ fitTextEncoding ─► TextEncoding (columns, idf)   stored with the model
 *   TermCounts + TextEncoding ─ encodeTerms ─► float32 TF-IDF vector (chunks averaged)
 *
 * A term is a word n-gram or a character n-gram of the normalised text (NFKC, lower case); its
 * id is the 32-bit FNV-1a hash of its UTF-8 bytes (word and char n-grams hashed apart).
 * `countTerms` depends on the text and the text settings only, so its result is cached per item;
 * the encoding (the vocabulary or hash buckets, and the IDF weights) is fitted on the train
 * split only.
 *
 * Invariants: pure and deterministic (no clock, no randomness, no locale: `toLowerCase` is
 * locale-independent); ids are sorted within a chunk, so the same text always gives the same
 * numbers in the same order; a text that cannot be read (invalid UTF-8, NUL bytes, too large,
 * empty) is an ItemInvalid with a `reason`, never a silent zero vector.
 */
import { InvalidArgument, ItemInvalid } from '../errors/index.js';

/** The text settings (d2.yaml `preprocess.text`, defaults applied). */
export interface TextSettings {
  normalize: 'nfkc' | 'none';
  lowercase: boolean;
  /** Word n-gram range [min, max], or null for none. */
  words: [number, number] | null;
  /** Character n-gram range within words (padded with a space each side), or null for none. */
  chars: [number, number] | null;
  /** Columns: the most frequent terms of train ('vocabulary') or hash buckets ('hashing'). */
  features: 'vocabulary' | 'hashing';
  /** Number of columns (vocabulary: at most this many terms; hashing: this many buckets). */
  dimensions: number;
  /** Vocabulary: a term is kept when it is in at least this many training items. */
  minCount: number;
  /** Term frequency: the count ('raw') or 1 + ln(count) ('log'). */
  tf: 'raw' | 'log';
  /** Split long texts into windows of this many words (overlapping by `overlap`), averaged per item. */
  chunk: { words: number; overlap: number } | null;
  /** Texts larger than this many bytes are bad items. */
  maxBytes: number;
}

export const TEXT_DEFAULTS: TextSettings = {
  normalize: 'nfkc', lowercase: true, words: [1, 1], chars: null, features: 'vocabulary', dimensions: 4096, minCount: 1, tf: 'raw', chunk: null, maxBytes: 10_000_000,
};

/** Term ids and counts of one chunk of a text (ids ascending, unique). */
export interface ChunkCounts {
  ids: number[];
  counts: number[];
}

/** The terms of one text: one entry per chunk (one when not chunked). */
export type TermCounts = ChunkCounts[];

/** How term counts become a vector: fitted on train, stored with the model (plain data). */
export interface TextEncoding {
  version: 1;
  settings: TextSettings;
  /** Vocabulary: the term id of each column, ascending; null for hashing. */
  vocabulary: number[] | null;
  /** Inverse document frequency of each column: ln((1 + n) / (1 + df)) + 1. */
  idf: number[];
  /** Length of an encoded text. */
  width: number;
  /** Tables: the column holding the text (what `d2 predict` reads from a CSV), else null. */
  column: string | null;
}

const BOM = '\uFEFF';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The text of a raw item: UTF-8 (a leading byte-order mark dropped), no NUL byte, at most
 * `maxBytes`, not blank. Throws ItemInvalid with reason 'too-large', 'not-utf8', 'nul-byte' or
 * 'empty-text'.
 */
export function decodeText(bytes: Uint8Array, maxBytes: number = TEXT_DEFAULTS.maxBytes): string {
  if (bytes.length > maxBytes) {
    throw new ItemInvalid(`the text is ${bytes.length} bytes, more than the limit of ${maxBytes}`, { data: { reason: 'too-large', bytes: bytes.length, maxBytes } });
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    throw new ItemInvalid(`the text is not valid UTF-8 (at byte ${offset})`, { data: { reason: 'not-utf8', offset } });
  }
  if (text.startsWith(BOM)) text = text.slice(1);
  return checkText(text, maxBytes);
}

/** A text already decoded (a table cell): no NUL character, not too large, not blank. */
export function checkText(text: string, maxBytes: number = TEXT_DEFAULTS.maxBytes): string {
  const nul = text.indexOf('\0');
  if (nul >= 0) throw new ItemInvalid(`the text has a NUL character at offset ${nul} (binary data, or UTF-16?)`, { data: { reason: 'nul-byte', offset: nul } });
  if (text.length > maxBytes) throw new ItemInvalid(`the text is ${text.length} characters, more than the limit of ${maxBytes}`, { data: { reason: 'too-large', maxBytes } });
  if (text.trim() === '') throw new ItemInvalid('the text is empty', { data: { reason: 'empty-text' } });
  return text;
}

/** Byte offset of the first byte that is not part of a valid UTF-8 sequence (bytes.length if none). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    const n = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
    }
    if (n === 2 && ((b === 0xe0 && (bytes[i + 1] as number) < 0xa0) || (b === 0xed && (bytes[i + 1] as number) > 0x9f))) return i;
    if (n === 3 && ((b === 0xf0 && (bytes[i + 1] as number) < 0x90) || (b === 0xf4 && (bytes[i + 1] as number) > 0x8f))) return i;
    i += n + 1;
  }
  return i;
}

/** Unicode NFKC (when asked) and lower case. */
export function normalizeText(text: string, settings: Pick<TextSettings, 'normalize' | 'lowercase'>): string {
  let t = settings.normalize === 'nfkc' ? text.normalize('NFKC') : text;
  if (settings.lowercase) t = t.toLowerCase();
  return t;
}

/** Words: runs of two or more letters, marks, digits or underscores (as scikit-learn's default). */
const WORD = /[\p{L}\p{M}\p{N}_]{2,}/gu;

export function wordsOf(normalized: string): string[] {
  return normalized.match(WORD) ?? [];
}

/** Windows of `size` words overlapping by `overlap` (the last one may be shorter); one window for short texts. */
export function chunkWords(words: readonly string[], chunk: TextSettings['chunk']): string[][] {
  if (!chunk || words.length <= chunk.words) return [words.slice()];
  const step = Math.max(1, chunk.words - chunk.overlap);
  const out: string[][] = [];
  for (let start = 0; ; start += step) {
    out.push(words.slice(start, start + chunk.words));
    if (start + chunk.words >= words.length) break;
  }
  return out;
}

/** The terms of a list of words: word n-grams ('a b'), then character n-grams of each padded word. */
export function termsOf(words: readonly string[], settings: Pick<TextSettings, 'words' | 'chars'>): { words: string[]; chars: string[] } {
  const w: string[] = [];
  const c: string[] = [];
  if (settings.words) {
    const [lo, hi] = settings.words;
    for (let n = lo; n <= hi; n++) for (let i = 0; i + n <= words.length; i++) w.push(words.slice(i, i + n).join(' '));
  }
  if (settings.chars) {
    const [lo, hi] = settings.chars;
    for (const word of words) {
      const padded = Array.from(` ${word} `); // code points, not UTF-16 units
      for (let n = lo; n <= hi; n++) for (let i = 0; i + n <= padded.length; i++) c.push(padded.slice(i, i + n).join(''));
    }
  }
  return { words: w, chars: c };
}

/** 32-bit FNV-1a of a string's UTF-8 bytes, seeded with a kind byte (word and char n-grams apart). */
export function hashTerm(term: string, kind: 'word' | 'char' = 'word'): number {
  let h = 0x811c9dc5;
  const mix = (byte: number) => {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  mix(kind === 'word' ? 0x77 : 0x63);
  for (const ch of term) {
    let cp = ch.codePointAt(0) as number;
    if (cp < 0x80) mix(cp);
    else if (cp < 0x800) { mix(0xc0 | (cp >> 6)); mix(0x80 | (cp & 63)); }
    else if (cp < 0x10000) { mix(0xe0 | (cp >> 12)); mix(0x80 | ((cp >> 6) & 63)); mix(0x80 | (cp & 63)); }
    else { cp &= 0x1fffff; mix(0xf0 | (cp >> 18)); mix(0x80 | ((cp >> 12) & 63)); mix(0x80 | ((cp >> 6) & 63)); mix(0x80 | (cp & 63)); }
  }
  return h >>> 0;
}

function countIds(ids: number[]): ChunkCounts {
  ids.sort((a, b) => a - b);
  const out: ChunkCounts = { ids: [], counts: [] };
  for (const id of ids) {
    const last = out.ids.length - 1;
    if (last >= 0 && out.ids[last] === id) out.counts[last] = (out.counts[last] as number) + 1;
    else { out.ids.push(id); out.counts.push(1); }
  }
  return out;
}

/** A text's term counts per chunk (what is cached per item). */
export function countTerms(text: string, settings: TextSettings): TermCounts {
  const words = wordsOf(normalizeText(text, settings));
  return chunkWords(words, settings.chunk).map((chunk) => {
    const t = termsOf(chunk, settings);
    return countIds([...t.words.map((x) => hashTerm(x, 'word')), ...t.chars.map((x) => hashTerm(x, 'char'))]);
  });
}

/** Check settings a user wrote (the manifest's schema checks each value; these relate two). */
export function checkTextSettings(s: TextSettings): void {
  if (!s.words && !s.chars) throw new InvalidArgument("'preprocess.text' has neither word nor character n-grams", { hint: "set 'words: [1, 1]' or 'chars: [2, 4]'" });
  for (const [name, r] of [['words', s.words], ['chars', s.chars]] as const) {
    if (r && (r[0] < 1 || r[1] < r[0])) throw new InvalidArgument(`'preprocess.text.${name}' [${r.join(', ')}] is not a range [min, max] with 1 <= min <= max`);
  }
  if (s.chunk && s.chunk.overlap >= s.chunk.words) throw new InvalidArgument(`'preprocess.text.chunk.overlap' (${s.chunk.overlap}) must be smaller than 'words' (${s.chunk.words})`);
}

/** Items (not chunks) of `docs` each id appears in, by id. */
function documentFrequencies(docs: readonly TermCounts[], column: (id: number) => number | undefined): Map<number, number> {
  const df = new Map<number, number>();
  for (const doc of docs) {
    const seen = new Set<number>();
    for (const chunk of doc) for (const id of chunk.ids) {
      const c = column(id);
      if (c !== undefined) seen.add(c);
    }
    for (const c of seen) df.set(c, (df.get(c) ?? 0) + 1);
  }
  return df;
}

/**
 * Fit the encoding on the training items' term counts: the vocabulary (the `dimensions` terms
 * in most training items, at least `minCount`; ties by id) or the hash buckets, and the IDF
 * weights (scikit-learn's smooth IDF).
 */
export function fitTextEncoding(train: readonly TermCounts[], settings: TextSettings, column: string | null = null): TextEncoding {
  if (train.length === 0) throw new InvalidArgument('no training items to fit the text encoding on', { hint: 'check the dataset split: train is empty' });
  const n = train.length;
  let vocabulary: number[] | null = null;
  let width = settings.dimensions;
  let df: Map<number, number>;
  if (settings.features === 'vocabulary') {
    const counts = documentFrequencies(train, (id) => id);
    const kept = [...counts.entries()].filter(([, c]) => c >= settings.minCount).sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, settings.dimensions);
    if (kept.length === 0) throw new InvalidArgument(`no term is in at least ${settings.minCount} training item(s): the vocabulary is empty`, { hint: "lower 'preprocess.text.minCount' in d2.yaml, or add training data" });
    vocabulary = kept.map(([id]) => id).sort((a, b) => a - b);
    width = vocabulary.length;
    const at = new Map(vocabulary.map((id, i) => [id, i]));
    df = new Map(kept.map(([id, c]) => [at.get(id)!, c]));
  } else {
    df = documentFrequencies(train, (id) => id % settings.dimensions);
  }
  const idf = Array.from({ length: width }, (_, c) => Math.fround(Math.log((1 + n) / (1 + (df.get(c) ?? 0))) + 1));
  return { version: 1, settings, vocabulary, idf, width, column };
}

const columnMaps = new WeakMap<TextEncoding, Map<number, number>>();

function columnOf(enc: TextEncoding): (id: number) => number | undefined {
  if (!enc.vocabulary) {
    const d = enc.width;
    return (id) => id % d;
  }
  let m = columnMaps.get(enc);
  if (!m) {
    m = new Map(enc.vocabulary.map((id, i) => [id, i]));
    columnMaps.set(enc, m);
  }
  const map = m;
  return (id) => map.get(id);
}

/**
 * Term counts to the model's input: per chunk TF × IDF, L2-normalised; the chunks' vectors
 * averaged (for a linear model, the same as averaging the chunks' logits). Terms outside the
 * vocabulary are ignored; a text with none gives zeros.
 */
export function encodeTerms(doc: TermCounts, enc: TextEncoding, out: Float32Array = new Float32Array(enc.width)): Float32Array {
  out.fill(0);
  const column = columnOf(enc);
  const logTf = enc.settings.tf === 'log';
  const chunks = doc.length || 1;
  for (const chunk of doc) {
    const cols: number[] = [];
    const vals: number[] = [];
    let norm = 0;
    for (let i = 0; i < chunk.ids.length; i++) {
      const c = column(chunk.ids[i] as number);
      if (c === undefined) continue;
      const count = chunk.counts[i] as number;
      const v = (logTf ? 1 + Math.log(count) : count) * (enc.idf[c] as number);
      cols.push(c);
      vals.push(v);
    }
    // Hash buckets may receive several terms: sum them before the norm.
    const merged = new Map<number, number>();
    for (let i = 0; i < cols.length; i++) merged.set(cols[i] as number, (merged.get(cols[i] as number) ?? 0) + (vals[i] as number));
    for (const v of merged.values()) norm += v * v;
    if (norm === 0) continue;
    const scale = 1 / (Math.sqrt(norm) * chunks);
    for (const [c, v] of merged) out[c] = (out[c] as number) + v * scale;
  }
  return out;
}

/** A text (already decoded) to the model's input with a fitted encoding. */
export function encodeText(text: string, enc: TextEncoding, out?: Float32Array): Float32Array {
  return encodeTerms(countTerms(text, enc.settings), enc, out);
}

/** A short one-line excerpt of a text (diffs and reports show it beside an item's path). */
export function textSnippet(text: string, max = 60): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const chars = Array.from(flat);
  return chars.length <= max ? flat : `${chars.slice(0, max - 1).join('')}…`;
}
