/**
 * Preprocessed data, cached by content: each set of a dataset (train, validation, test, model
 * tests) becomes one pack object (core/pack.ts) of its items' uint8 pixels, in dataset order.
 *
 * The packs of one preprocessing configuration are also the per-item cache: an index over
 * their trailers maps each raw item oid to where its pixels already are. So
 * - nothing changed: the packed record for (dataset, configuration) exists → no work at all;
 * - labels changed (a relabel): sets keep their items → the same packs → no image work;
 * - items added: a new pack copies what is cached and preprocesses only the new items;
 * - a step changed: a new configuration key → everything is recomputed (and the old packs
 *   still serve the old configuration: switching back is free).
 *
 * Invariants: every pixel goes through preprocess's one implementation (the worker pool runs
 * `preprocessImage`); a pack is written in one streaming pass with bounded memory; the record
 * is written only after every pack it names is durable; an item that cannot be preprocessed is
 * never silently dropped (it fails the build, or is listed as skipped when the manifest says so).
 */
import type { DatasetItem, ItemSet, ResolvedDataset } from '../core/dataset.js';
import { itemBytes, itemOffset, packHeader, packTrailer, parseTrailer, PACK_FOOTER_BYTES, readFooter, type PackTrailer } from '../core/pack.js';
import type { ProgressHandler } from '../core/progress.js';
import { isOid } from '../core/safe-path.js';
import { D2Error, ItemInvalid, ObjectCorrupt, ObjectNotFound, throwIfAborted } from '../errors/index.js';
import type { ImageStep } from '../manifest/index.js';
import type { TextEncoding } from '../core/text.js';
import { parseTextPack } from '../core/text-pack.js';
import type { ImagePool, TableEncoding } from '../preprocess/index.js';
import { StateFiles, type ObjectStore } from '../store/index.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';

/** Bump when the pixel pipeline's output changes for the same bytes and steps. */
export const PREPROCESS_VERSION = 1;
export const ITEM_SETS: readonly ItemSet[] = ['train', 'validation', 'test', 'modelTest'];

export interface PixelConfig {
  steps: ImageStep[];
  maxPixels: number;
}

/** The cache key of the pixel stage: steps without `normalize` (applied later, at load), limits, version. */
export function pixelConfigKey(config: PixelConfig): string {
  const pixelSteps = config.steps.filter((s) => s.normalize === undefined);
  return sha256Hex(canonicalJson({ kind: 'image-pixels', version: PREPROCESS_VERSION, steps: pixelSteps, maxPixels: config.maxPixels }));
}

export interface SkippedItem {
  source: string;
  path: string;
  oid: string;
  reason: string;
  message: string;
}

export interface PackedSet {
  /** Pack object oid (null when the set is empty). */
  pack: string | null;
  count: number;
  /** Class index of each packed item, in pack order. */
  labels: number[];
  /** '<source>/<path>' of each packed item, in pack order. */
  paths: string[];
  skipped: SkippedItem[];
}

/** What training reads: one record per (dataset, preprocessing configuration), stored as an object. */
export interface PackedDataset {
  format: 1;
  modality: 'image' | 'table' | 'text';
  dataset: string;
  config: string;
  /** Image steps (normalize included: applied when batches are loaded). Empty for tables. */
  steps: ImageStep[];
  /** Tables: how rows become features (learned on train). */
  table?: TableEncoding;
  /** Texts: how term counts become features (vocabulary or hash buckets, IDF; fitted on train). Packs are text packs (core/text-pack.ts). */
  text?: TextEncoding;
  /** Shape of one item: [H, W, C] for images, [F] for tables and texts. */
  shape: number[];
  classes: string[];
  sets: Record<ItemSet, PackedSet>;
}

/**
 * A packed record object's text, checked: it may come from a remote (`d2 pull --with-cache`),
 * so its dataset, configuration and packs are oids before any of them names a file.
 */
export function parsePackedRecord(text: string, oid: string): PackedDataset {
  let raw: Partial<PackedDataset>;
  try {
    raw = JSON.parse(text) as Partial<PackedDataset>;
  } catch (e) {
    throw new ObjectCorrupt(`packed record ${oid.slice(0, 12)} is not JSON: ${(e as Error).message}`, { data: { oid }, hint: "run 'd2 fsck'" });
  }
  const bad: string[] = [];
  if (raw === null || typeof raw !== 'object' || raw.format !== 1) bad.push('not a packed record');
  if (!isOid(raw?.dataset)) bad.push("'dataset' is not an oid");
  if (!isOid(raw?.config)) bad.push("'config' is not an oid");
  const sets = raw?.sets && typeof raw.sets === 'object' ? Object.values(raw.sets) : [];
  if (!sets.length) bad.push("'sets' is missing");
  for (const s of sets) if (s?.pack !== null && !isOid(s?.pack)) bad.push(`a pack '${String(s?.pack).slice(0, 70)}' is not an oid`);
  if (bad.length) {
    throw new ObjectCorrupt(`packed record ${oid.slice(0, 12)} is damaged or crafted: ${bad.join('; ')}`, { data: { oid, problems: bad }, hint: "run 'd2 fsck'" });
  }
  return raw as PackedDataset;
}

export interface PackStats {
  /** Items preprocessed now (decode + steps). */
  computed: number;
  /** Items whose pixels came from an existing pack. */
  copied: number;
  /** Sets whose existing pack was reused whole. */
  reusedSets: number;
  /** The whole record was already there: nothing was done. */
  reused: boolean;
}

interface Located {
  pack: string;
  index: number;
  trailer: PackTrailer;
}

/** The per-item cache of one configuration: which pack holds each item's pixels. */
class PackIndex {
  private readonly byOid = new Map<string, Located>();
  private readonly bySequence = new Map<string, string>();
  private readonly packs: string[] = [];

  private constructor(private readonly store: ObjectStore, private readonly key: string) {}

  static load(store: ObjectStore, key: string): PackIndex {
    const index = new PackIndex(store, key);
    for (const oid of store.state.readLines('packs', key)) {
      if (!store.has(oid)) continue; // collected or lost: a cache miss, not an error
      try {
        index.add(oid, readPackTrailer(store, oid));
      } catch {
        // a damaged pack is ignored here (fsck reports it)
      }
    }
    return index;
  }

  add(pack: string, trailer: PackTrailer): void {
    if (this.packs.includes(pack)) return;
    this.packs.push(pack);
    this.bySequence.set(sequenceKey(trailer.items), pack);
    trailer.items.forEach((oid, index) => {
      if (!this.byOid.has(oid)) this.byOid.set(oid, { pack, index, trailer });
    });
  }

  lookup(oid: string): Located | undefined {
    return this.byOid.get(oid);
  }

  packWithItems(oids: readonly string[]): string | undefined {
    return this.bySequence.get(sequenceKey(oids));
  }

  save(): void {
    this.store.state.writeLines('packs', this.key, this.packs);
  }
}

function sequenceKey(oids: readonly string[]): string {
  return sha256Hex(oids.join('\n'));
}

export function readPackTrailer(store: ObjectStore, oid: string): PackTrailer {
  const size = store.size(oid);
  if (size === undefined) throw new ObjectNotFound(`pack '${oid}' is not in the store`, { data: { oid }, hint: 'run d2 fsck' });
  const footer = store.readRange(oid, size - PACK_FOOTER_BYTES, PACK_FOOTER_BYTES);
  const length = readFooter(footer);
  return parseTrailer(store.readRange(oid, size - PACK_FOOTER_BYTES - length, length), size);
}


/** Name the packed record of (dataset, configuration), so the next run finds it. */
export function recordPackedPointer(store: ObjectStore, dataset: string, config: string, oid: string): void {
  store.state.writePointer('packed', StateFiles.packedKey(dataset, config), oid);
}

/**
 * Make a packed record found by `buildPacks` as if it had been built here (d2 pull
 * --with-cache): its (dataset, configuration) pointer, and its packs in the configuration's
 * per-item cache. Only when the record and all its packs are in the store.
 */
export function registerPackedRecord(store: ObjectStore, oid: string, record: PackedDataset): boolean {
  const packs = Object.values(record.sets).map((s) => s.pack).filter((p): p is string => Boolean(p));
  if (!store.has(oid) || packs.some((p) => !store.has(p))) return false;
  if (record.modality === 'text') {
    // Text packs name their counting key themselves: list each under it (the per-item cache).
    for (const p of packs) {
      let key: string;
      try {
        key = parseTextPack(store.readText(p)).config;
      } catch {
        return false; // a damaged pack: not registered (fsck reports it)
      }
      const listed = store.state.readLines('packs', key);
      if (!listed.includes(p)) store.state.writeLines('packs', key, [...listed, p]);
    }
    recordPackedPointer(store, record.dataset, record.config, oid);
    return true;
  }
  const index = PackIndex.load(store, record.config);
  for (const p of packs) index.add(p, readPackTrailer(store, p));
  index.save();
  recordPackedPointer(store, record.dataset, record.config, oid);
  return true;
}

/** The packed record of (dataset, configuration), if it was built before and its packs are all present. */
export function findPackedDataset(store: ObjectStore, dataset: string, config: string): { oid: string; record: PackedDataset } | undefined {
  const oid = store.state.readPointer('packed', StateFiles.packedKey(dataset, config));
  if (oid === undefined || !store.has(oid)) return undefined;
  const record = parsePackedRecord(store.readText(oid), oid);
  for (const s of Object.values(record.sets)) if (s.pack && !store.has(s.pack)) return undefined;
  return { oid, record };
}

export interface BuildPacksOptions {
  onBadItem: 'error' | 'skip';
  onProgress?: ProgressHandler;
  signal?: AbortSignal;
}

/**
 * Pack every set of `dataset` with the pixel configuration `config`, reusing whatever is
 * cached. `datasetOid` is the dataset's object (its text form).
 */
export async function buildPacks(
  store: ObjectStore,
  dataset: ResolvedDataset,
  datasetOid: string,
  config: PixelConfig,
  pool: ImagePool,
  options: BuildPacksOptions,
): Promise<{ oid: string; record: PackedDataset; stats: PackStats }> {
  const key = pixelConfigKey(config);
  const existing = findPackedDataset(store, datasetOid, key);
  if (existing) return { ...existing, stats: { computed: 0, copied: 0, reusedSets: ITEM_SETS.length, reused: true } };

  const index = PackIndex.load(store, key);
  const classIndex = new Map(dataset.classes.map((c, i) => [c, i]));
  const stats: PackStats = { computed: 0, copied: 0, reusedSets: 0, reused: false };
  const sets = {} as Record<ItemSet, PackedSet>;
  let shape: number[] | undefined;
  const failures: SkippedItem[] = [];
  const toCompute = dataset.items.filter((it) => !index.lookup(it.oid)).length;
  let computedSoFar = 0;

  for (const set of ITEM_SETS) {
    throwIfAborted(options.signal);
    const items = dataset.items.filter((it) => it.set === set);
    const reuse = items.length ? index.packWithItems(items.map((i) => i.oid)) : undefined;
    if (reuse) {
      const trailer = readPackTrailer(store, reuse);
      shape = checkShape(shape, trailer.shape);
      sets[set] = { pack: reuse, count: items.length, labels: items.map((i) => classIndex.get(i.label)!), paths: items.map(where), skipped: [] };
      stats.reusedSets++;
      continue;
    }
    const written = await writeSetPack(store, items, key, config, pool, index, options, (n) => {
      computedSoFar += n;
      options.onProgress?.({ phase: 'preprocess', loaded: computedSoFar, total: toCompute });
    });
    stats.computed += written.computed;
    stats.copied += written.copied;
    failures.push(...written.failed);
    if (written.trailer) {
      shape = checkShape(shape, written.trailer.shape);
      index.add(written.pack!, written.trailer);
    }
    const kept = written.kept;
    sets[set] = { pack: written.pack, count: kept.length, labels: kept.map((i) => classIndex.get(i.label)!), paths: kept.map(where), skipped: written.failed };
  }
  index.save();
  if (failures.length && options.onBadItem === 'error') {
    const first = failures[0]!;
    throw new ItemInvalid(`${first.message}${failures.length > 1 ? ` (and ${failures.length - 1} more bad items)` : ''}`, {
      data: { reason: first.reason, items: failures },
      hint: "fix or remove these files and run 'd2 add' again, or set 'dataset.onBadItem: skip' in d2.yaml to leave them out (they are then listed)",
    });
  }
  const record: PackedDataset = { format: 1, modality: 'image', dataset: datasetOid, config: key, steps: config.steps, shape: shape ?? [0, 0, 0], classes: dataset.classes, sets };
  const oid = store.putBytes(JSON.stringify(record));
  recordPackedPointer(store, datasetOid, key, oid);
  return { oid, record, stats };
}

export function where(it: DatasetItem): string {
  return `${it.source}/${it.path}`;
}

function checkShape(current: number[] | undefined, next: number[]): number[] {
  if (current && current.join('x') !== next.join('x')) {
    throw new ItemInvalid(`preprocessed images have different shapes (${current.join('×')} and ${next.join('×')})`, {
      data: { reason: 'shape-mismatch', shapes: [current, next] },
      hint: "add a 'resize' and a 'channels' step to 'preprocess.image' in d2.yaml so every image gets the same shape",
    });
  }
  return next;
}

interface WrittenSet {
  pack: string | null;
  trailer?: PackTrailer;
  kept: DatasetItem[];
  failed: SkippedItem[];
  computed: number;
  copied: number;
}

async function writeSetPack(
  store: ObjectStore,
  items: readonly DatasetItem[],
  key: string,
  config: PixelConfig,
  pool: ImagePool,
  index: PackIndex,
  options: BuildPacksOptions,
  onComputed: (n: number) => void,
): Promise<WrittenSet> {
  if (items.length === 0) return { pack: null, kept: [], failed: [], computed: 0, copied: 0 };
  const missing = items.filter((it) => !index.lookup(it.oid));
  // Preprocess the missing items in order, on every core, reading their bytes lazily.
  function* inputs(): Generator<{ key: string; bytes: Uint8Array }> {
    for (const it of missing) yield { key: it.oid, bytes: store.read(it.oid, it.size) };
  }
  const outcomes = missing.length ? pool.process(inputs(), config, { signal: options.signal })[Symbol.asyncIterator]() : undefined;

  const writer = store.writer();
  const kept: DatasetItem[] = [];
  const failed: SkippedItem[] = [];
  let shape: number[] | undefined;
  let computed = 0;
  let copied = 0;
  let sinceReport = 0;
  try {
    writer.write(packHeader());
    for (const it of items) {
      const cached = index.lookup(it.oid);
      let pixels: Uint8Array;
      let itemShape: number[];
      if (cached) {
        itemShape = cached.trailer.shape;
        pixels = store.readRange(cached.pack, itemOffset(cached.trailer, cached.index), itemBytes(cached.trailer));
        copied++;
      } else {
        const next = await outcomes!.next();
        if (next.done) throw new D2Error('internal: the image pool ended early');
        const outcome = next.value;
        computed++;
        if (++sinceReport >= 256) {
          onComputed(sinceReport);
          sinceReport = 0;
        }
        if (outcome.error) {
          const e = outcome.error;
          failed.push({ source: it.source, path: it.path, oid: it.oid, reason: String(e.data.reason ?? e.code), message: `source '${it.source}': '${it.path}' (item ${it.oid.slice(0, 12)}): ${e.message}` });
          continue;
        }
        const r = outcome.result;
        itemShape = [r.height, r.width, r.channels];
        pixels = r.pixels;
      }
      if (shape && shape.join('x') !== itemShape.join('x')) {
        checkShape(shape, itemShape);
      }
      shape ??= itemShape;
      writer.write(pixels);
      kept.push(it);
    }
    if (sinceReport) onComputed(sinceReport);
    if (kept.length === 0) {
      writer.abort();
      return { pack: null, kept, failed, computed, copied };
    }
    const trailer: PackTrailer = { format: 1, dtype: 'uint8', shape: shape!, count: kept.length, config: key, items: kept.map((i) => i.oid) };
    writer.write(packTrailer(trailer));
    const { oid } = writer.commit();
    return { pack: oid, trailer, kept, failed, computed, copied };
  } catch (e) {
    writer.abort();
    await outcomes?.return?.();
    throw e;
  }
}

/** Pixels of one item of a pack (for evaluation reports and tests). */
export function readPackedItem(store: ObjectStore, pack: string, trailer: PackTrailer, index: number): Uint8Array {
  return store.readRange(pack, itemOffset(trailer, index), itemBytes(trailer));
}
