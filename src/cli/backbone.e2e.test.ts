/**
 * End-to-end: transfer learning (`model.backbone`) through the real bin/d2. The backbone is
 * made here: a d2 project's model exported with `d2 export`, declared as the next project's
 * backbone. Covered: the default cut written to d2.lock, embeddings cached per item (a
 * relabel embeds nothing, new items only themselves), a bit-identical head per seed whether
 * embeddings are cached or fresh, `d2 predict` == the stored evaluation == the exported
 * bundle (d2's loader bit for bit; the one-file layers model to float rounding), pinning (a
 * changed file is an error until `--update-backbone`), push + a clone's pull carrying the
 * backbone, `d2 diff` from a from-scratch commit to a backbone commit, and every error.
 */
import fs from 'node:fs';
import path from 'node:path';
import https from 'node:https';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyFixtureImages, git, lastJson, runD2, tempDir } from '../testing/index.js';
import { fails, ok, predictRows, setModelSection } from '../testing/json-run.js';

const ENGINE = ['--engine', 'wasm', '--workers', '0'];

describe('model.backbone: transfer learning', { tags: ['slow'] }, () => {
  let root: string;
  let dir: string;
  let first: any;

  beforeAll(async () => {
    // Given a small d2 model exported as a bundle…
    root = tempDir('d2-backbone-');
    const a = path.join(root, 'a');
    fs.mkdirSync(a);
    expect((await runD2(['init'], { cwd: a })).exitCode).toBe(0);
    copyFixtureImages(path.join(a, 'img'), { perClass: 8, classes: 4 });
    expect((await runD2(['add', 'img', '--labels', 'dirname'], { cwd: a })).exitCode).toBe(0);
    setModelSection(a, '  preset: fast\n  seed: 4\n');
    await ok(['build', ...ENGINE], a);
    // …and a second project on the same classes, first committed with a model from scratch
    dir = path.join(root, 'b');
    fs.mkdirSync(dir);
    expect((await runD2(['init'], { cwd: dir })).exitCode).toBe(0);
    await ok(['export', '--out', path.join(dir, 'models', 'a')], a);
    copyFixtureImages(path.join(dir, 'img'), { perClass: 8, classes: 4 });
    expect((await runD2(['add', 'img', '--labels', 'dirname'], { cwd: dir })).exitCode).toBe(0);
    setModelSection(dir, '  preset: fast\n  seed: 7\n');
    await ok(['build', ...ENGINE], dir);
    expect((await runD2(['commit', '-m', 'from scratch'], { cwd: dir })).exitCode).toBe(0);
    // When the bundle is declared as its backbone and the project is built
    setModelSection(dir, '  seed: 7\n  backbone:\n    path: models/a\n');
    first = await ok(['build', ...ENGINE], dir);
    expect((await runD2(['commit', '-m', 'backbone'], { cwd: dir })).exitCode).toBe(0);
  }, 240_000);

  it('cuts before the classifier, embeds every item once, and pins the backbone in d2.lock', async () => {
    const b = first.build;
    expect(b.backbone).toEqual({ source: 'models/a', oid: expect.stringMatching(/^[0-9a-f]{64}$/), layer: 'flatten_1', dims: 800 });
    expect(b.architecture.family).toBe('mlp');
    expect(b.architecture.inputShape).toEqual([800]);
    // the bundle's own preprocessing became the declared pixel steps
    expect(b.preprocess.shape).toEqual([28, 28, 1]);
    expect(first.embeddings).toEqual({ embedded: 32, cached: 0, dims: 800 });
    expect(first.data.preprocess.backbone).toEqual({ source: 'models/a', oid: b.backbone.oid, layer: 'flatten_1' });
    const bundle = JSON.parse(fs.readFileSync(path.join(dir, 'models', 'a', 'd2-bundle.json'), 'utf8'));
    expect(first.data.preprocess.steps).toEqual(bundle.preprocess.steps);
    const lock = fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8');
    expect(lock).toContain(`backbone:\n  source: models/a\n  oid: ${b.backbone.oid}\n  layer: flatten_1\n  dims: 800\n`);
  });

  it('a relabel embeds nothing; new items embed only themselves; the head is bit-identical per seed, cached or fresh', async () => {
    const file = fs.readdirSync(path.join(dir, 'img', 'bag')).sort()[0]!;
    expect((await runD2(['label', `img/bag/${file}`, '--as', 'coat'], { cwd: dir })).exitCode).toBe(0);
    const relabelled = await ok(['build', ...ENGINE], dir);
    expect(relabelled.reused).toBe(false);
    expect(relabelled.embeddings).toEqual({ embedded: 0, cached: 32, dims: 800 });
    // the same inputs trained again on fresh embeddings give the same head, bit for bit
    for (const f of fs.readdirSync(path.join(dir, '.d2', 'state')).filter((n) => n.startsWith('embeddings-'))) fs.rmSync(path.join(dir, '.d2', 'state', f));
    const fresh = await ok(['build', ...ENGINE, '--force'], dir);
    expect(fresh.embeddings).toEqual({ embedded: 32, cached: 0, dims: 800 });
    expect(fresh.build.model).toBe(relabelled.build.model);
    // another seed is another head
    setModelSection(dir, '  seed: 8\n  backbone:\n    path: models/a\n');
    const other = await ok(['build', ...ENGINE], dir);
    expect(other.build.model).not.toBe(relabelled.build.model);
    expect(other.embeddings.embedded).toBe(0);
    // new items: only they are embedded
    copyFixtureImages(path.join(dir, 'more'), { perClass: 10, classes: 4 });
    for (const cls of fs.readdirSync(path.join(dir, 'more'))) {
      for (const f of fs.readdirSync(path.join(dir, 'more', cls)).sort().slice(0, 8)) fs.rmSync(path.join(dir, 'more', cls, f));
    }
    expect((await runD2(['add', 'more', '--labels', 'dirname'], { cwd: dir })).exitCode).toBe(0);
    const grown = await ok(['build', ...ENGINE], dir);
    expect(grown.embeddings).toEqual({ embedded: 8, cached: 32, dims: 800 });
    // back to the committed state
    await git(['checkout', '--', '.'], dir);
    await git(['clean', '-fdq', '--', 'd2.sources', 'more'], dir);
  });

  it('predict equals the stored evaluation; the bundle equals predict; its one-file layers model agrees', async () => {
    const d2 = await import('d2');
    const { evaluation } = await d2.readEvaluation({ dir, rev: 'HEAD' });
    const classes = evaluation.classes;
    const test = evaluation.sets.test!.predictions;
    const rows = await predictRows(dir, test.paths, classes);
    expect(Buffer.from(rows.buffer).equals(Buffer.from(test.probs.buffer))).toBe(true);
    // the bundle: backbone + head, loaded without the project
    const out = path.join(root, 'bundle');
    const exported = await ok(['export', '--out', out, '--rev', 'HEAD'], dir);
    expect(exported.bundle.backbone).toEqual({ source: 'models/a', oid: first.build.backbone.oid, layer: 'flatten_1', dims: 800, files: ['backbone/model.json', 'backbone/weights.bin'] });
    const bundle = await d2.loadBundle(out, { engine: 'wasm' });
    const images = test.paths.map((p) => fs.readFileSync(path.join(dir, p)));
    const fromBundle = await bundle.predictImages(images);
    await bundle.dispose();
    expect(Buffer.from(fromBundle.buffer).equals(Buffer.from(test.probs.buffer))).toBe(true);
    // model.json alone (TensorFlow.js, no d2): image in, probabilities out
    const tf = await import('@tensorflow/tfjs');
    const json = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
    const layers = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: new Uint8Array(fs.readFileSync(path.join(out, 'weights.bin'))).buffer }));
    expect(layers.inputs[0]!.shape).toEqual([null, 28, 28, 1]);
    const predictor = await d2.loadModel({ dir, rev: 'HEAD', engine: 'wasm' });
    // the built module: its image pool starts workers from dist/
    const { featuresFor } = (await import('../../dist/project/inference.js' as string)) as typeof import('../project/inference.js');
    const x = await featuresFor(predictor.preprocess, images.map((bytes, i) => ({ key: String(i), bytes })));
    await predictor.dispose();
    const probs = (layers.predict(tf.tensor(x.x, [images.length, 28, 28, 1])) as any).dataSync() as Float32Array;
    for (let i = 0; i < probs.length; i++) expect(Math.abs(probs[i]! - test.probs[i]!)).toBeLessThan(1e-5);
  });

  it('d2 diff compares the from-scratch commit with the backbone commit', async () => {
    const diff = await ok(['diff', 'HEAD~1', 'HEAD'], dir);
    expect(diff.a.model.oid).not.toBe(diff.b.model.oid);
    expect(diff.b.model.oid).toBe(first.build.model);
    expect(diff.behaviour.count).toBeGreaterThan(0);
  });

  it('a changed backbone file is an error until --update-backbone; push carries the pinned files to a clone', async () => {
    const weights = path.join(dir, 'models', 'a', 'weights.bin');
    const saved = fs.readFileSync(weights);
    const changed = Buffer.from(saved);
    changed[100] = changed[100]! ^ 1;
    fs.writeFileSync(weights, changed);
    const e = await fails(['build', ...ENGINE], dir);
    expect(e.code).toBe('BackboneChanged');
    expect(e.message).toBe("backbone 'models/a' changed since d2.lock pinned it: weights.bin differs");
    expect(e.hint).toContain('d2 build --update-backbone');
    const updated = await ok(['build', ...ENGINE, '--update-backbone'], dir);
    expect(updated.build.backbone.oid).not.toBe(first.build.backbone.oid);
    fs.writeFileSync(weights, saved);
    await git(['checkout', '--', 'd2.lock'], dir);
    expect((await ok(['build', ...ENGINE], dir)).build.model).toBe(first.build.model);

    // the backbone is pinned, so it travels with the data: a clone without models/ builds the same model
    const remote = path.join(root, 'remote');
    fs.mkdirSync(remote);
    await ok(['remote', 'add', 'origin', remote], dir);
    expect((await runD2(['commit', '-m', 'remote'], { cwd: dir })).exitCode).toBe(0);
    await ok(['push'], dir);
    expect(fs.existsSync(path.join(remote, 'objects', first.build.backbone.oid.slice(0, 2), first.build.backbone.oid.slice(2)))).toBe(true);
    const clone = path.join(root, 'clone');
    expect((await git(['clone', '-q', dir, clone], root)).exitCode).toBe(0);
    expect(fs.existsSync(path.join(clone, 'models'))).toBe(false);
    await ok(['pull'], clone);
    const built = await ok(['build', ...ENGINE], clone);
    expect(built.build.model).toBe(first.build.model);
    expect((await runD2(['fsck'], { cwd: clone })).exitCode).toBe(0);
  });

  it('says what is wrong: no such layer, missing backbone, steps of another size, an empty graph model, an unreachable URL', async () => {
    const cases: [string, string, RegExp][] = [
      ['  backbone:\n    path: models/a\n    layer: nope\n', 'BackboneInvalid', /^backbone 'models\/a' has no layer 'nope' \(its last layers: .*flatten_1.*\)$/],
      ['  backbone:\n    path: models/none\n', 'BackboneInvalid', /^backbone 'models\/none' does not exist$/],
      ['  backbone:\n    path: models/graph\n', 'BackboneInvalid', /^backbone 'models\/graph' is a graph model without nodes in model\.json's modelTopology$/],
      ['  backbone:\n    path: models/broken\n', 'BackboneInvalid', /^backbone 'models\/broken' names weight file 'weights\.bin', which cannot be read/],
      ['  backbone:\n    url: https://127.0.0.1:9/model.json\n', 'BackboneUnreachable', /^backbone 'https:\/\/127\.0\.0\.1:9\/model\.json' is unreachable \(.+\); vendor it into the project: /],
    ];
    fs.mkdirSync(path.join(dir, 'models', 'graph'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'models', 'graph', 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
    fs.mkdirSync(path.join(dir, 'models', 'broken'), { recursive: true });
    fs.copyFileSync(path.join(dir, 'models', 'a', 'model.json'), path.join(dir, 'models', 'broken', 'model.json'));
    for (const [section, code, message] of cases) {
      setModelSection(dir, section);
      const e = await fails(['build', ...ENGINE], dir);
      expect(e.code, section).toBe(code);
      expect(e.message, section).toMatch(message);
    }
    // d2.yaml's own steps must give the backbone's input
    setModelSection(dir, '  backbone:\n    path: models/a\n');
    fs.appendFileSync(path.join(dir, 'd2.yaml'), 'preprocess:\n  image:\n    - resize: { width: 32, height: 32 }\n');
    const e = await fails(['build', ...ENGINE], dir);
    expect(e.code).toBe('BackboneInvalid');
    expect(e.message).toBe("the image steps of 'preprocess.image' do not fit backbone 'models/a': they resize to 32×32, the backbone reads 28×28");
    // a path outside the project needs 'external'
    await git(['checkout', '--', 'd2.yaml'], dir);
    setModelSection(dir, '  backbone:\n    path: ../a\n');
    const outside = await fails(['build', ...ENGINE], dir);
    expect(outside.code).toBe('ManifestInvalid');
    expect(outside.message).toContain("add 'external: true' to 'model.backbone'");
    // …and with it, a folder outside the project is the same backbone as the same files inside
    fs.cpSync(path.join(dir, 'models', 'a'), path.join(root, 'outside-a'), { recursive: true });
    setModelSection(dir, '  seed: 7\n  backbone:\n    path: ../outside-a\n    external: true\n');
    const external = await ok(['build', ...ENGINE], dir);
    expect(external.build.backbone).toEqual({ ...first.build.backbone, source: '../outside-a' });
    expect(external.build.model).toBe(first.build.model);
    await git(['checkout', '--', 'd2.yaml', 'd2.lock'], dir);
  });

  it('an https:// backbone is fetched once and pinned: the next build reads the store, not the network', async () => {
    // Given the bundle served over HTTPS on loopback (a self-signed certificate d2 is told to trust)
    const certDir = path.join(root, 'cert');
    fs.mkdirSync(certDir);
    await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', path.join(certDir, 'key.pem'), '-out', path.join(certDir, 'cert.pem')]);
    const served: string[] = [];
    const server = https.createServer({ key: fs.readFileSync(path.join(certDir, 'key.pem')), cert: fs.readFileSync(path.join(certDir, 'cert.pem')) }, (req, res) => {
      served.push(req.url!);
      const file = path.join(dir, 'models', 'a', path.basename(req.url!));
      if (!fs.existsSync(file)) { res.writeHead(404).end(); return; }
      res.writeHead(200).end(fs.readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}/a/model.json`;
    const env = { NODE_EXTRA_CA_CERTS: path.join(certDir, 'cert.pem') };
    const build = async (seed: number) => {
      setModelSection(dir, `  seed: ${seed}\n  backbone:\n    url: ${url}\n`);
      const r = await runD2(['build', ...ENGINE, '--json'], { cwd: dir, env });
      expect(r.exitCode, r.stdout.slice(-2000)).toBe(0);
      return lastJson(r.stdout).data;
    };
    try {
      // When it is built, the files are fetched and pinned: the same record as the folder's
      const fetched = await build(7);
      expect(served).toEqual(['/a/model.json', '/a/weights.bin', '/a/d2-bundle.json']);
      expect(fetched.build.backbone).toEqual({ ...first.build.backbone, source: url });
      expect(fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8')).toContain(`  source: ${url}\n  oid: ${first.build.backbone.oid}\n`);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    // Then with the server gone, another build (another seed) reads the pinned copy
    const again = await build(9);
    expect(again.build.backbone.oid).toBe(first.build.backbone.oid);
    expect(again.embeddings.embedded).toBe(0);
    expect(served).toHaveLength(3);
    await git(['checkout', '--', 'd2.yaml', 'd2.lock'], dir);
  });
});
