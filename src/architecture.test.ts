/**
 * The dependency rule of docs/architecture.md, enforced: imports only point downward, each
 * external package is imported by exactly one adapter folder, and nothing prints outside
 * cli/render.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './testing/index.js';

const SRC = path.join(REPO_ROOT, 'src');

type Rule = { src: string[]; external: string[] };
const ADAPTER_BASE = ['core', 'manifest', 'errors', 'util'];
const RULES: Record<string, Rule> = {
  errors: { src: [], external: [] },
  util: { src: [], external: [] },
  // core stays pure: its one package, picomatch, is a pure function too
  core: { src: ['errors', 'util'], external: ['picomatch'] },
  manifest: { src: ['core', 'errors', 'util'], external: ['yaml', 'zod', 'csv-parse', 'csv-stringify', 'fastest-levenshtein'] },
  store: { src: ADAPTER_BASE, external: [] },
  workspace: { src: ADAPTER_BASE, external: [] },
  git: { src: ADAPTER_BASE, external: ['isomorphic-git'] },
  preprocess: { src: ADAPTER_BASE, external: ['sharp'] },
  engine: { src: ADAPTER_BASE, external: ['@tensorflow/'] },
  remote: { src: ADAPTER_BASE, external: ['@aws-sdk/'] },
  api: { src: ['api', 'core', 'manifest', 'errors', 'util', 'store', 'workspace', 'git', 'preprocess', 'engine', 'remote'], external: [] },
  cli: { src: ['cli', 'index.ts', 'errors', 'util'], external: ['commander', 'ink', 'react'] },
  'index.ts': { src: ['api', 'core', 'errors', 'manifest', 'workspace'], external: [] },
};

/** Imports past the rules, each explained where it is made. */
const EXCEPTIONS: [from: string, to: string][] = [
  // the launcher's head start for status must not load index.ts (all of d2)
  [path.join('cli', 'prefetch.ts'), path.join('api', 'prefetch.js')],
];

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

function imports(text: string): { spec: string; typeOnly: boolean }[] {
  const out: { spec: string; typeOnly: boolean }[] = [];
  const re = /(?:^|\n)\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ spec: m[3] ?? m[4]!, typeOnly: Boolean(m[2]) });
  return out;
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
          const allowed = rule.src.includes(targetArea) || (typeOnly && targetArea === 'manifest' && ADAPTER_BASE.includes('manifest'))
            || EXCEPTIONS.some(([from, to]) => path.relative(SRC, file) === from && path.relative(SRC, target) === to);
          if (!allowed) violations.push(`${path.relative(SRC, file)} imports ${spec} (${area} may not import ${targetArea})`);
        } else if (!rule.external.some((e) => spec === e || spec.startsWith(e.endsWith('/') ? e : `${e}/`))) {
          violations.push(`${path.relative(SRC, file)} imports package '${spec}' (not allowed in ${area})`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('prints only from cli/render (and the one top-level catch in cli/main)', () => {
    const offenders = files.filter((f) => {
      const rel = path.relative(SRC, f);
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
