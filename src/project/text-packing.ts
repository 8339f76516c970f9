/**
 * Packs of text datasets: each item's text (a file of a folder source, or a cell of a table's
 * `textColumn`) counted into terms (core/text.ts `countTerms`), one text pack per set, and the
 * encoding (vocabulary or hash buckets, IDF) fitted on the train set only, kept in the packed
 * record. The dense TF-IDF vectors are made when a set is loaded (tensors.ts), as the images'
 * normalisation is.
 *
 * Cached by content like images: the text packs of one counting configuration are the per-item
 * cache (`.d2/state/packs-<key>`), so a relabel (same items in the same sets) counts no text
 * again, and new items only count themselves.
 *
 * Invariants: every item goes through `decodeText`/`checkText` then `countTerms`, the functions
 * prediction and the exported bundle run; an item that cannot be read (invalid UTF-8, NUL
 * bytes, too large, empty) fails the build or is listed as skipped, never dropped silently.
 */
import type { DatasetItem, ItemSet, ResolvedDataset } from '../core/dataset.js';
import { parseTextPack, serializeTextPack } from '../core/text-pack.js';
import { checkText, countTerms, decodeText, fitTextEncoding, type TermCounts, type TextEncoding, type TextSettings } from '../core/text.js';
import { D2Error, InvalidArgument, ItemInvalid, throwIfAborted } from '../errors/index.js';
import { isTableSource, type TextDecl } from '../manifest/index.js';
import type { ObjectStore } from '../store/index.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import { findPackedDataset, ITEM_SETS, recordPackedPointer, where, type PackedDataset, type PackedSet, type PackStats, type SkippedItem } from './packing.js';
import type { ProjectState } from './revision.js';
import { readTableItems, tableText } from './table-source.js';

/** Bump when `countTerms` gives other counts for the same text and settings. */
export const TEXT_PREPROCESS_VERSION = 1;

/** The settings of d2.yaml's `preprocess.text`, as core/text.ts takes them. */
export function textSettingsOf(decl: TextDecl): TextSettings {
  return {
    normalize: decl.normalize, lowercase: decl.lowercase,
    words: decl.words ? [decl.words[0], decl.words[1]] : null,
    chars: decl.chars ? [decl.chars[0], decl.chars[1]] : null,
    features: decl.features, dimensions: decl.dimensions, minCount: decl.minCount, tf: decl.tf,
    chunk: decl.chunk ? { words: decl.chunk.words, overlap: decl.chunk.overlap } : null,
    maxBytes: decl.maxBytes,
  };
}

/** The key of the per-item stage (what `countTerms` depends on). */
export function textCountKey(s: TextSettings): string {
  return sha256Hex(canonicalJson({ kind: 'text-terms', version: TEXT_PREPROCESS_VERSION, normalize: s.normalize, lowercase: s.lowercase, words: s.words, chars: s.chars, chunk: s.chunk, maxBytes: s.maxBytes }));
}

/** Where the texts of a state's items are: table rows by item oid, and the text column of each table source. */
export interface TextItems {
  rows: Map<string, Record<string, string>>;
  column: Map<string, string>;
}

/** Read the rows of a state's text table sources (folder sources need nothing: their items are files). */
export function readTextItems(store: ObjectStore, state: ProjectState, sources: readonly string[]): TextItems {
  const rows = new Map<string, Record<string, string>>();
  const column = new Map<string, string>();
  for (const name of sources) {
    const decl = state.manifest.sources[name];
    const src = state.sources.get(name);
    if (!decl || !src || !isTableSource(decl) || decl.textColumn === undefined) continue;
    if (!src.snapshot.table) throw new InvalidArgument(`source '${name}' is not a table`, { data: { source: name } });
    column.set(name, decl.textColumn);
    for (const [oid, values] of readTableItems(tableText(store.read(src.snapshot.table), decl, decl.path), decl, decl.path).rows) rows.set(oid, values);
  }
  return { rows, column };
}

/** The text of one item of a text source; throws ItemInvalid when it cannot be read. */
export function textOfItem(store: ObjectStore, items: TextItems, it: Pick<DatasetItem, 'source' | 'oid' | 'size'>, maxBytes: number): string {
  const col = items.column.get(it.source);
  if (col === undefined) return decodeText(store.read(it.oid, it.size), maxBytes);
  const row = items.rows.get(it.oid);
  if (!row) throw new D2Error(`internal: row ${it.oid} of '${it.source}' not found in its table`);
  return checkText(row[col] ?? '', maxBytes);
}

/** The per-item cache of one counting configuration: the term counts of every item packed before. */
function loadCountCache(store: ObjectStore, key: string): { packs: string[]; byOid: Map<string, TermCounts> } {
  const packs: string[] = [];
  const byOid = new Map<string, TermCounts>();
  for (const oid of store.state.readLines('packs', key)) {
    if (!store.has(oid)) continue; // collected: a cache miss
    try {
      const pack = parseTextPack(store.readText(oid));
      if (pack.config !== key) continue;
      packs.push(oid);
      pack.items.forEach((item, i) => { if (!byOid.has(item)) byOid.set(item, pack.terms[i]!); });
    } catch {
      // a damaged pack is only a cache miss (fsck reports it)
    }
  }
  return { packs, byOid };
}

export async function buildTextPacks(
  store: ObjectStore,
  state: ProjectState,
  dataset: ResolvedDataset,
  datasetOid: string,
  options: { onBadItem: 'error' | 'skip'; signal?: AbortSignal; onProgress?: (e: { phase: string; loaded: number; total?: number }) => void },
): Promise<{ oid: string; record: PackedDataset; stats: PackStats }> {
  const settings = textSettingsOf(state.manifest.preprocess.text);
  const countKey = textCountKey(settings);
  const recordKey = sha256Hex(canonicalJson({ kind: 'text', version: TEXT_PREPROCESS_VERSION, settings }));
  const existing = findPackedDataset(store, datasetOid, recordKey);
  if (existing) return { ...existing, stats: { computed: 0, copied: 0, reusedSets: ITEM_SETS.length, reused: true } };

  const used = [...new Set(dataset.items.map((i) => i.source))];
  const texts = readTextItems(store, state, used);
  const cache = loadCountCache(store, countKey);
  const classIndex = new Map(dataset.classes.map((c, i) => [c, i]));
  const stats: PackStats = { computed: 0, copied: 0, reusedSets: 0, reused: false };
  const sets = {} as Record<ItemSet, PackedSet>;
  const setTerms = {} as Record<ItemSet, TermCounts[]>;
  const failures: SkippedItem[] = [];
  const toCompute = dataset.items.filter((it) => !cache.byOid.has(it.oid)).length;
  for (const set of ITEM_SETS) {
    throwIfAborted(options.signal);
    const items = dataset.items.filter((i) => i.set === set);
    const kept: DatasetItem[] = [];
    const terms: TermCounts[] = [];
    const failed: SkippedItem[] = [];
    let fresh = 0;
    for (const it of items) {
      let counts = cache.byOid.get(it.oid);
      if (counts) {
        stats.copied++;
      } else {
        try {
          counts = countTerms(textOfItem(store, texts, it, settings.maxBytes), settings);
        } catch (e) {
          if (!(e instanceof ItemInvalid)) throw e;
          failed.push({ source: it.source, path: it.path, oid: it.oid, reason: String(e.data.reason), message: `source '${it.source}': '${it.path}' (item ${it.oid.slice(0, 12)}): ${e.message}` });
          continue;
        }
        fresh++;
        stats.computed++;
        if (stats.computed % 1024 === 0) options.onProgress?.({ phase: 'preprocess', loaded: stats.computed, total: toCompute });
      }
      kept.push(it);
      terms.push(counts);
    }
    let pack: string | null = null;
    if (kept.length) {
      pack = store.putBytes(serializeTextPack(countKey, kept.map((i) => i.oid), terms));
      if (fresh === 0) stats.reusedSets++;
      if (!cache.packs.includes(pack)) cache.packs.push(pack);
    }
    sets[set] = { pack, count: kept.length, labels: kept.map((i) => classIndex.get(i.label)!), paths: kept.map(where), skipped: failed };
    setTerms[set] = terms;
    failures.push(...failed);
  }
  store.state.writeLines('packs', countKey, cache.packs);
  if (failures.length && options.onBadItem === 'error') {
    const first = failures[0]!;
    throw new ItemInvalid(`${first.message}${failures.length > 1 ? ` (and ${failures.length - 1} more bad items)` : ''}`, {
      data: { reason: first.reason, items: failures },
      hint: "fix or remove these texts and run 'd2 add' again, or set 'dataset.onBadItem: skip' in d2.yaml to leave them out (they are then listed)",
    });
  }
  const column = used.map((s) => texts.column.get(s)).find((c) => c !== undefined) ?? null;
  const encoding: TextEncoding = fitTextEncoding(setTerms.train, settings, column);
  const record: PackedDataset = { format: 1, modality: 'text', dataset: datasetOid, config: recordKey, steps: [], text: encoding, shape: [encoding.width], classes: dataset.classes, sets };
  const oid = store.putBytes(JSON.stringify(record));
  recordPackedPointer(store, datasetOid, recordKey, oid);
  return { oid, record, stats };
}
