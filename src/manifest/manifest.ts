/**
 * `d2.yaml`: parse (with positions), normalise, check cross-field rules, serialise, and edit
 * in place. `parseManifest` is the only way d2 reads a manifest.
 *
 * Invariants: a Manifest returned here is fully validated and normalised (POSIX paths without
 * './' or trailing '/'); `serializeManifest` is deterministic and `parseManifest` of its output
 * gives back an equal Manifest; `addSourceToManifestText` keeps the user's comments and layout.
 * A d2.yaml may come from a clone, so its paths are untrusted (docs/security.md): in a returned
 * Manifest every source `path` and labels CSV is a safe relative path inside the project
 * (core/safe-path.ts) unless the source says `external: true`, and `dataset.modelTests` always
 * is; no source is `d2.sources/` or below it; no path holds a NUL or control character.
 */
import { isMap, LineCounter, parseDocument, stringify } from 'yaml';
import { checkPathCharacters, checkRelativePath, displayPath, leadsOutside } from '../core/safe-path.js';
import { formatIssue, parseYamlWithSchema, suggest, type Issue } from './parse-yaml.js';
import { SOURCES_DIR } from './manifest-file.js';
import { isTableSource, manifestSchema, type Manifest, type SourceDecl } from './schema.js';

export interface ManifestParseResult {
  manifest?: Manifest;
  issues: Issue[];
  warnings: Issue[];
}

export { MANIFEST_FILE } from './manifest-file.js';

export function normalizeRelPath(p: string): string {
  let s = p.replace(/\\/g, '/').replace(/\/+/g, '/');
  while (s.startsWith('./')) s = s.slice(2);
  if (s.length > 1) s = s.replace(/\/$/, '');
  return s === '' ? '.' : s;
}

export function parseManifest(text: string): ManifestParseResult {
  const { value, issues, doc, lineCounter } = parseYamlWithSchema(text, manifestSchema);
  if (!value || issues.length) return { issues, warnings: [] };
  const sources: Record<string, SourceDecl> = {};
  for (const name of Object.keys(value.sources).sort()) {
    const s = value.sources[name]!;
    sources[name] = { ...s, path: normalizeRelPath(s.path), ...(s.labels && s.labels !== 'dirname' ? { labels: normalizeRelPath(s.labels) } : {}) };
  }
  const dataset = value.dataset.modelTests === undefined ? value.dataset : { ...value.dataset, modelTests: normalizeRelPath(value.dataset.modelTests) };
  const backbone = value.model.backbone;
  const model = backbone?.path === undefined ? value.model : { ...value.model, backbone: { ...backbone, path: normalizeRelPath(backbone.path) } };
  const manifest: Manifest = { ...value, sources, dataset, model };
  const rules = checkRules(manifest);
  for (const issue of rules) {
    const keyPath = issue.path.split('.');
    const node = doc?.getIn(keyPath, true) as { range?: [number, number, number] } | undefined;
    if (node?.range) Object.assign(issue, lineCounter.linePos(node.range[0]));
  }
  return rules.length ? { issues: rules, warnings: [] } : { manifest, issues: [], warnings: [] };
}

/**
 * Where the value of a dotted key (e.g. 'model.backbone.build') is in d2.yaml's text, for an
 * error found after parsing (a build named there that the store lacks); undefined when absent.
 */
export function manifestPosition(text: string, keyPath: string): { line: number; col: number } | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const node = doc.getIn(keyPath.split('.'), true) as { range?: [number, number, number] } | undefined;
  return node?.range ? lineCounter.linePos(node.range[0]) : undefined;
}

function checkRules(m: Manifest): Issue[] {
  const issues: Issue[] = [];
  const names = Object.keys(m.sources);
  const known = (list: readonly string[] | undefined, key: string): void => {
    list?.forEach((name, i) => {
      if (!m.sources[name]) {
        const hint = suggest(name, names);
        issues.push({ path: `${key}.${i}`, message: `'${key}' names an unknown source '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}` });
      }
    });
  };
  known(m.dataset.include, 'dataset.include');
  known(m.dataset.exclude, 'dataset.exclude');
  for (const [name, decl] of Object.entries(m.sources)) {
    const external = decl.external === true;
    issues.push(...checkDeclaredPath(`sources.${name}.path`, decl.path, external));
    if (decl.labels !== undefined && decl.labels !== 'dirname') issues.push(...checkDeclaredPath(`sources.${name}.labels`, decl.labels, external));
    if (decl.unlabelled === true) {
      for (const key of ['labels', 'labelColumn'] as const) {
        if (decl[key] !== undefined) issues.push({ path: `sources.${name}.${key}`, message: `source '${name}' is declared 'unlabelled' (a pool to label later): it takes no '${key}'; remove one of the two` });
      }
    }
    if (isTableSource(decl)) {
      if (decl.labels !== undefined) issues.push({ path: `sources.${name}.labels`, message: `source '${name}' is a table (its path is a .csv file): give its label column with 'labelColumn', not 'labels'` });
      if (decl.modality !== undefined) issues.push({ path: `sources.${name}.modality`, message: `'modality' is for folder sources; a table's rows are texts when it has a 'textColumn'` });
    } else {
      for (const key of ['labelColumn', 'idColumn', 'textColumn'] as const) {
        if (decl[key] !== undefined) issues.push({ path: `sources.${name}.${key}`, message: `'${key}' is for table sources (a path ending in .csv); '${decl.path}' is a folder` });
      }
    }
  }
  if (m.dataset.modelTests !== undefined) issues.push(...checkDeclaredPath('dataset.modelTests', m.dataset.modelTests, false));
  const backbone = m.model.backbone;
  if (backbone?.path !== undefined) issues.push(...checkDeclaredPath('model.backbone.path', backbone.path, backbone.external === true));
  if (backbone?.url !== undefined && backbone.external !== undefined) issues.push({ path: 'model.backbone.external', message: "'external' is for a backbone 'path'; a 'url' is fetched into the store" });
  if (backbone?.build !== undefined && backbone.external !== undefined) issues.push({ path: 'model.backbone.external', message: "'external' is for a backbone 'path'; a 'build' is read from the store" });
  if (backbone && m.preprocess.image?.some((s) => s.channels === 4)) {
    issues.push({ path: 'preprocess.image', message: "a backbone reads 1 or 3 channels: 'channels: 4' cannot feed it" });
  }
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const a = m.sources[names[i]!]!.path;
      const b = m.sources[names[j]!]!.path;
      if (a === b || a === '.' || b === '.' || b.startsWith(`${a}/`) || a.startsWith(`${b}/`)) {
        issues.push({
          path: `sources.${names[j]}.path`,
          message: `sources '${names[i]}' and '${names[j]}' overlap ('${a}' and '${b}'): a file must belong to one source`,
        });
      }
    }
  }
  return issues;
}

/**
 * A path written in d2.yaml (already normalised): inside the project and safe, unless
 * `external` (then anything but NUL and control characters). A cloned d2.yaml must not make
 * d2 read or write outside the project without saying so.
 */
function checkDeclaredPath(key: string, p: string, external: boolean): Issue[] {
  // d2's own committed files are not data: `d2 pull` must never write among them.
  if (key.endsWith('.path') && (p === SOURCES_DIR || p.startsWith(`${SOURCES_DIR}/`))) {
    return [{ path: key, message: `'${key}': '${displayPath(p)}' holds d2's own files: give a folder of raw data` }];
  }
  if (external) {
    const problem = checkPathCharacters(p);
    return problem === undefined ? [] : [{ path: key, message: `'${key}': '${displayPath(p)}' ${problem}` }];
  }
  if (p === '.') return [{ path: key, message: `'${key}' is the project folder itself: give a folder or file inside it` }];
  const problem = checkRelativePath(p);
  if (problem === undefined) return [];
  if (leadsOutside(p)) {
    const hint = key.startsWith('sources.') ? `; if the source is meant to be outside, add 'external: true' to it` : key === 'model.backbone.path' ? `; if the backbone is meant to be outside, add 'external: true' to 'model.backbone'` : '';
    return [{ path: key, message: `'${key}': '${displayPath(p)}' is outside the project (it ${problem})${hint}` }];
  }
  return [{ path: key, message: `'${key}': unsafe path '${displayPath(p)}': ${problem}` }];
}

/**
 * True when `d2 add` must write `external: true` for `decl`: it says so, or its folder or labels
 * CSV is outside the project. The user gave that path on the command line (trusted), and
 * `d2 add` refuses a folder outside the project without `--external` before it gets here; this
 * keeps the d2.yaml it writes valid.
 */
export function needsExternal(decl: SourceDecl): boolean {
  return decl.external === true || leadsOutside(decl.path) || (decl.labels !== undefined && decl.labels !== 'dirname' && leadsOutside(decl.labels));
}

/** The issues as printable lines, `d2.yaml:3:5: message`. */
export function formatManifestIssues(file: string, issues: readonly Issue[]): string[] {
  return issues.map((i) => formatIssue(file, i));
}

/** Deterministic YAML for a manifest (fixed key order, sorted sources, every default written). */
export function serializeManifest(m: Manifest): string {
  const sources: Record<string, SourceDecl> = {};
  for (const name of Object.keys(m.sources).sort()) {
    const s = m.sources[name]!;
    sources[name] = {
      path: s.path,
      ...(s.external === true ? { external: true } : {}),
      ...(s.labels !== undefined ? { labels: s.labels } : {}),
      ...(s.labelColumn !== undefined ? { labelColumn: s.labelColumn } : {}),
      ...(s.idColumn !== undefined ? { idColumn: s.idColumn } : {}),
      ...(s.unlabelled === true ? { unlabelled: true } : {}),
      ...(s.textColumn !== undefined ? { textColumn: s.textColumn } : {}),
      ...(s.modality !== undefined ? { modality: s.modality } : {}),
      ...(s.split !== undefined ? { split: s.split } : {}),
    };
  }
  return stringify({ version: m.version, sources, dataset: m.dataset, preprocess: m.preprocess, model: m.model }, { lineWidth: 0 });
}

/**
 * Add or update `sources.<name>` in the manifest text, keeping the rest of the document (and
 * its comments) as the user wrote it. Writes `external: true` when `needsExternal(decl)`.
 */
export function setSourceInManifestText(text: string, name: string, decl: SourceDecl): string {
  const doc = parseDocument(text);
  const existing = doc.get('sources');
  if (!isMap(existing)) doc.set('sources', doc.createNode({}));
  const entry: Record<string, string | boolean> = { path: decl.path };
  if (needsExternal(decl)) entry.external = true;
  if (decl.labels !== undefined) entry.labels = decl.labels;
  if (decl.labelColumn !== undefined) entry.labelColumn = decl.labelColumn;
  if (decl.idColumn !== undefined) entry.idColumn = decl.idColumn;
  if (decl.unlabelled === true) entry.unlabelled = true;
  if (decl.textColumn !== undefined) entry.textColumn = decl.textColumn;
  if (decl.modality !== undefined) entry.modality = decl.modality;
  if (decl.split !== undefined) entry.split = decl.split;
  doc.setIn(['sources', name], doc.createNode(entry));
  const sources = doc.get('sources');
  if (isMap(sources)) {
    sources.flow = false;
    sources.items.sort((a, b) => String((a.key as { value?: unknown })?.value).localeCompare(String((b.key as { value?: unknown })?.value)));
  }
  return doc.toString({ lineWidth: 0 });
}

/**
 * Set `dataset.modelTests` in the manifest text (`d2 label --as-model-test` declares a model
 * tests file when there is none), keeping the rest of the document as the user wrote it.
 */
export function setModelTestsInManifestText(text: string, file: string): string {
  const doc = parseDocument(text);
  if (!isMap(doc.get('dataset'))) doc.set('dataset', doc.createNode({}));
  doc.setIn(['dataset', 'modelTests'], file);
  const dataset = doc.get('dataset');
  if (isMap(dataset)) dataset.flow = false;
  return doc.toString({ lineWidth: 0 });
}
