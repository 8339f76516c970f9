/**
 * Packs of table datasets: rows encoded as float32 feature vectors (preprocess/table.ts), one
 * pack per set, the encoding learned on the train rows only. Cached by (dataset, table
 * configuration): rows are cheap to encode, so there is no per-item cache as for images.
 *
 * Invariant: the encoding stored in the record is the one every row was encoded with; a row that
 * cannot be encoded fails the build or is listed as skipped, never dropped silently.
 */
import type { DatasetItem, ItemSet, ResolvedDataset } from '../core/dataset.js';
import { packHeader, packTrailer, type PackTrailer } from '../core/pack.js';
import { InvalidArgument, ItemInvalid, throwIfAborted, D2Error } from '../errors/index.js';
import type { TableDecl } from '../manifest/index.js';
import type { TableEncoding } from '../preprocess/index.js';
import type { ObjectStore } from '../store/index.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import { findPackedDataset, ITEM_SETS, recordPackedPointer, where, type PackedDataset, type PackedSet, type PackStats, type SkippedItem } from './packing.js';
import type { ProjectState } from './revision.js';
import { readTableItems } from './table-source.js';

export const TABLE_PREPROCESS_VERSION = 1;

export async function buildTablePacks(
  store: ObjectStore,
  state: ProjectState,
  dataset: ResolvedDataset,
  datasetOid: string,
  options: { onBadItem: 'error' | 'skip'; signal?: AbortSignal },
): Promise<{ oid: string; record: PackedDataset; stats: PackStats }> {
  const decl: TableDecl = state.manifest.preprocess.table;
  const used = [...new Set(dataset.items.map((i) => i.source))];
  const rows = new Map<string, Record<string, string>>();
  let columns: string[] | undefined;
  const excluded = new Set<string>();
  for (const name of used) {
    const src = state.sources.get(name)!;
    const sdecl = state.manifest.sources[name]!;
    if (!src.snapshot.table) throw new InvalidArgument(`source '${name}' is not a table`, { data: { source: name } });
    const items = readTableItems(store.read(src.snapshot.table).toString('utf8'), sdecl, sdecl.path);
    for (const [oid, values] of items.rows) rows.set(oid, values);
    if (sdecl.labelColumn) excluded.add(sdecl.labelColumn);
    if (sdecl.idColumn) excluded.add(sdecl.idColumn);
    columns ??= items.columns;
  }
  const features = decl.features ?? (columns ?? []).filter((c) => !excluded.has(c));
  if (features.length === 0) throw new InvalidArgument('the table has no feature columns', { hint: "list them in 'preprocess.table.features' in d2.yaml" });
  const spec = { features, ...(decl.categorical ? { categorical: decl.categorical } : {}), scale: decl.scale, missing: decl.missing };
  const key = sha256Hex(canonicalJson({ kind: 'table', version: TABLE_PREPROCESS_VERSION, spec }));
  const existing = findPackedDataset(store, datasetOid, key);
  if (existing) return { ...existing, stats: { computed: 0, copied: 0, reusedSets: ITEM_SETS.length, reused: true } };

  const { fitTableEncoding, encodeRow } = await import('../preprocess/index.js');
  const valuesOf = (it: DatasetItem): Record<string, string> => {
    const v = rows.get(it.oid);
    if (!v) throw new D2Error(`internal: row ${it.oid} of '${it.source}' not found in its table`);
    return v;
  };
  const encoding: TableEncoding = fitTableEncoding(dataset.items.filter((i) => i.set === 'train').map(valuesOf), spec);
  const classIndex = new Map(dataset.classes.map((c, i) => [c, i]));
  const sets = {} as Record<ItemSet, PackedSet>;
  const failures: SkippedItem[] = [];
  let computed = 0;
  for (const set of ITEM_SETS) {
    throwIfAborted(options.signal);
    const items = dataset.items.filter((i) => i.set === set);
    const kept: DatasetItem[] = [];
    const failed: SkippedItem[] = [];
    const writer = items.length ? store.writer() : undefined;
    try {
      writer?.write(packHeader());
      const buf = new Float32Array(encoding.width);
      for (const it of items) {
        try {
          encodeRow(valuesOf(it), encoding, buf);
        } catch (e) {
          if (!(e instanceof ItemInvalid)) throw e;
          failed.push({ source: it.source, path: it.path, oid: it.oid, reason: String(e.data.reason), message: `source '${it.source}': row '${it.path}': ${e.message}` });
          continue;
        }
        writer!.write(new Uint8Array(buf.buffer.slice(0)));
        kept.push(it);
        computed++;
      }
      let pack: string | null = null;
      if (writer && kept.length) {
        const trailer: PackTrailer = { format: 1, dtype: 'float32', shape: [encoding.width], count: kept.length, config: key, items: kept.map((i) => i.oid) };
        writer.write(packTrailer(trailer));
        pack = writer.commit().oid;
      } else {
        writer?.abort();
      }
      sets[set] = { pack, count: kept.length, labels: kept.map((i) => classIndex.get(i.label)!), paths: kept.map(where), skipped: failed };
      failures.push(...failed);
    } catch (e) {
      writer?.abort();
      throw e;
    }
  }
  if (failures.length && options.onBadItem === 'error') {
    const first = failures[0]!;
    throw new ItemInvalid(`${first.message}${failures.length > 1 ? ` (and ${failures.length - 1} more bad rows)` : ''}`, {
      data: { reason: first.reason, items: failures },
      hint: "fix these rows and run 'd2 add' again, or set 'dataset.onBadItem: skip' in d2.yaml to leave them out (they are then listed)",
    });
  }
  const record: PackedDataset = { format: 1, modality: 'table', dataset: datasetOid, config: key, steps: [], table: encoding, shape: [encoding.width], classes: dataset.classes, sets };
  const oid = store.putBytes(JSON.stringify(record));
  recordPackedPointer(store, datasetOid, key, oid);
  return { oid, record, stats: { computed, copied: 0, reusedSets: 0, reused: false } };
}
