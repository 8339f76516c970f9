/**
 * Documented JSON shapes, checked against real output. A section of a docs page lists each
 * type as a Markdown table whose header cell names the type and whose rows are
 * `| \`field\` | \`type\` | meaning |` (`field?` may be absent). Types: `string`, `number`,
 * `boolean`, `null`, `any`, a string literal (`"d2-diff/1"`), a type named by another table,
 * `T[]`, `map<T>`, and unions `A \| B`.
 *
 * `checkDocumented` reports, both ways, where a value and its documentation disagree: a field
 * the docs do not list, a listed field that is missing, a value of another type.
 */
export type DocTypes = Map<string, Map<string, { type: string; optional: boolean }>>;

/** The type tables of a Markdown section. */
export function readDocTypes(markdown: string): DocTypes {
  const types: DocTypes = new Map();
  let current: Map<string, { type: string; optional: boolean }> | undefined;
  for (const line of markdown.split('\n')) {
    const cells = line.trim().startsWith('|') ? splitRow(line) : undefined;
    if (!cells) {
      current = undefined;
      continue;
    }
    const head = /^[A-Z]\w*$/.exec(cells[0] ?? '');
    if (!current && head && cells[1] === 'type') {
      current = new Map();
      types.set(head[0], current);
      continue;
    }
    if (!current || /^-+$/.test(cells[0] ?? '')) continue;
    const field = /^`(\w+)(\?)?`$/.exec(cells[0] ?? '');
    const type = /^`(.+)`$/.exec(cells[1] ?? '');
    if (!field || !type) throw new Error(`docs: cannot read the row '${line.trim()}'`);
    current.set(field[1]!, { type: type[1]!, optional: field[2] === '?' });
  }
  return types;
}

function splitRow(line: string): string[] {
  const inner = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

function splitUnion(type: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of type) {
    if (ch === '<') depth++;
    if (ch === '>') depth--;
    if (ch === '|' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/** Problems found checking `value` against `type` (empty: it matches). */
export function checkDocumented(value: unknown, type: string, types: DocTypes, where = '$'): string[] {
  const alternatives = splitUnion(type);
  if (alternatives.length > 1) {
    const results = alternatives.map((t) => checkDocumented(value, t, types, where));
    return results.find((r) => r.length === 0) ?? results.sort((x, y) => x.length - y.length)[0]!;
  }
  const t = type.trim();
  if (t === 'any') return [];
  if (t === 'null') return value === null ? [] : [`${where}: expected null, got ${JSON.stringify(value)?.slice(0, 40)}`];
  if (t === 'string' || t === 'number' || t === 'boolean') return typeof value === t ? [] : [`${where}: expected ${t}, got ${JSON.stringify(value)?.slice(0, 40)}`];
  if (t.startsWith('"')) return value === JSON.parse(t) ? [] : [`${where}: expected ${t}, got ${JSON.stringify(value)?.slice(0, 40)}`];
  if (t.endsWith('[]')) {
    if (!Array.isArray(value)) return [`${where}: expected a list`];
    return value.flatMap((v, i) => checkDocumented(v, t.slice(0, -2), types, `${where}[${i}]`));
  }
  const map = /^map<(.+)>$/.exec(t);
  if (map) {
    if (!isObject(value)) return [`${where}: expected an object`];
    return Object.entries(value).flatMap(([k, v]) => checkDocumented(v, map[1]!, types, `${where}.${k}`));
  }
  const fields = types.get(t);
  if (!fields) return [`${where}: the docs have no type '${t}'`];
  if (!isObject(value)) return [`${where}: expected ${t} (an object), got ${JSON.stringify(value)?.slice(0, 40)}`];
  const problems: string[] = [];
  for (const k of Object.keys(value)) if (!fields.has(k)) problems.push(`${where}.${k}: not documented in ${t}`);
  for (const [k, f] of fields) {
    if (!(k in value)) {
      if (!f.optional) problems.push(`${where}.${k}: documented in ${t}, missing`);
      continue;
    }
    problems.push(...checkDocumented(value[k], f.type, types, `${where}.${k}`));
  }
  return problems;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
