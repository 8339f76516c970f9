/**
 * The text of an input to a text model: given as text, as a file's bytes (UTF-8, checked), or
 * as a table row (the column the model was trained on). The one place prediction, diff and
 * the Node bundle reader turn their inputs into text.
 *
 * Invariant: a row without the model's text column, or bytes that are not UTF-8, are an
 * ItemInvalid naming why, never an empty text.
 */
import { checkText, decodeText, type TextEncoding } from '../core/text.js';
import { ItemInvalid } from '../errors/index.js';

export function textOfInput(it: { key: string; text?: string; bytes?: Uint8Array; row?: Record<string, string> }, enc: TextEncoding): string {
  const max = enc.settings.maxBytes;
  if (it.text !== undefined) return checkText(it.text, max);
  if (it.bytes) return decodeText(it.bytes, max);
  if (it.row) {
    const col = enc.column;
    if (col === null) throw new ItemInvalid(`'${it.key}' is a table row, but the model was trained on text files: give the texts as files or lines`, { data: { reason: 'not-a-text' } });
    const v = it.row[col];
    if (v === undefined) throw new ItemInvalid(`the row has no column '${col}', the model's text column`, { data: { reason: 'missing-column', column: col } });
    return checkText(v, max);
  }
  throw new ItemInvalid(`'${it.key}' has no text`, { data: { reason: 'not-a-text' } });
}
