/**
 * Text packs: the term counts (core/text.ts `countTerms`) of many text items in one object, in
 * item order — what is cached per item for text, as packs of pixels are for images. JSON:
 *
 *     { "format": 1, "kind": "d2-text-pack", "config": <key of the counting settings>,
 *       "items": [<raw item oid>, …], "terms": [[[ids…], [counts…]] per chunk, …] per item }
 *
 * Invariant: `terms[i]` are the counts of raw item `items[i]` under the settings `config`
 * names; a pack read from the store (or pulled from a remote) is checked before use.
 */
import { isOid } from './safe-path.js';
import type { TermCounts } from './text.js';

export interface TextPack {
  format: 1;
  kind: 'd2-text-pack';
  config: string;
  items: string[];
  terms: TermCounts[];
}

export function serializeTextPack(config: string, items: readonly string[], terms: readonly TermCounts[]): string {
  return JSON.stringify({ format: 1, kind: 'd2-text-pack', config, items, terms: terms.map((doc) => doc.map((c) => [c.ids, c.counts])) });
}

const isCountList = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff);

/** Parse and check a text pack's text; throws an Error saying what is wrong. */
export function parseTextPack(text: string): TextPack {
  const raw = JSON.parse(text) as { format?: unknown; kind?: unknown; config?: unknown; items?: unknown; terms?: unknown };
  if (raw === null || typeof raw !== 'object' || raw.format !== 1 || raw.kind !== 'd2-text-pack') throw new Error('not a d2 text pack');
  if (!isOid(raw.config)) throw new Error("'config' is not an oid");
  if (!Array.isArray(raw.items) || !raw.items.every(isOid)) throw new Error("'items' is not a list of oids");
  if (!Array.isArray(raw.terms) || raw.terms.length !== raw.items.length) throw new Error("'terms' does not match 'items'");
  const terms: TermCounts[] = raw.terms.map((doc: unknown) => {
    if (!Array.isArray(doc)) throw new Error('an item\'s terms are not a list of chunks');
    return doc.map((chunk: unknown) => {
      if (!Array.isArray(chunk) || chunk.length !== 2 || !isCountList(chunk[0]) || !isCountList(chunk[1]) || chunk[0].length !== chunk[1].length) throw new Error('a chunk is not [ids, counts]');
      return { ids: chunk[0], counts: chunk[1] };
    });
  });
  return { format: 1, kind: 'd2-text-pack', config: raw.config as string, items: raw.items as string[], terms };
}
