/**
 * The dependency rule of docs/architecture.md, enforced: imports only point downward (verbs
 * never import verbs, services never import verbs, adapters take manifest types only), no
 * cycles between files, each external package is imported by exactly one adapter folder, no
 * `process` state outside src/cli, computed `import()` only where listed, and nothing prints
 * outside cli/render.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './testing/index.js';

const SRC = path.join(REPO_ROOT, 'src');

type Rule = { src: string[]; external: string[] };
/** What every adapter may import at run time; `manifest` only as types (see below). */
const ADAPTER_BASE = ['core', 'errors', 'util'];
const ADAPTERS = ['store', 'workspace', 'git', 'preprocess', 'engine', 'remote', 'html'];
const RULES: Record<string, Rule> = {
  errors: { src: [], external: [] },
  util: { src: [], external: [] },
  // core stays pure: picomatch and umap-js (seeded) are pure functions too
  core: { src: ['errors', 'util'], external: ['picomatch', 'umap-js'] },
  manifest: { src: ['core', 'errors', 'util'], external: ['yaml', 'zod', 'csv-parse', 'csv-stringify', 'fastest-levenshtein'] },
  store: { src: ADAPTER_BASE, external: [] },
  workspace: { src: ADAPTER_BASE, external: [] },
  git: { src: ADAPTER_BASE, external: ['isomorphic-git'] },
  preprocess: { src: ADAPTER_BASE, external: ['sharp'] },
  engine: { src: ADAPTER_BASE, external: ['@tensorflow/'] },
  remote: { src: ADAPTER_BASE, external: ['@aws-sdk/'] },
  // the report page: reads the browser builds of vega, vega-lite and vega-embed to inline them
  html: { src: ADAPTER_BASE, external: ['vega', 'vega-lite', 'vega-embed'] },
  // services: everything below them, other services; never a verb
  project: { src: ['project', 'core', 'manifest', 'errors', 'util', ...ADAPTERS], external: [] },
  // verbs: services and everything below; in api/ only the shared helper (checked apart)
  api: { src: ['api', 'project', 'core', 'manifest', 'errors', 'util', ...ADAPTERS], external: [] },
  cli: { src: ['cli', 'index.ts', 'errors', 'util'], external: ['commander', 'ink', 'react'] },
  // engine only for its names (engine/names.ts: no TensorFlow is loaded)
  'index.ts': { src: ['api', 'project', 'core', 'errors', 'manifest', 'workspace', 'engine'], external: [] },
};

/** The one module of api/ that verbs share (caller stamp, project, store lock). */
const VERB_HELPER = path.join('api', 'verb.ts');

/** Imports past the rules, each explained where it is made. */
const EXCEPTIONS: [from: string, to: string][] = [
  // the launcher's head start for status must not load index.ts (all of d2)
  [path.join('cli', 'prefetch.ts'), path.join('project', 'head-start.js')],
];

/**
 * Where `process` state (working directory, environment, argv, exit, standard streams) may be
 * read outside src/cli, and why. Everything else takes it as an option.
 */
const PROCESS_ALLOWED: Record<string, string> = {
  [path.join('workspace', 'unchanged.ts')]: 'stats cached paths relative to the working directory (fewer path components per lstat); reads it, never changes it',
  [path.join('engine', 'simd-kernels.ts')]: 'D2_SIMD_KERNELS=0, a switch to rule the SIMD kernels out when measuring',
  [path.join('remote', 's3-remote.ts')]: "the AWS SDK's own environment conventions (AWS_REGION, AWS_ENDPOINT_URL…), as every S3 tool reads them",
  [path.join('store', 'lock.ts')]: "releases the store lock on process 'exit' when a caller skips its finally blocks",
};

/** Code that runs in a browser, not in d2's process (its console is the page's), and why. */
const BROWSER_CODE: Record<string, string> = {
  [path.join('html', 'client.ts')]: "the report page's script: a chart that fails is reported on the page and on the browser's console",
};

/** Computed `import()` (a module named by an expression), and why. */
const COMPUTED_IMPORTS: Record<string, string> = {
  [path.join('engine', 'engines.ts')]: 'loads the optional @tensorflow/* engines by name, when present',
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) {
      if (ent.name !== 'testing') out.push(...sourceFiles(p));
    } else if (/\.tsx?$/.test(ent.name) && !/\.test\.tsx?$/.test(ent.name)) {
      out.push(p);
    }
  }
  return out;
}

function imports(text: string): { spec: string; typeOnly: boolean; lazy: boolean }[] {
  const out: { spec: string; typeOnly: boolean; lazy: boolean }[] = [];
  const re = /(?:^|\n)\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    // `import { type A, type B } from` is type-only too
    const names = m[0].match(/\{([^}]*)\}/)?.[1];
    const allTypes = names !== undefined && names.split(',').map((n) => n.trim()).filter(Boolean).every((n) => n.startsWith('type '));
    out.push({ spec: m[3] ?? m[4]!, typeOnly: Boolean(m[2]) || (m[3] !== undefined && allTypes), lazy: m[4] !== undefined });
  }
  return out;
}

/** Code without comments and string contents (so documentation does not count as code). */
function codeOf(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
}

function resolveImport(file: string, spec: string): string {
  const target = path.resolve(path.dirname(file), spec);
  return target.replace(/\.js$/, fs.existsSync(target.replace(/\.js$/, '.tsx')) ? '.tsx' : '.ts');
}

function areaOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length === 1 ? rel[0]! : rel[0]!;
}

describe('architecture', () => {
  const files = sourceFiles(SRC);

  it('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it('imports point only downward, and each package is imported by its one adapter', () => {
    const violations: string[] = [];
    for (const file of files) {
      const area = areaOf(file);
      const rule = RULES[area];
      if (!rule) {
        violations.push(`${path.relative(SRC, file)}: folder '${area}' has no rule`);
        continue;
      }
      for (const { spec, typeOnly } of imports(fs.readFileSync(file, 'utf8'))) {
        if (spec.startsWith('node:')) continue;
        if (spec.startsWith('.')) {
          const target = path.resolve(path.dirname(file), spec);
          const targetArea = areaOf(target.replace(/\.js$/, '.ts'));
          if (targetArea === area) continue;
          const allowed = rule.src.includes(targetArea) || (typeOnly && targetArea === 'manifest' && ADAPTERS.includes(area))
            || EXCEPTIONS.some(([from, to]) => path.relative(SRC, file) === from && path.relative(SRC, target) === to);
          if (!allowed) violations.push(`${path.relative(SRC, file)} imports ${spec} (${area} may not import ${targetArea})`);
        } else if (!rule.external.some((e) => spec === e || spec.startsWith(e.endsWith('/') ? e : `${e}/`))) {
          violations.push(`${path.relative(SRC, file)} imports package '${spec}' (not allowed in ${area})`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('verbs never import another verb: api/ files import only the shared helper of api/', () => {
    const violations: string[] = [];
    for (const file of files.filter((f) => areaOf(f) === 'api')) {
      for (const { spec } of imports(fs.readFileSync(file, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const target = path.relative(SRC, resolveImport(file, spec));
        if (areaOf(path.join(SRC, target)) === 'api' && target !== VERB_HELPER) violations.push(`${path.relative(SRC, file)} imports ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  // A lazy `import()` runs after both modules loaded, so it closes no load-order cycle.
  it('has no import cycles between files (type-only and lazy imports aside)', () => {
    const graph = new Map<string, string[]>();
    for (const file of files) {
      const deps = imports(fs.readFileSync(file, 'utf8'))
        .filter((i) => i.spec.startsWith('.') && !i.typeOnly && !i.lazy)
        .map((i) => resolveImport(file, i.spec))
        .filter((t) => fs.existsSync(t));
      graph.set(file, deps);
    }
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, stack: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...stack.slice(stack.indexOf(f)), f].map((x) => path.relative(SRC, x)).join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const d of graph.get(f) ?? []) visit(d, [...stack, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('reads process state (cwd, env, argv, exit, streams) only in src/cli and the listed places', () => {
    const offenders = files.filter((f) => {
      const rel = path.relative(SRC, f);
      if (rel.startsWith(`cli${path.sep}`) || PROCESS_ALLOWED[rel]) return false;
      return /\bprocess\.(cwd|env|argv|exit|exitCode|stdout|stderr|stdin|chdir)\b/.test(codeOf(fs.readFileSync(f, 'utf8')));
    });
    expect(offenders.map((f) => path.relative(SRC, f))).toEqual([]);
  });

  it('names every imported module literally, except where listed', () => {
    const offenders = files.filter((f) => {
      const rel = path.relative(SRC, f);
      return !COMPUTED_IMPORTS[rel] && /\bimport\(\s*[^'"\s)]/.test(codeOf(fs.readFileSync(f, 'utf8')));
    });
    expect(offenders.map((f) => path.relative(SRC, f))).toEqual([]);
  });

  it('prints only from cli/render (and the one top-level catch in cli/main)', () => {
    const offenders = files.filter((f) => {
      const rel = path.relative(SRC, f);
      if (BROWSER_CODE[rel]) return false;
      const code = fs.readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      return !rel.startsWith(`cli${path.sep}render`) && /\bconsole\.(log|error|warn|info|debug)\(/.test(code);
    });
    expect(offenders.map((f) => path.relative(SRC, f))).toEqual([]);
  });

  it('gives every module a header comment', () => {
    const missing = files.filter((f) => !/^\s*\/\*\*/.test(fs.readFileSync(f, 'utf8')));
    expect(missing.map((f) => path.relative(SRC, f))).toEqual([]);
  });
});
