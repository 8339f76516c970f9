/**
 * A fast reader for the plain block YAML that d2 writes itself (d2.lock, source snapshots):
 * mappings and sequences by indentation, `[]`/`{}` when empty, and plain scalars — integers,
 * decimals, true/false and unquoted strings. Reading a long history parses thousands of these
 * files, and the general YAML parser costs ~1 ms each; this costs a few microseconds.
 *
 * It answers only when it is sure: anything outside that form (quotes, anchors, flow
 * collections with content, comments after values, tabs, a scalar YAML would read as another
 * type such as `null`, `0x10` or `.inf`, duplicate keys) returns undefined, and the caller uses
 * the YAML parser — whose value on the plain form is the same (tested). Callers check the value
 * against their schema either way. Pure.
 */

type Value = string | number | boolean | Value[] | { [key: string]: Value };

interface Line {
  indent: number;
  text: string;
}

const KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?$/;
/** Plain strings YAML reads as strings: a letter first; no ': ', ' #', quotes, brackets or commas. */
const STRING = /^[A-Za-z][A-Za-z0-9_.@+/=~ -]*$/;
const YAML_WORDS = /^(?:true|True|TRUE|false|False|FALSE|null|Null|NULL|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/;

class NotPlain extends Error {}

function scalar(text: string): Value {
  if (text === '[]') return [];
  if (text === '{}') return {};
  if (text === 'true') return true;
  if (text === 'false') return false;
  // an object id: YAML reads 64 hex digits as a string unless they also spell a number
  if (/^[0-9a-f]{64}$/.test(text) && !/^[0-9]*(?:e[0-9]+)?$/.test(text)) return text;
  if (NUMBER.test(text)) {
    const n = Number(text);
    if (!Number.isFinite(n) || (Number.isInteger(n) && !Number.isSafeInteger(n))) throw new NotPlain();
    return n;
  }
  if (STRING.test(text) && !YAML_WORDS.test(text) && !text.endsWith(' ') && !text.includes(' #') && !text.includes(': ')) return text;
  throw new NotPlain();
}

function splitKey(text: string): [string, string | undefined] {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new NotPlain();
  const key = text.slice(0, colon);
  if (!KEY.test(key)) throw new NotPlain();
  const rest = text.slice(colon + 1);
  if (rest === '') return [key, undefined];
  if (!rest.startsWith(' ')) throw new NotPlain();
  return [key, rest.slice(1)];
}

export function parsePlainYaml(text: string): unknown {
  if (text.includes('\t') || text.includes('\r')) return undefined;
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '' || raw.startsWith('#')) continue;
    const body = raw.trimStart();
    if (body.startsWith('#') || raw.endsWith(' ') || raw.includes('"') || raw.includes("'")) return undefined;
    lines.push({ indent: raw.length - body.length, text: body });
  }
  let at = 0;
  const block = (indent: number): Value => {
    const first = lines[at];
    if (!first || first.indent !== indent) throw new NotPlain();
    return first.text === '-' || first.text.startsWith('- ') ? sequence(indent) : mapping(indent, undefined);
  };
  // `inline`: the first key of a mapping that began after '- ' on a sequence line
  const mapping = (indent: number, inline: string | undefined): Value => {
    const out: { [key: string]: Value } = {};
    let text = inline;
    for (;;) {
      if (text === undefined) {
        const line = lines[at];
        if (!line || line.indent < indent) break;
        if (line.indent > indent || line.text.startsWith('- ')) throw new NotPlain();
        text = line.text;
        at++;
      }
      const [key, value] = splitKey(text);
      if (key in out) throw new NotPlain();
      if (value !== undefined) out[key] = scalar(value);
      else {
        const next = lines[at];
        if (next && next.indent > indent) out[key] = block(next.indent);
        else if (next && next.indent === indent && next.text.startsWith('- ')) out[key] = sequence(indent);
        else throw new NotPlain(); // `key:` with nothing: null in YAML
      }
      text = undefined;
    }
    return out;
  };
  const sequence = (indent: number): Value => {
    const out: Value[] = [];
    for (;;) {
      const line = lines[at];
      if (!line || line.indent !== indent || !line.text.startsWith('- ')) break;
      at++;
      const item = line.text.slice(2);
      if (item.startsWith('- ')) throw new NotPlain();
      const colon = item.indexOf(':');
      if (colon > 0 && (colon === item.length - 1 || item[colon + 1] === ' ') && KEY.test(item.slice(0, colon))) out.push(mapping(indent + 2, item));
      else out.push(scalar(item));
    }
    return out;
  };
  try {
    if (lines.length === 0) return undefined;
    const value = block(0);
    return at === lines.length ? value : undefined;
  } catch (e) {
    if (e instanceof NotPlain) return undefined;
    throw e;
  }
}
