/**
 * End-to-end: `d2 predict` and `d2 export` through the real bin/d2 — predictions streamed as
 * JSON lines equal the stored evaluation bit for bit, the table and CSV views, per-item failures
 * (exit 3), models of revisions, atomic and guarded bundles, and a bundle used from a plain Node
 * script in a folder with no d2 project and no git.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyFixtureImages, git, lastJson, REPO_ROOT, runD2, tempDir, TEST_ENV } from '../testing/index.js';

const ANSI = /\u001b\[/;

function jsonLines(stdout: string): any[] {
  return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

describe('d2 predict and d2 export', { tags: ['slow'] }, () => {
  let dir: string;
  let classes: string[];
  let test: { paths: string[]; probs: Float32Array };
  let model: string;

  beforeAll(async () => {
    // Given a committed project with a model built on wasm
    dir = tempDir('d2-predict-');
    expect((await runD2(['init'], { cwd: dir })).exitCode).toBe(0);
    copyFixtureImages(path.join(dir, 'img'), { perClass: 8, classes: 5 });
    expect((await runD2(['add', 'img', '--labels', 'dirname'], { cwd: dir })).exitCode).toBe(0);
    fs.appendFileSync(path.join(dir, 'd2.yaml'), '\nmodel:\n  preset: fast\n  seed: 4\n');
    const built = await runD2(['build', '--engine', 'wasm', '--workers', '0', '--json'], { cwd: dir });
    expect(built.exitCode, built.stderr).toBe(0);
    expect((await runD2(['commit', '-m', 'model'], { cwd: dir })).exitCode).toBe(0);
    const d2 = await import('d2');
    const { evaluation, build } = await d2.readEvaluation({ dir });
    classes = evaluation.classes;
    test = evaluation.sets.test!.predictions;
    model = build.model;
    expect(test.paths.length).toBeGreaterThan(2);
  }, 120_000);

  it('streams JSON lines bit-identical to the stored evaluation; failed inputs exit 3', async () => {
    fs.writeFileSync(path.join(dir, 'broken.png'), 'not an image');
    const r = await runD2(['predict', ...test.paths, 'broken.png', '--json', '--top', String(classes.length), '--engine', 'wasm'], { cwd: dir });
    expect(r.exitCode).toBe(3);
    const lines = jsonLines(r.stdout);
    const preds = lines.filter((l) => l.type === 'prediction');
    expect(preds.map((p) => p.input)).toEqual([...test.paths, 'broken.png']);
    preds.slice(0, -1).forEach((p, i) => {
      const row = new Float32Array(classes.length).fill(Number.NaN);
      for (const t of p.top) row[classes.indexOf(t.label)] = t.probability;
      expect(Buffer.from(row.buffer).equals(Buffer.from(test.probs.slice(i * classes.length, (i + 1) * classes.length).buffer))).toBe(true);
    });
    expect(preds.at(-1)).toEqual({ type: 'prediction', input: 'broken.png', top: [], error: { code: 'ItemInvalid', message: expect.stringContaining('not an image') } });
    const head = (await git(['rev-parse', 'HEAD'], dir)).stdout.trim();
    expect(lines.at(-1)).toEqual({
      type: 'result', command: 'predict', formatVersion: 1,
      data: { model: { oid: model, commit: head, engine: expect.stringMatching(/^wasm@/), classes }, count: test.paths.length + 1, failed: 1, predictions: [] },
    });
  });

  it('prints a line per input, or CSV; checks its flags', async () => {
    const text = await runD2(['predict', 'img', '--top', '2'], { cwd: dir });
    expect(text.exitCode, text.stderr).toBe(0);
    const rows = text.stdout.split('\n').filter((l) => l.startsWith('img/'));
    expect(rows).toHaveLength(40);
    for (const row of rows) expect(row).toMatch(/^img\/[a-z_]+\/[^ ]+\.png {2,}[a-z_]+ +0\.\d{3} {2}\([a-z_]+ 0\.\d{3}\)$/);
    expect(text.stdout.split('\n')[0]).toMatch(/^input +class +p$/);
    expect(text.stdout).toMatch(/40 inputs predicted, model [0-9a-f]{7} of [0-9a-f]{7} on wasm@/);
    expect(text.stderr).not.toMatch(ANSI);

    const csv = await runD2(['predict', test.paths[0]!, 'broken.png', '--csv', '--top', '2'], { cwd: dir });
    expect(csv.exitCode).toBe(3);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('input,rank,label,probability,error');
    expect(lines[1]).toMatch(new RegExp(`^${test.paths[0]},1,[a-z_]+,0\\.\\d+,$`));
    expect(lines[2]).toMatch(new RegExp(`^${test.paths[0]},2,[a-z_]+,0\\.\\d+,$`));
    expect(lines[3]).toMatch(/^broken\.png,,,,"?not an image/);

    expect((await runD2(['predict', 'img', '--top', '0'], { cwd: dir })).stderr).toContain("--top expects a whole number >= 1, not '0'");
    const both = await runD2(['predict', 'img', '--csv', '--json'], { cwd: dir });
    expect(both.exitCode).toBe(1);
    expect(lastJson(both.stdout)).toMatchObject({ type: 'error', error: { code: 'InvalidArgument', message: 'choose one of --csv and --json' } });
    // a reader that stops early (| head): a quiet stop with 141, as for SIGPIPE, not a crash
    const many = Array.from({ length: 60 }, () => 'img').join(' ');
    const piped = await execa('bash', ['-c', `"${process.execPath}" "${path.join(REPO_ROOT, 'bin', 'd2')}" predict ${many} | head -2; echo "status \${PIPESTATUS[0]}" >&2`], { cwd: dir, env: TEST_ENV, reject: false });
    expect(String(piped.stdout).split('\n')).toHaveLength(2);
    expect(String(piped.stderr)).not.toContain('EPIPE');
    expect(String(piped.stderr)).toMatch(/status 141\n?$/);
    const missing = await runD2(['predict', 'nope.png'], { cwd: dir });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("'nope.png' does not exist");
  });

  it('uses the model of a revision, and says how to build one that has none', async () => {
    const atHead = lastJson((await runD2(['predict', test.paths[0]!, '--rev', 'HEAD', '--json'], { cwd: dir })).stdout);
    expect(atHead.data.model.oid).toBe(model);
    // a commit whose data changed, never built
    fs.copyFileSync(path.join(dir, test.paths[0]!), path.join(dir, 'img', classes[0]!, 'copy.png'));
    expect((await runD2(['add', 'img'], { cwd: dir })).exitCode).toBe(0);
    expect((await runD2(['commit', '-m', 'one more image'], { cwd: dir })).exitCode).toBe(0);
    const unbuilt = await runD2(['predict', test.paths[0]!, '--rev', 'HEAD', '--json'], { cwd: dir });
    expect(unbuilt.exitCode).toBe(1);
    expect(lastJson(unbuilt.stdout)).toMatchObject({ type: 'error', error: { code: 'ModelNotBuilt', data: { rev: 'HEAD' }, hint: "run 'd2 build --rev HEAD'" } });
    const exported = await runD2(['export', '--rev', 'HEAD', '--out', 'b'], { cwd: dir });
    expect(exported.exitCode).toBe(1);
    expect(exported.stderr).toContain("revision 'HEAD' has no model in this store");
    expect(fs.existsSync(path.join(dir, 'b'))).toBe(false);
    // the previous commit still has its model
    expect(lastJson((await runD2(['export', '--rev', 'HEAD~1', '--out', 'b', '--json'], { cwd: dir })).stdout).data.bundle.model).toBe(model);
    fs.rmSync(path.join(dir, 'b'), { recursive: true });
  });

  it('exports a bundle atomically, refuses to overwrite what is not a bundle, and reproduces it byte for byte', async () => {
    const out = tempDir('d2-bundle-');
    const first = await runD2(['export', '--out', path.join(out, 'm'), '--json'], { cwd: dir });
    expect(first.exitCode, first.stderr).toBe(0);
    const result = lastJson(first.stdout);
    expect(result).toMatchObject({
      type: 'result', command: 'export', formatVersion: 1,
      data: {
        out: path.join(out, 'm'),
        bundle: { format: 1, kind: 'd2-bundle', classes, model, preprocess: { modality: 'image', shape: [28, 28, 1], maxPixels: expect.any(Number) }, files: { d2Model: 'd2-model.bin', layersModel: 'model.json', weights: 'weights.bin', preprocess: 'preprocess.js' } },
      },
    });
    const names = fs.readdirSync(path.join(out, 'm')).sort();
    expect(names).toEqual(['README.md', 'd2-bundle.json', 'd2-model.bin', 'model.json', 'package.json', 'preprocess.js', 'weights.bin']);
    expect(result.data.files.map((f: { name: string }) => f.name).sort()).toEqual(names);
    expect(fs.readdirSync(out)).toEqual(['m']); // no temporary folder left
    const readme = fs.readFileSync(path.join(out, 'm', 'README.md'), 'utf8');
    expect(readme).toContain("import { loadBundle } from 'd2';");
    expect(readme).toContain('tf.loadLayersModel(');
    expect(readme).toContain(`Classes (${classes.length}, in output order): ${classes.join(', ')}`);

    // an existing bundle: refused, then replaced with --force; the same model gives the same bytes
    const again = await runD2(['export', '--out', path.join(out, 'm')], { cwd: dir });
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/exists and is not empty\nhint: choose another folder, or add --force/);
    const snapshot = Object.fromEntries(names.map((n) => [n, fs.readFileSync(path.join(out, 'm', n))]));
    expect((await runD2(['export', '--out', path.join(out, 'm'), '--force'], { cwd: dir })).exitCode).toBe(0);
    for (const n of names) expect(fs.readFileSync(path.join(out, 'm', n)).equals(snapshot[n]!), n).toBe(true);
    expect(fs.readdirSync(out)).toEqual(['m']);
    // a folder that is not a bundle is never replaced, even with --force
    fs.mkdirSync(path.join(out, 'mine'));
    fs.writeFileSync(path.join(out, 'mine', 'notes.txt'), 'keep me');
    const guarded = await runD2(['export', '--out', path.join(out, 'mine'), '--force'], { cwd: dir });
    expect(guarded.exitCode).toBe(1);
    expect(guarded.stderr).toContain('is not a d2 bundle');
    expect(fs.readFileSync(path.join(out, 'mine', 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('a bundle works from a plain Node script, with no d2 project and no git around it', async () => {
    const app = tempDir('d2-app-');
    expect((await runD2(['export', '--out', path.join(app, 'model')], { cwd: dir })).exitCode).toBe(0);
    // the app depends on d2 as a package (node_modules/d2), as a user's would
    fs.mkdirSync(path.join(app, 'node_modules'));
    fs.symlinkSync(REPO_ROOT, path.join(app, 'node_modules', 'd2'), 'dir');
    fs.copyFileSync(path.join(dir, test.paths[0]!), path.join(app, 'photo.png'));
    fs.writeFileSync(path.join(app, 'app.mjs'), [
      "import fs from 'node:fs';",
      "import { loadBundle } from 'd2';",
      "const model = await loadBundle('model', { engine: 'wasm' });",
      "const probs = await model.predictImages([fs.readFileSync('photo.png')]);",
      'process.stdout.write(Buffer.from(probs.buffer).toString("hex"));',
      'await model.dispose();',
      "const portable = await import('./model/preprocess.js');",
      'process.stderr.write(Object.keys(portable).sort().join(","));',
    ].join('\n'));
    const r = await execa(process.execPath, ['app.mjs'], { cwd: app, env: TEST_ENV, reject: false });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(r.stdout).toBe(Buffer.from(test.probs.slice(0, classes.length).buffer).toString('hex'));
    expect(r.stderr).toBe('compactPixels,preprocessImageData,preprocessPixels,preprocessRow,preprocessText,preprocessTextBytes,topClasses');
    expect((await git(['rev-parse', '--git-dir'], app)).exitCode).not.toBe(0);
  });
});
