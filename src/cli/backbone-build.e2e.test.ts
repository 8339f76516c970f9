/**
 * End-to-end: `model.backbone.build` — another d2 build, named by its oid, as the backbone,
 * through the real bin/d2. Project A is built and committed; the same project then declares
 * A's build (d2.lock's `model.record`, or `model.oid`) as its backbone and builds B. Covered:
 * the cut before A's last layer (where `predictFeatures` takes features), A's preprocessing as
 * B's steps, the pin in d2.lock, a second build embedding nothing, `d2 predict` == the bundle,
 * push + a clone's pull carrying the pinned backbone, and the errors (a malformed oid with its
 * line and column, an oid the store does not know with the fix), and a build that itself has
 * a backbone as the next one's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyFixtureImages, git, lastJson, runD2, tempDir } from '../testing/index.js';
import { fails, ok, predictRows, setModelSection } from '../testing/json-run.js';

const ENGINE = ['--engine', 'wasm', '--workers', '0'];

function lockField(dir: string, key: string): string {
  const m = new RegExp(`\\n  ${key}: ([0-9a-f]{64})\\n`).exec(fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8'));
  expect(m, key).not.toBeNull();
  return m![1]!;
}

describe('model.backbone.build: another d2 build as the backbone', { tags: ['slow'] }, () => {
  let root: string;
  let dir: string;
  let a: any;
  let record: string;
  let modelOid: string;
  let b: any;

  beforeAll(async () => {
    // Given project A built from scratch and committed…
    root = tempDir('d2-backbone-build-');
    dir = path.join(root, 'p');
    fs.mkdirSync(dir);
    expect((await runD2(['init'], { cwd: dir })).exitCode).toBe(0);
    copyFixtureImages(path.join(dir, 'img'), { perClass: 8, classes: 4 });
    expect((await runD2(['add', 'img', '--labels', 'dirname'], { cwd: dir })).exitCode).toBe(0);
    setModelSection(dir, '  preset: fast\n  seed: 4\n');
    a = await ok(['build', ...ENGINE], dir);
    expect((await runD2(['commit', '-m', 'a'], { cwd: dir })).exitCode).toBe(0);
    record = lockField(dir, 'record');
    modelOid = lockField(dir, 'oid');
    expect(modelOid).toBe(a.build.model);
    // When its build is declared as the backbone (by the build record's oid) and B is built
    setModelSection(dir, `  seed: 7\n  backbone:\n    build: ${record}\n`);
    b = await ok(['build', ...ENGINE], dir);
    expect((await runD2(['commit', '-m', 'b'], { cwd: dir })).exitCode).toBe(0);
  }, 240_000);

  it("cuts A's model before its last layer, takes A's steps, and pins the converted model in d2.lock", async () => {
    const bb = b.build.backbone;
    // the fast CNN ends flatten – dense – dense: its features (predictFeatures) are the first
    // dense's output, 64 numbers (not the flatten's 800 that a bundle's default cut takes)
    const lastLayers = a.build.architecture.layers.slice(-3).map((l: any) => l.kind);
    expect(lastLayers).toEqual(['flatten', 'dense', 'dense']);
    const units = a.build.architecture.layers.at(-2).units;
    expect(units).toBe(64);
    expect(bb).toEqual({ source: `build:${record}`, oid: expect.stringMatching(/^[0-9a-f]{64}$/), layer: expect.stringMatching(/^dense/), dims: units });
    expect(b.build.architecture.family).toBe('mlp');
    expect(b.build.architecture.inputShape).toEqual([units]);
    expect(b.build.preprocess.steps).toEqual(a.build.preprocess.steps);
    expect(b.build.preprocess.shape).toEqual(a.build.preprocess.shape);
    expect(b.embeddings).toEqual({ embedded: 32, cached: 0, dims: units });
    const lock = fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8');
    expect(lock).toContain(`backbone:\n  source: build:${record}\n  oid: ${bb.oid}\n  layer: ${bb.layer}\n  dims: ${units}\n`);
  });

  it('the same build named by its model oid is the same backbone; a second build embeds nothing', async () => {
    setModelSection(dir, `  seed: 7\n  backbone:\n    build: ${modelOid}\n`);
    const byModel = await ok(['build', ...ENGINE, '--force'], dir);
    expect(byModel.build.backbone).toEqual({ ...b.build.backbone, source: `build:${modelOid}` });
    expect(byModel.embeddings).toEqual({ embedded: 0, cached: 32, dims: b.build.backbone.dims });
    expect(byModel.build.model).toBe(b.build.model);
    await git(['checkout', '--', 'd2.yaml', 'd2.lock'], dir);
    const again = await ok(['build', ...ENGINE, '--force'], dir);
    expect(again.embeddings).toEqual({ embedded: 0, cached: 32, dims: b.build.backbone.dims });
    expect(again.build.model).toBe(b.build.model);
    // the text output names the build by a short oid and fits 100 columns
    const text = await runD2(['build', ...ENGINE], { cwd: dir });
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toContain(`backbone build:${record.slice(0, 7)} (`);
    for (const line of text.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  it("a build that has a backbone itself is joined with it: B's build as the next backbone", async () => {
    const bRecord = lockField(dir, 'record');
    setModelSection(dir, `  seed: 7\n  backbone:\n    build: ${bRecord}\n`);
    const c = await ok(['build', ...ENGINE], dir);
    // cut at the input of B's last layer: the output of its head's last hidden dense layer
    const hidden = b.build.architecture.layers.filter((l: any) => l.kind === 'dense').at(-2).units;
    expect(c.build.backbone).toMatchObject({ source: `build:${bRecord}`, dims: hidden });
    expect(c.build.preprocess.steps).toEqual(a.build.preprocess.steps);
    expect(c.embeddings).toEqual({ embedded: 32, cached: 0, dims: hidden });
    await git(['checkout', '--', 'd2.yaml', 'd2.lock'], dir);
  });

  it('predict equals the stored evaluation and the exported bundle', async () => {
    const d2 = await import('d2');
    const { evaluation } = await d2.readEvaluation({ dir, rev: 'HEAD' });
    const classes = evaluation.classes;
    const test = evaluation.sets.test!.predictions;
    const rows = await predictRows(dir, test.paths, classes);
    expect(Buffer.from(rows.buffer).equals(Buffer.from(test.probs.buffer))).toBe(true);
    const out = path.join(root, 'bundle');
    const exported = await ok(['export', '--out', out, '--rev', 'HEAD'], dir);
    expect(exported.bundle.backbone).toEqual({ ...b.build.backbone, files: ['backbone/model.json', 'backbone/weights.bin'] });
    const bundle = await d2.loadBundle(out, { engine: 'wasm' });
    const images = test.paths.map((p) => fs.readFileSync(path.join(dir, p)));
    const fromBundle = await bundle.predictImages(images);
    await bundle.dispose();
    expect(Buffer.from(fromBundle.buffer).equals(Buffer.from(test.probs.buffer))).toBe(true);
  });

  it('push carries the pinned backbone: a clone builds the same model without A\'s build', async () => {
    const remote = path.join(root, 'remote');
    fs.mkdirSync(remote);
    await ok(['remote', 'add', 'origin', remote], dir);
    expect((await runD2(['commit', '-m', 'remote'], { cwd: dir })).exitCode).toBe(0);
    await ok(['push'], dir);
    const clone = path.join(root, 'clone');
    expect((await git(['clone', '-q', dir, clone], root)).exitCode).toBe(0);
    await ok(['pull'], clone);
    const built = await ok(['build', ...ENGINE], clone);
    expect(built.build.backbone).toEqual(b.build.backbone);
    expect(built.build.model).toBe(b.build.model);
    expect((await runD2(['fsck'], { cwd: clone })).exitCode).toBe(0);
    // gc keeps the pinned backbone while a revision pins it
    expect((await runD2(['gc', '--prune'], { cwd: dir })).exitCode).toBe(0);
    expect((await ok(['build', ...ENGINE, '--force'], dir)).build.model).toBe(b.build.model);
  });

  it('the build a backbone was made from is reachable through it: gc --prune keeps it, fsck counts it', async () => {
    // Given a build never committed (another seed), used as the backbone of a committed build
    setModelSection(dir, '  preset: fast\n  seed: 5\n');
    const other = await ok(['build', ...ENGINE], dir);
    const otherRecord = lockField(dir, 'record');
    setModelSection(dir, `  seed: 7\n  backbone:\n    build: ${otherRecord}\n`);
    await ok(['build', ...ENGINE], dir);
    expect((await runD2(['commit', '-m', 'backbone from an uncommitted build'], { cwd: dir })).exitCode).toBe(0);
    // When gc prunes, that build's record, model and evaluation stay
    expect((await runD2(['gc', '--prune'], { cwd: dir })).exitCode).toBe(0);
    const has = (oid: string) => fs.existsSync(path.join(dir, '.d2', 'objects', oid.slice(0, 2), oid.slice(2)));
    expect([otherRecord, other.build.model, other.build.evaluation].map(has)).toEqual([true, true, true]);
    expect((await runD2(['fsck'], { cwd: dir })).exitCode).toBe(0);
  });

  it('says what is wrong: a malformed oid (with its line and column), an oid the store does not know', async () => {
    setModelSection(dir, '  seed: 7\n  backbone:\n    build: 1a2b3c\n');
    const malformed = await fails(['build', ...ENGINE], dir);
    expect(malformed.code).toBe('ManifestInvalid');
    expect(malformed.message).toMatch(/d2\.yaml:\d+:12: .*expected a build's oid: 64 lower-case hex digits/);
    const unknown = 'ab'.repeat(32);
    setModelSection(dir, `  seed: 7\n  backbone:\n    build: ${unknown}\n`);
    const e = await fails(['build', ...ENGINE], dir);
    expect(e.code).toBe('BackboneInvalid');
    expect(e.message).toMatch(/^d2\.yaml:\d+:12: 'model\.backbone\.build' names abababababab, which is no build in the store/);
    expect(e.hint).toContain('d2 pull --with-models');
    setModelSection(dir, `  seed: 7\n  backbone:\n    build: ${record}\n    path: models/a\n`);
    const both = await fails(['build', ...ENGINE], dir);
    expect(both.code).toBe('ManifestInvalid');
    expect(both.message).toContain("a backbone has exactly one of 'path', 'url' and 'build'");
    await git(['checkout', '--', 'd2.yaml', 'd2.lock'], dir);
  });
});
