/**
 * YAML text checked against a zod schema, with every problem located in the file.
 *
 * Used for every YAML file d2 reads (d2.yaml, source snapshots, d2.lock) so they all report
 * problems the same way: `file:line:col: message`, all problems at once, a "did you mean" for
 * misspelt keys. Pure: text in, value or issues out.
 */
import { closest, distance } from 'fastest-levenshtein';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import * as z from 'zod';

export interface Issue {
  /** Dotted key path, e.g. 'sources.fmnist.labels'; '' for the whole document. */
  path: string;
  line?: number;
  col?: number;
  message: string;
  expected?: string;
  didYouMean?: string;
}

export interface ParseResult<T> {
  value?: T;
  issues: Issue[];
}

/** `file:line:col: message` — the one way an issue is printed. */
export function formatIssue(file: string, issue: Issue): string {
  const where = issue.line !== undefined ? `${file}:${issue.line}:${issue.col ?? 1}` : file;
  return `${where}: ${issue.message}`;
}

export function parseYamlWithSchema<S extends z.ZodType>(text: string, schema: S): ParseResult<z.output<S>> & { doc?: Document; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const issues: Issue[] = [];
  for (const err of doc.errors) {
    const pos = err.linePos?.[0];
    issues.push({ path: '', line: pos?.line, col: pos?.col, message: `invalid YAML: ${firstLine(err.message)}` });
  }
  if (issues.length > 0) return { issues, lineCounter };

  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const parsed = schema.safeParse(raw === null || raw === undefined ? {} : raw);
  if (parsed.success) return { value: parsed.data, issues, doc, lineCounter };
  for (const zi of parsed.error.issues) issues.push(...toIssues(zi, doc, lineCounter, schema));
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
  return { issues, doc, lineCounter };
}

function firstLine(s: string): string {
  return (s.split('\n')[0] ?? s).replace(/ at line \d+, column \d+:?$/, '');
}

type PathKey = PropertyKey;

function dotted(path: readonly PathKey[]): string {
  return path.map(String).join('.');
}

function position(doc: Document, lc: LineCounter, path: readonly PathKey[], keyOnly: boolean): { line?: number; col?: number } {
  // Walk down to the deepest node that exists: a missing key is reported at its parent.
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) break;
      keyNode = pair.key as Node;
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node && Array.isArray((node as { items: unknown[] }).items) && typeof key === 'number') {
      keyNode = undefined;
      node = (node as { items: unknown[] }).items[key];
    } else {
      break;
    }
  }
  const target = (keyOnly ? keyNode : (node as Node | undefined) ?? keyNode) as Node | undefined;
  const offset = target?.range?.[0];
  if (offset === undefined) return {};
  const { line, col } = lc.linePos(offset);
  return { line, col };
}

function describeReceived(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `'${value}'`;
  return `${typeof value} ${String(value)}`;
}

function valueAt(doc: Document, path: readonly PathKey[]): unknown {
  const node = doc.getIn(path as unknown[], true) as Node | undefined;
  return node && 'toJSON' in node ? (node as unknown as { toJSON(): unknown }).toJSON() : node;
}

/** Keys the schema allows at `path`, for "did you mean". */
function allowedKeys(schema: z.ZodType, path: readonly PathKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  for (const key of [...path, undefined]) {
    s = unwrap(s);
    if (key === undefined) break;
    if (s instanceof z.ZodObject) s = (s.shape as Record<string, z.ZodType>)[String(key)];
    else if (s instanceof z.ZodRecord) s = s.valueType as z.ZodType;
    else if (s instanceof z.ZodArray) s = s.element as z.ZodType;
    else return [];
  }
  s = unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function unwrap(s: z.ZodType | undefined): z.ZodType | undefined {
  let cur = s;
  for (let i = 0; i < 10 && cur; i++) {
    if (cur instanceof z.ZodOptional || cur instanceof z.ZodNullable || cur instanceof z.ZodDefault) {
      cur = cur.unwrap() as z.ZodType;
    } else if (cur instanceof z.ZodPipe) {
      cur = cur.in as z.ZodType;
    } else {
      break;
    }
  }
  return cur;
}

export function suggest(word: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const best = closest(word, candidates as string[]);
  return distance(word.toLowerCase(), best.toLowerCase()) <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

function toIssues(zi: z.core.$ZodIssue, doc: Document, lc: LineCounter, schema: z.ZodType): Issue[] {
  const path = zi.path;
  const where = path.length ? `'${dotted(path)}'` : 'the document';
  switch (zi.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(schema, path);
      return zi.keys.map((key) => {
        const didYouMean = suggest(key, allowed);
        const inWhat = path.length ? ` in '${dotted(path)}'` : '';
        const tail = didYouMean ? ` (did you mean '${didYouMean}'?)` : allowed.length ? ` (expected one of: ${allowed.join(', ')})` : '';
        const issue: Issue = { path: dotted([...path, key]), ...position(doc, lc, [...path, key], true), message: `unknown key '${key}'${inWhat}${tail}` };
        if (didYouMean) issue.didYouMean = didYouMean;
        return issue;
      });
    }
    case 'invalid_type': {
      const received = valueAt(doc, path);
      if (received === undefined) {
        return [{ path: dotted(path), ...position(doc, lc, path, false), message: `missing key ${where} (expected ${zi.expected})`, expected: zi.expected }];
      }
      return [{ path: dotted(path), ...position(doc, lc, path, false), message: `${where} must be ${article(zi.expected)}, got ${describeReceived(received)}`, expected: zi.expected }];
    }
    case 'invalid_value': {
      const expected = zi.values.map((v) => JSON.stringify(v)).join(', ');
      return [{ path: dotted(path), ...position(doc, lc, path, false), message: `${where} must be ${zi.values.length === 1 ? expected : `one of ${expected}`}, got ${describeReceived(valueAt(doc, path))}`, expected }];
    }
    case 'invalid_key': {
      const key = String(path[path.length - 1]);
      const why = zi.issues[0]?.message ?? 'invalid key';
      return [{ path: dotted(path), ...position(doc, lc, path, true), message: `invalid name '${key}' in '${dotted(path.slice(0, -1))}': ${why}` }];
    }
    default:
      return [{ path: dotted(path), ...position(doc, lc, path, false), message: `${where}: ${zi.message}` }];
  }
}

function article(type: string): string {
  const names: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'a string', number: 'a number', boolean: 'true or false', int: 'an integer' };
  return names[type] ?? type;
}
