import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../testing/index.js';
import { formatManifestIssues, parseManifest, serializeManifest, setSourceInManifestText } from './manifest.js';
import { MANIFEST_TEMPLATE } from './template.js';

const dir = path.join(REPO_ROOT, 'fixtures', 'manifests');

describe('parseManifest', () => {
  it.each(fs.readdirSync(path.join(dir, 'valid')))('accepts valid/%s', (name) => {
    const r = parseManifest(fs.readFileSync(path.join(dir, 'valid', name), 'utf8'));
    expect(r.issues).toEqual([]);
    expect(r.manifest?.version).toBe(1);
  });

  it.each(fs.readdirSync(path.join(dir, 'invalid')))('rejects invalid/%s with the expected message and position', (name) => {
    const text = fs.readFileSync(path.join(dir, 'invalid', name), 'utf8');
    const expected = /^# expect: (.*)$/m.exec(text)![1]!;
    const r = parseManifest(text);
    expect(r.manifest).toBeUndefined();
    expect(formatManifestIssues('d2.yaml', r.issues).join('\n')).toContain(`d2.yaml:${expected}`);
  });

  it('reports every problem at once', () => {
    const r = parseManifest('version: 3\nsorces: {}\nsources:\n  x:\n    path: 1\n');
    expect(r.issues.map((i) => i.line)).toEqual([1, 2, 5]);
  });

  it('normalises paths and applies defaults', () => {
    const r = parseManifest(fs.readFileSync(path.join(dir, 'valid', 'sources-and-preprocess.yaml'), 'utf8'));
    expect(r.manifest!.sources.fashion!.path).toBe('data/fashion');
    expect(r.manifest!.sources.extra!.path).toBe('data/extra');
    expect(r.manifest!.preprocess.image![2]).toEqual({ resize: { width: 32, height: 32, fit: 'cover', kernel: 'bilinear', background: 0 } });
    expect(parseManifest('version: 1\n').manifest!.preprocess.maxPixels).toBe(50_000_000);
  });

  it('accepts the init template as written', () => {
    expect(parseManifest(MANIFEST_TEMPLATE).issues).toEqual([]);
  });
});

describe('serializeManifest', () => {
  it('round-trips: parse(serialize(m)) equals m', () => {
    const m = parseManifest('version: 1\nsources:\n  b: {path: data/b}\n  a: {path: data/a, labels: dirname}\n').manifest!;
    const text = serializeManifest(m);
    expect(text.indexOf('a:')).toBeLessThan(text.indexOf('b:'));
    expect(parseManifest(text).manifest).toEqual(m);
  });
});

describe('setSourceInManifestText', () => {
  it("adds a source and keeps the user's comments", () => {
    const text = setSourceInManifestText(MANIFEST_TEMPLATE, 'fashion', { path: 'data/fashion', labels: 'dirname' });
    expect(text).toContain('# Sources: named folders of raw files.');
    expect(parseManifest(text).manifest!.sources).toEqual({ fashion: { path: 'data/fashion', labels: 'dirname' } });
    const again = setSourceInManifestText(text, 'alpha', { path: 'data/alpha' });
    expect(Object.keys(parseManifest(again).manifest!.sources)).toEqual(['alpha', 'fashion']);
  });
});

describe('model section', () => {
  it('reads durations', async () => {
    const { durationSeconds } = await import('./schema.js');
    expect(durationSeconds('1h30m')).toBe(5400);
    expect(durationSeconds('90s')).toBe(90);
    expect(durationSeconds(12)).toBe(12);
    expect(parseManifest('version: 1\nmodel: { timeBudget: 10 minutes }\n').issues[0]?.message).toMatch(/expected a duration/);
    expect(parseManifest('version: 1\n').manifest!.model).toEqual({ preset: 'default', seed: 0 });
  });
});
