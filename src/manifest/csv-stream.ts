/**
 * CSV tables read as a stream (`d2 predict rows.csv` on files of any size): the same dialect
 * as `parseCsvTable` (RFC 4180, BOM, empty lines skipped, header trimmed), one record at a
 * time, so memory does not grow with the file.
 *
 * Invariants: the header comes first, once (a `header` record); every later record is yielded in file order with
 * its line, either as a row or as a problem (wrong column count) — a bad row never stops the
 * rows after it; a header problem or malformed CSV is thrown as InvalidArgument.
 */
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { InvalidArgument } from '../errors/index.js';

export type CsvStreamRecord =
  | { kind: 'header'; columns: string[] }
  | { kind: 'row'; line: number; values: Record<string, string> }
  | { kind: 'problem'; line: number; message: string };

/**
 * Rows of a CSV table, column name → value. `file` names the table in messages.
 * `chunks` is any stream of text or bytes (a file stream, a fetch body…).
 */
export async function* readCsvRows(chunks: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>, file: string): AsyncGenerator<CsvStreamRecord> {
  const parser = Readable.from(chunks).pipe(parse({ info: true, relax_column_count: true, skip_empty_lines: true, bom: true }));
  let header: string[] | undefined;
  try {
    for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        header = rec.record.map((h) => h.trim());
        const seen = new Set<string>();
        header.forEach((h, i) => {
          if (h === '') throw new InvalidArgument(`${file}:1: column ${i + 1} of the header has no name`, { data: { file } });
          if (seen.has(h)) throw new InvalidArgument(`${file}:1: column '${h}' is named twice in the header`, { data: { file } });
          seen.add(h);
        });
        yield { kind: 'header', columns: header };
        continue;
      }
      const line = rec.info.lines;
      if (rec.record.length !== header.length) {
        yield { kind: 'problem', line, message: `expected ${header.length} columns as in the header, got ${rec.record.length}` };
        continue;
      }
      const values: Record<string, string> = {};
      header.forEach((h, i) => {
        values[h] = rec.record[i]!;
      });
      yield { kind: 'row', line, values };
    }
  } catch (e) {
    if (e instanceof InvalidArgument) throw e;
    const err = e as { message?: string; lines?: number };
    throw new InvalidArgument(`${file}${err.lines ? `:${err.lines}` : ''}: invalid CSV: ${String(err.message).replace(/^CSV_\w+: /, '')}`, { cause: e, data: { file } });
  } finally {
    parser.destroy();
  }
  if (!header) throw new InvalidArgument(`${file}: empty file: expected a header line naming the columns`, { data: { file } });
}

