/**
 * `--set key=value`: a change to d2.yaml given on the command line (`d2 exp run --set
 * model.preset=thorough`), applied to the parsed YAML document — comments and layout kept — and
 * checked by parsing the result with `parseManifest`, so an unknown key or a wrong value gets the
 * same message and "did you mean" as in d2.yaml itself.
 *
 * Syntax: `KEY=VALUE`, KEY a dotted path into d2.yaml (`preprocess.image.0.resize.width`: a
 * number selects a list element), VALUE YAML (`thorough`, `3`, `[{channels: 1}]`); an empty
 * VALUE removes the key (back to its default). A source whose name holds a '.' cannot be
 * addressed this way.
 *
 * Pure: text in, text and issues out.
 */
import { isCollection, parse, parseDocument } from 'yaml';
import { parseManifest } from './manifest.js';
import type { Issue } from './parse-yaml.js';
import type { Manifest } from './schema.js';

export interface ManifestSetting {
  /** Dotted key, as given: 'model.preset'. */
  key: string;
  /** The new value; null removes the key. */
  value: unknown;
}

export interface AppliedSetting extends ManifestSetting {
  /** The value the key had in the text it was applied to (null: not written there). */
  previous: unknown;
}

export interface SettingsResult {
  text: string;
  manifest?: Manifest;
  applied: AppliedSetting[];
  /** Problems, each message naming the setting it comes from. */
  issues: Issue[];
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** Parse `KEY=VALUE` (VALUE as YAML); an issue when it cannot be. */
export function parseSetting(arg: string): { setting?: ManifestSetting; issue?: Issue } {
  const eq = arg.indexOf('=');
  const key = (eq < 0 ? arg : arg.slice(0, eq)).trim();
  if (eq < 0) return { issue: { path: key, message: `'${arg}' is not KEY=VALUE (e.g. model.preset=thorough)` } };
  if (!key.split('.').every((s) => SEGMENT.test(s))) return { issue: { path: key, message: `'${key}' is not a key of d2.yaml (dotted names, e.g. model.preset)` } };
  const raw = arg.slice(eq + 1);
  if (raw.trim() === '') return { setting: { key, value: null } };
  try {
    return { setting: { key, value: parse(raw) as unknown } };
  } catch (e) {
    return { issue: { path: key, message: `the value of '${key}' is not YAML: ${(e as Error).message.split('\n')[0]}` } };
  }
}

function pathOf(key: string): (string | number)[] {
  return key.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function show(s: ManifestSetting): string {
  return `${s.key}=${s.value === null ? '' : typeof s.value === 'string' ? s.value : JSON.stringify(s.value)}`;
}

/** Apply settings to d2.yaml's text and parse the result. */
export function applySettings(text: string, settings: readonly ManifestSetting[]): SettingsResult {
  const doc = parseDocument(text);
  const applied: AppliedSetting[] = [];
  const issues: Issue[] = [];
  for (const s of settings) {
    const p = pathOf(s.key);
    const before = doc.getIn(p);
    const previous = before === undefined ? null : isCollection(before) ? before.toJSON() : before;
    try {
      if (s.value === null) doc.deleteIn(p);
      else doc.setIn(p, doc.createNode(s.value));
      applied.push({ ...s, previous });
    } catch (e) {
      issues.push({ path: s.key, message: `option 'set' '${show(s)}': cannot set '${s.key}': ${(e as Error).message.split('\n')[0]}` });
    }
  }
  const out = doc.toString({ lineWidth: 0 });
  if (issues.length) return { text: out, applied, issues };
  const parsed = parseManifest(out);
  if (parsed.manifest) return { text: out, manifest: parsed.manifest, applied, issues: [] };
  // The text was valid before, so every issue comes from a setting: the one whose key shares
  // the longest dotted prefix with the issue's path. Positions in the edited text mean nothing
  // to the user and are dropped.
  const shared = (a: string, b: string): number => {
    const x = a.split('.');
    const y = b.split('.');
    let n = 0;
    while (n < x.length && n < y.length && x[n] === y[n]) n++;
    return n;
  };
  for (const i of parsed.issues) {
    const from = settings.reduce((best, s) => (shared(s.key, i.path) > shared(best.key, i.path) ? s : best), settings[0]!);
    const { line: _l, col: _c, ...rest } = i;
    issues.push(from ? { ...rest, message: `option 'set' '${show(from)}': ${i.message}` } : i);
  }
  return { text: out, applied, issues };
}
