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

  it('normalises a backbone path and keeps its declared input', () => {
    const m = parseManifest(fs.readFileSync(path.join(dir, 'valid', 'backbone.yaml'), 'utf8')).manifest!;
    expect(m.model.backbone).toEqual({ path: 'models/mobilenet', layer: 'global_average_pooling2d', input: { width: 224, height: 224, channels: 3, range: [-1, 1] } });
    expect(parseManifest(serializeManifest(m)).manifest).toEqual(m);
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

describe('paths in a d2.yaml from a clone', () => {
  const source = (extra: string) => `version: 1\nsources:\n  s:\n${extra}`;
  const messages = (text: string) => formatManifestIssues('d2.yaml', parseManifest(text).issues);

  it.each([
    ['../../x', "d2.yaml:4:11: 'sources.s.path': '../../x' is outside the project (it has a '..' segment); if the source is meant to be outside, add 'external: true' to it"],
    ['/etc', "d2.yaml:4:11: 'sources.s.path': '/etc' is outside the project (it is absolute)"],
    ['C:/data', "d2.yaml:4:11: 'sources.s.path': 'C:/data' is outside the project (it starts with a drive letter ('C:'))"],
    ['"..\\\\..\\\\x"', "d2.yaml:4:11: 'sources.s.path': '../../x' is outside the project"],
    ['data/../../x', "is outside the project (it has a '..' segment)"],
    ['.git/hooks', "d2.yaml:4:11: 'sources.s.path': unsafe path '.git/hooks': has a '.git' segment"],
    ['.d2/objects', "unsafe path '.d2/objects': has a '.d2' segment"],
    ['"data\\u001b[2J"', "unsafe path 'data\\u001b[2J': contains the control character U+001B"],
    ['.', "d2.yaml:4:11: 'sources.s.path' is the project folder itself"],
    ['./', "'sources.s.path' is the project folder itself"],
    ['d2.sources', "d2.yaml:4:11: 'sources.s.path': 'd2.sources' holds d2's own files: give a folder of raw data"],
    ['d2.sources/x', "'d2.sources/x' holds d2's own files"],
  ])('refuses a source path %s, at its line', (p, message) => {
    const r = parseManifest(source(`    path: ${p}\n`));
    expect(r.manifest).toBeUndefined();
    expect(messages(source(`    path: ${p}\n`)).join('\n')).toContain(message);
  });

  it('accepts a path outside the project when the source says external: true', () => {
    const r = parseManifest(source('    path: ../../shared/fashion\n    external: true\n'));
    expect(r.issues).toEqual([]);
    expect(r.manifest!.sources.s).toEqual({ path: '../../shared/fashion', external: true });
    expect(parseManifest(source('    path: /mnt/data\n    external: true\n')).issues).toEqual([]);
    // external: false is the default: still refused
    expect(messages(source('    path: /mnt/data\n    external: false\n'))[0]).toMatch(/is outside the project/);
  });

  it('still refuses NUL and control characters in an external path', () => {
    expect(messages(source('    path: "/mnt/a\\u0000b"\n    external: true\n'))[0]).toBe("d2.yaml:4:11: 'sources.s.path': '/mnt/a\\u0000b' contains a NUL character");
  });

  it('checks a labels CSV path the same way, external with its source', () => {
    expect(messages(source('    path: data\n    labels: ../../etc/labels.csv\n'))).toEqual([
      "d2.yaml:5:13: 'sources.s.labels': '../../etc/labels.csv' is outside the project (it has a '..' segment); if the source is meant to be outside, add 'external: true' to it",
    ]);
    expect(parseManifest(source('    path: data\n    labels: ../labels.csv\n    external: true\n')).issues).toEqual([]);
    expect(messages(source('    path: data\n    labels: .git/x.csv\n'))[0]).toMatch(/'sources\.s\.labels': unsafe path '\.git\/x\.csv'/);
  });

  it('requires dataset.modelTests inside the project, external or not', () => {
    expect(messages('version: 1\ndataset:\n  modelTests: ../../secrets.csv\n')).toEqual([
      "d2.yaml:3:15: 'dataset.modelTests': '../../secrets.csv' is outside the project (it has a '..' segment)",
    ]);
    expect(messages('version: 1\ndataset:\n  modelTests: /etc/x.csv\n')[0]).toMatch(/'dataset\.modelTests': '\/etc\/x\.csv' is outside the project \(it is absolute\)$/);
    expect(parseManifest('version: 1\ndataset:\n  modelTests: ./tests/model-tests.csv\n').manifest!.dataset.modelTests).toBe('tests/model-tests.csv');
  });

  it('reports every unsafe path at once', () => {
    const r = parseManifest('version: 1\nsources:\n  a: { path: ../a }\n  b: { path: /b }\ndataset:\n  modelTests: ../t.csv\n');
    expect(r.issues.map((i) => [i.path, i.line])).toEqual([['sources.a.path', 3], ['sources.b.path', 4], ['dataset.modelTests', 6]]);
  });

  it('round-trips external: true', () => {
    const m = parseManifest(source('    path: /mnt/data\n    external: true\n')).manifest!;
    expect(serializeManifest(m)).toContain('external: true');
    expect(parseManifest(serializeManifest(m)).manifest).toEqual(m);
  });
});

describe('setSourceInManifestText and external sources', () => {
  it('writes external: true for a folder or labels CSV that d2 add was given outside the project', () => {
    const abs = setSourceInManifestText(MANIFEST_TEMPLATE, 'shared', { path: '/mnt/shared/x' });
    expect(parseManifest(abs).manifest!.sources.shared).toEqual({ path: '/mnt/shared/x', external: true });
    const labels = setSourceInManifestText(MANIFEST_TEMPLATE, 'x', { path: 'data/x', labels: '../labels.csv' });
    expect(parseManifest(labels).manifest!.sources.x).toEqual({ path: 'data/x', external: true, labels: '../labels.csv' });
    const inside = setSourceInManifestText(MANIFEST_TEMPLATE, 'x', { path: 'data/x', labels: 'dirname' });
    expect(inside).not.toContain('external');
  });
});

describe('text sources and preprocess.text', () => {
  it('applies the text defaults', () => {
    const r = parseManifest('version: 1\n');
    expect(r.manifest!.preprocess.text).toEqual({
      normalize: 'nfkc', lowercase: true, words: [1, 1], chars: null, features: 'vocabulary', dimensions: 4096, minCount: 1, tf: 'raw', chunk: null, maxBytes: 10_000_000,
    });
  });
  it('reports bad text settings and misplaced source keys at their lines', () => {
    const r = parseManifest([
      'version: 1',
      'sources:',
      '  a:',
      '    path: docs',
      '    textColumn: body',
      '  b:',
      '    path: t.csv',
      '    modality: text',
      'preprocess:',
      '  text:',
      '    words: null',
      '    chunk: { words: 10, overlap: 10 }',
      '',
    ].join('\n'));
    expect(formatManifestIssues('d2.yaml', r.issues)).toEqual([
      expect.stringMatching(/^d2\.yaml:11:5: .*give word n-grams \('words'\) or character n-grams/),
      expect.stringMatching(/^d2\.yaml:12:12: .*'overlap' must be smaller than 'words'/),
    ]);
    const rules = parseManifest('version: 1\nsources:\n  a:\n    path: docs\n    textColumn: body\n  b:\n    path: t.csv\n    modality: text\n');
    expect(rules.issues.map((i) => i.message)).toEqual([
      "'textColumn' is for table sources (a path ending in .csv); 'docs' is a folder",
      "'modality' is for folder sources; a table's rows are texts when it has a 'textColumn'",
    ]);
  });
  it('writes textColumn and modality when d2 add declares a source', () => {
    const text = setSourceInManifestText('version: 1\n', 'tickets', { path: 'tickets.jsonl', textColumn: 'body', labelColumn: 'team' });
    expect(parseManifest(text).manifest!.sources.tickets).toEqual({ path: 'tickets.jsonl', textColumn: 'body', labelColumn: 'team' });
  });
});
