/**
 * End-to-end: text as a third modality through the real bin/d2 — a folder of .txt/.md files
 * and a CSV / JSON Lines text column as sources; add → build (two candidate models, the choice
 * in d2.lock, reproducible per seed) → relabel (a rebuild counts no text) → diff (flips with a
 * snippet) → predict (files, folders, a CSV column, stdin lines) → export (the bundle's
 * preprocess.js encodes as d2 does; loadBundle predicts as `d2 predict`); every bad input.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { git, lastJson, REPO_ROOT, runD2, tempDir, writeFiles } from '../testing/index.js';

const ANSI = /\u001b\[/;
const WORDS: Record<string, string[]> = {
  cooking: ['bake', 'flour', 'oven', 'sugar', 'recipe', 'butter', 'dough', 'simmer', 'sauce', 'knead'],
  sports: ['goal', 'match', 'team', 'player', 'score', 'league', 'coach', 'referee', 'season', 'striker'],
  weather: ['rain', 'cloud', 'storm', 'forecast', 'wind', 'sunny', 'snow', 'humid', 'thunder', 'breeze'],
};
const COMMON = ['the', 'today', 'and', 'with', 'very', 'about', 'some', 'news'];

/** A deterministic text of class `label`: five words of its own, three shared by all classes. */
function textOf(label: string, i: number): string {
  const own = WORDS[label]!;
  const w = [own[i % 10]!, own[(i * 3 + 1) % 10]!, COMMON[i % 8]!, own[(i * 7 + 2) % 10]!, COMMON[(i * 5 + 3) % 8]!, own[(i + 5) % 10]!, COMMON[(i + 1) % 8]!, own[(i * 9 + 4) % 10]!];
  return `${w.join(' ')}.\n`;
}

function jsonLines(stdout: string): any[] {
  return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

describe('text sources', { tags: ['slow'] }, () => {
  let dir: string;

  beforeAll(async () => {
    dir = tempDir('d2-text-');
    expect((await runD2(['init'], { cwd: dir })).exitCode).toBe(0);
    const files: Record<string, string> = {};
    for (const label of Object.keys(WORDS)) for (let i = 0; i < 40; i++) files[`docs/${label}/${label}-${i}.${i % 2 ? 'md' : 'txt'}`] = textOf(label, i);
    writeFiles(dir, files);
  });

  it('adds a folder of .txt/.md files as a text source and builds both candidate models, keeping the better', async () => {
    const added = await runD2(['add', 'docs', '--labels', 'dirname', '--json'], { cwd: dir });
    expect(added.exitCode, added.stderr).toBe(0);
    expect(lastJson(added.stdout).data.sources[0]).toMatchObject({ items: 120, labelled: 120, warnings: [] });
    expect(fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8')).toMatch(/docs:\n {4}path: docs\n {4}labels: dirname\n {4}modality: text\n/);

    const built = await runD2(['build', '--engine', 'wasm', '--json'], { cwd: dir });
    expect(built.exitCode, built.stderr).toBe(0);
    const r = lastJson(built.stdout).data;
    expect(r.build.preprocess.modality).toBe('text');
    expect(r.build.preprocess.text).toMatchObject({ version: 1, column: null, settings: { normalize: 'nfkc', lowercase: true, features: 'vocabulary' } });
    expect(r.data.preprocess.stats).toMatchObject({ computed: 120, copied: 0 });
    const sel = r.build.selection;
    expect(['linear', 'mlp']).toContain(sel.chosen);
    // 120 texts: small data, so the choice is cross-validated (the mean of 5 fold losses)
    expect(sel).toMatchObject({ method: 'cross-validation', k: 5 });
    const losses = [sel.candidates.linear.cvLoss, sel.candidates.mlp.cvLoss];
    expect(sel.candidates[sel.chosen].cvLoss).toBe(Math.min(...losses));
    expect(sel.candidates.linear.foldLosses).toHaveLength(5);
    expect(r.build.metrics.test.accuracy).toBeGreaterThan(0.9);
    const lock = fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8');
    expect(lock).toContain('modality: text');
    expect(lock).toMatch(new RegExp(`selection:\\n {4}chosen: ${sel.chosen}\\n {4}method: cross-validation\\n {4}k: 5\\n {4}linear: [0-9.]+\\n {4}mlp: [0-9.]+\\n`));

    // Reproducible per seed: training again gives the same model, bit for bit.
    const again = await runD2(['build', '--engine', 'wasm', '--force', '--json'], { cwd: dir });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(lastJson(again.stdout).data.build.model).toBe(r.build.model);
    expect((await runD2(['commit', '-m', 'texts'], { cwd: dir })).exitCode).toBe(0);
  }, 240_000);

  it('a relabel rebuilds without counting any text, and diff shows the flips with a snippet', async () => {
    // Four in five 'weather' texts become 'sports' (in every split): the new model answers
    // 'sports' for weather texts, which fixes those now labelled 'sports' and breaks the others.
    const data = lastJson((await runD2(['data', '--json'], { cwd: dir })).stdout).data;
    expect(data.preprocess.stats.computed).toBe(0);
    const labelsFile = path.join(dir, 'd2.sources', 'docs.labels.csv');
    const labels = fs.readFileSync(labelsFile, 'utf8').replace(/^(docs\/)?(weather\/weather-(\d+)\.(txt|md)),weather$/gm, (m, _p, file, n) => (Number(n) % 5 ? `${file},sports` : m));
    fs.writeFileSync(labelsFile, labels);
    const built = await runD2(['build', '--engine', 'wasm', '--json'], { cwd: dir });
    expect(built.exitCode, built.stderr).toBe(0);
    const stats = lastJson(built.stdout).data.data.preprocess.stats;
    expect(stats).toMatchObject({ computed: 0, copied: 120 });
    expect((await runD2(['commit', '-m', 'relabel'], { cwd: dir })).exitCode).toBe(0);

    const d = await runD2(['diff', 'HEAD~1', 'HEAD', '--json'], { cwd: dir });
    expect(d.exitCode, d.stderr).toBe(0);
    const b = lastJson(d.stdout).data.behaviour;
    const flips = [...b.fixed, ...b.broken];
    expect(flips.length).toBeGreaterThan(0);
    for (const f of flips) {
      expect(f.snippet).toBe(textOf('weather', Number(/weather-(\d+)/.exec(f.path)![1])).trim());
    }
    const text = await runD2(['diff', 'HEAD~1', 'HEAD'], { cwd: dir });
    expect(text.stdout).toContain(`“${flips[0].snippet}”`);
    expect(text.stdout).not.toMatch(ANSI);
    for (const line of text.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  }, 240_000);

  it('predicts files, folders, a CSV column and stdin lines; bad inputs fail in their row (exit 3)', async () => {
    writeFiles(dir, {
      'new/a.txt': 'the oven and the flour',
      'new/b.md': '\uFEFFstorm and thunder today',
      'new/nul.txt': 'rain\0cloud',
      'q.csv': 'id,body\n1,goal for the team\n2,"snow, wind"\n',
      'q.jsonl': '{"id": 1, "body": "sugar and butter"}\n{"id": 2, "body": "the referee"}\n',
    });
    fs.writeFileSync(path.join(dir, 'new', 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    const r = await runD2(['predict', 'new', 'q.csv', 'q.jsonl', '--text-column', 'body', '--top', '1', '--json', '--stdin'], { cwd: dir, input: 'flour sugar\nforecast rain\n' });
    expect(r.exitCode).toBe(3);
    const preds = jsonLines(r.stdout).filter((l) => l.type === 'prediction');
    const byInput = Object.fromEntries(preds.map((p) => [p.input, p.top[0]?.label ?? p.error.message]));
    expect(byInput).toEqual({
      'text:1': 'cooking', 'text:2': 'sports', // weather is mostly 'sports' in training now
      'new/a.txt': 'cooking', 'new/b.md': 'sports',
      'new/latin1.txt': expect.stringContaining('not valid UTF-8 (at byte 3)'),
      'new/nul.txt': expect.stringContaining('NUL character'),
      'q.csv:2': 'sports', 'q.csv:3': expect.stringMatching(/^(sports|weather)$/), 'q.jsonl:1': 'cooking', 'q.jsonl:2': 'sports',
    });
    // A table input without the column: the run stops and says which column it needs.
    const none = await runD2(['predict', 'q.csv', '--text-column', 'text', '--json'], { cwd: dir });
    expect(none.exitCode).toBe(1);
    expect(lastJson(none.stdout).error.message).toContain("no column 'text'");
  }, 120_000);

  it("exports a bundle whose preprocess.js encodes as d2 does and whose model predicts as 'd2 predict'", async () => {
    const out = path.join(dir, 'bundle');
    const e = await runD2(['export', '--out', out, '--json'], { cwd: dir });
    expect(e.exitCode, e.stderr).toBe(0);
    const bundle = JSON.parse(fs.readFileSync(path.join(out, 'd2-bundle.json'), 'utf8'));
    expect(bundle.preprocess.modality).toBe('text');
    expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toContain('preprocessText');
    const texts = ['the oven and the flour', 'Ｓｔｏｒｍ and THUNDER', 'a referee, a goal and a team'];
    const portable = await import(path.join(out, 'preprocess.js'));
    const core = await import(path.join(REPO_ROOT, 'dist', 'core', 'text.js'));
    for (const t of texts) {
      const a: Float32Array = portable.preprocessText(t, bundle.preprocess);
      const b: Float32Array = core.encodeText(t, bundle.preprocess.text);
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    }
    const d2 = await import('d2');
    const model = await d2.loadBundle(out, { engine: 'wasm' });
    const probs = await model.predictTexts(texts);
    await model.dispose();
    const r = await runD2(['predict', '--stdin', '--json', '--top', String(bundle.classes.length), '--engine', 'wasm'], { cwd: dir, input: `${texts.join('\n')}\n` });
    expect(r.exitCode, r.stderr).toBe(0);
    const preds = jsonLines(r.stdout).filter((l) => l.type === 'prediction');
    preds.forEach((p, i) => {
      for (const t of p.top) expect(t.probability).toBe(probs[i * bundle.classes.length + bundle.classes.indexOf(t.label)]);
    });
  }, 120_000);

  it('a clone that pulls the cache counts no text, and only a new text when one is added', async () => {
    const remote = tempDir('d2-text-remote-');
    expect((await runD2(['remote', 'add', 'origin', remote], { cwd: dir })).exitCode).toBe(0);
    expect((await runD2(['commit', '-m', 'remote'], { cwd: dir })).exitCode).toBe(0);
    const pushed = await runD2(['push', '--with-cache'], { cwd: dir });
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    const clone = path.join(tempDir('d2-text-clone-'), 'c');
    expect((await git(['clone', '-q', dir, clone], path.dirname(clone))).exitCode).toBe(0);
    const pulled = await runD2(['pull', '--with-cache'], { cwd: clone });
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    const data = await runD2(['data', '--json'], { cwd: clone });
    expect(lastJson(data.stdout).data.preprocess.stats).toMatchObject({ reused: true, computed: 0 });
    writeFiles(clone, { 'docs/cooking/new.txt': 'simmer the sauce with butter' });
    expect((await runD2(['add', 'docs'], { cwd: clone })).exitCode).toBe(0);
    const again = lastJson((await runD2(['data', '--json'], { cwd: clone })).stdout).data;
    expect(again.preprocess.stats).toMatchObject({ computed: 1, copied: 120 });
    expect(lastJson((await runD2(['fsck', '--json'], { cwd: clone })).stdout).data.ok).toBe(true);
  }, 120_000);
});

describe('text columns of tables, and bad texts', { tags: ['slow'] }, () => {
  it('adds a CSV text column and a JSON Lines file; predicts a CSV by the model\'s column', async () => {
    const dir = tempDir('d2-text-table-');
    expect((await runD2(['init'], { cwd: dir })).exitCode).toBe(0);
    const rows = Object.keys(WORDS).flatMap((team) => Array.from({ length: 30 }, (_, i) => `${team}-${i},"${textOf(team, i).trim()}",${team},x`));
    writeFiles(dir, { 'tickets.csv': `id,body,team,other\n${rows.join('\n')}\n` });
    const added = await runD2(['add', 'tickets.csv', '--text-column', 'body', '--label-column', 'team', '--id-column', 'id', '--json'], { cwd: dir });
    expect(added.exitCode, added.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8')).toMatch(/textColumn: body/);
    const built = await runD2(['build', '--engine', 'wasm', '--json'], { cwd: dir });
    expect(built.exitCode, built.stderr).toBe(0);
    expect(lastJson(built.stdout).data.build.preprocess.text.column).toBe('body');
    writeFiles(dir, { 'new.csv': 'body\nthe striker scored a goal\n' });
    const p = await runD2(['predict', 'new.csv', '--top', '1', '--json'], { cwd: dir });
    expect(p.exitCode, p.stderr).toBe(0);
    expect(jsonLines(p.stdout).find((l) => l.type === 'prediction').top[0].label).toBe('sports');

    // JSON Lines, the same way
    const jdir = tempDir('d2-text-jsonl-');
    expect((await runD2(['init'], { cwd: jdir })).exitCode).toBe(0);
    const lines = Object.keys(WORDS).flatMap((team) => Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: `${team}-${i}`, body: textOf(team, i), team, n: i })));
    writeFiles(jdir, { 'tickets.jsonl': `${lines.join('\n')}\n` });
    const j = await runD2(['add', 'tickets.jsonl', '--text-column', 'body', '--label-column', 'team', '--id-column', 'id', '--json'], { cwd: jdir });
    expect(j.exitCode, j.stderr).toBe(0);
    expect(lastJson(j.stdout).data.sources[0]).toMatchObject({ items: 30, labelled: 30 });
  }, 240_000);

  it('a table of texts that is not UTF-8 is refused at add with its line', async () => {
    const dir = tempDir('d2-text-bad-table-');
    expect((await runD2(['init'], { cwd: dir })).exitCode).toBe(0);
    fs.writeFileSync(path.join(dir, 't.csv'), Buffer.concat([Buffer.from('id,body,team\n1,ok,a\n2,caf'), Buffer.from([0xe9]), Buffer.from(',b\n')]));
    const r = await runD2(['add', 't.csv', '--text-column', 'body', '--label-column', 'team', '--json'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(lastJson(r.stdout).error).toMatchObject({ code: 'ItemInvalid', message: 't.csv:3: not valid UTF-8 (byte 25 of the file)', data: { reason: 'not-utf8', line: 3 } });
  }, 60_000);

  it('bad text files fail the build with every reason, or are skipped and listed', async () => {
    const dir = tempDir('d2-text-bad-');
    expect((await runD2(['init'], { cwd: dir })).exitCode).toBe(0);
    const files: Record<string, string | Uint8Array> = {};
    for (const label of ['cooking', 'sports']) for (let i = 0; i < 12; i++) files[`docs/${label}/${i}.txt`] = textOf(label, i);
    files['docs/cooking/bom.txt'] = '\uFEFFbake the dough'; // a BOM is fine
    files['docs/cooking/nul.txt'] = 'bake\0dough';
    files['docs/cooking/latin1.txt'] = new Uint8Array([0x66, 0x6c, 0x6f, 0x75, 0x72, 0xe9]);
    files['docs/sports/utf16.txt'] = new Uint8Array([0xff, 0xfe, 0x67, 0x00, 0x6f, 0x00]);
    files['docs/sports/empty.txt'] = '  \n';
    files['docs/sports/big.txt'] = 'goal '.repeat(400);
    writeFiles(dir, files);
    expect((await runD2(['add', 'docs', '--labels', 'dirname'], { cwd: dir })).exitCode).toBe(0);
    fs.appendFileSync(path.join(dir, 'd2.yaml'), '\npreprocess:\n  text:\n    maxBytes: 1000\n');
    const r = await runD2(['build', '--engine', 'wasm', '--json'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    const err = lastJson(r.stdout).error;
    expect(err.code).toBe('ItemInvalid');
    const reasons = Object.fromEntries(err.data.items.map((i: any) => [i.path, i.reason]));
    expect(reasons).toEqual({
      'cooking/nul.txt': 'nul-byte', 'cooking/latin1.txt': 'not-utf8', 'sports/utf16.txt': 'not-utf8', 'sports/empty.txt': 'empty-text', 'sports/big.txt': 'too-large',
    });
    fs.appendFileSync(path.join(dir, 'd2.yaml'), 'dataset:\n  onBadItem: skip\n');
    const s = await runD2(['build', '--engine', 'wasm', '--json'], { cwd: dir });
    expect(s.exitCode, s.stderr).toBe(0);
    const skipped = lastJson(s.stdout).data.data.preprocess.skipped;
    expect(skipped.map((i: any) => i.reason).sort()).toEqual(['empty-text', 'not-utf8', 'not-utf8', 'nul-byte', 'too-large']);
    expect((await git(['status', '--porcelain'], dir)).exitCode).toBe(0);
  }, 120_000);
});
