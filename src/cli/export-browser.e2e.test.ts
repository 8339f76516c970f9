/**
 * End-to-end: "runs in a browser without d2", tested for real. A model exported with `d2
 * export` is loaded by a local page in headless Chromium — TensorFlow.js's browser build, the
 * bundle's model.json and preprocess.js, the code of the bundle's README — and predicts one
 * image: the same top label and probabilities (to 1e-5) as `d2 predict`, with no console
 * error and no request beyond the local server. The same for a model with a backbone, whose
 * model.json is backbone and head as one model.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, type BrowserPage } from '../testing/browser.js';
import { copyFixtureImages, REPO_ROOT, runD2, tempDir } from '../testing/index.js';

// The page's globals, inside functions puppeteer runs in the browser (src/ has no DOM types).
declare const window: any;

const TF_BROWSER = path.join(REPO_ROOT, 'node_modules', '@tensorflow', 'tfjs', 'dist', 'tf.min.js');

/** The README's browser code, as a page: the prediction lands in `window.d2Result`. */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>d2 bundle in a browser</title>
<script src="/tf.min.js"></script></head>
<body>
<script type="module">
import { preprocessImageData, topClasses } from '/model/preprocess.js';
try {
  await tf.setBackend('cpu');
  const bundle = await (await fetch('/model/d2-bundle.json')).json();
  const model = await tf.loadLayersModel('/model/model.json');
  // no colour management: the file's own pixel values, as d2 decodes them
  const bitmap = await createImageBitmap(await (await fetch('/photo.png')).blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  const x = preprocessImageData(ctx.getImageData(0, 0, bitmap.width, bitmap.height), bundle.preprocess);
  const probs = Array.from(model.predict(tf.tensor(x, [1, ...bundle.preprocess.shape])).dataSync());
  window.d2Result = { classes: bundle.classes, probs, top: topClasses(probs, bundle.classes, 1)[0] };
} catch (e) {
  console.error(e);
  window.d2Result = { error: String(e && e.stack || e) };
}
</script></body></html>`;

describe.each([
  ['an exported bundle in a browser', false],
  ['an exported backbone + head bundle (model.backbone) in a browser', true],
])('%s', { tags: ['slow'] }, (_name, backbone) => {
  let dir: string;
  let server: http.Server;
  let base: string;
  let browser: BrowserPage;
  let photo: string;

  beforeAll(async () => {
    dir = tempDir('d2-bundle-browser-');
    await runD2(['init'], { cwd: dir });
    copyFixtureImages(path.join(dir, 'img'), { perClass: 20, classes: 3 });
    await runD2(['add', 'img', '--labels', 'dirname'], { cwd: dir });
    fs.appendFileSync(path.join(dir, 'd2.yaml'), '\nmodel:\n  preset: fast\n  seed: 1\n');
    expect((await runD2(['build', '-q'], { cwd: dir })).exitCode).toBe(0);
    if (backbone) {
      // this model becomes the backbone of a head trained on the same project (docs/backbone.md)
      expect((await runD2(['export', '--out', 'models/a', '-q'], { cwd: dir })).exitCode).toBe(0);
      fs.appendFileSync(path.join(dir, 'd2.yaml'), '  backbone:\n    path: models/a\n');
      const built = await runD2(['build', '-q'], { cwd: dir });
      expect(built.exitCode, built.stderr).toBe(0);
    }
    const exported = await runD2(['export', '--out', 'bundle', '-q'], { cwd: dir });
    expect(exported.exitCode, exported.stderr).toBe(0);
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'bundle', 'd2-bundle.json'), 'utf8'));
    expect(info.backbone?.source).toBe(backbone ? 'models/a' : undefined);
    const cls = fs.readdirSync(path.join(dir, 'img')).sort()[1]!;
    photo = path.join(dir, 'img', cls, fs.readdirSync(path.join(dir, 'img', cls)).sort()[3]!);
    const files: Record<string, [string, string]> = {
      '/': [PAGE, 'text/html'],
      '/tf.min.js': [TF_BROWSER, 'text/javascript'],
      '/photo.png': [photo, 'image/png'],
    };
    for (const f of fs.readdirSync(path.join(dir, 'bundle')).filter((n) => fs.statSync(path.join(dir, 'bundle', n)).isFile())) {
      files[`/model/${f}`] = [path.join(dir, 'bundle', f), f.endsWith('.js') ? 'text/javascript' : f.endsWith('.json') ? 'application/json' : 'application/octet-stream'];
    }
    server = http.createServer((req, res) => {
      const hit = files[req.url ?? ''];
      if (!hit) {
        res.writeHead(404).end();
        return;
      }
      const [source, type] = hit;
      res.writeHead(200, { 'content-type': type }).end(source === PAGE ? PAGE : fs.readFileSync(source));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await openBrowser();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it('predicts an image with the top label and probabilities of d2 predict', async () => {
    await browser.page.goto(`${base}/`);
    await browser.page.waitForFunction(() => window.d2Result !== undefined, { timeout: 120_000 });
    const got = await browser.page.evaluate(() => window.d2Result);
    expect(got.error).toBeUndefined();

    const r = await runD2(['predict', photo, '--top', String(got.classes.length), '--json'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const row = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((x) => x.type === 'prediction');
    const expected = new Map<string, number>(row.top.map((t: { label: string; probability: number }) => [t.label, t.probability]));
    expect(got.top.label).toBe(row.top[0].label);
    got.classes.forEach((label: string, k: number) => {
      expect(Math.abs(got.probs[k] - expected.get(label)!), label).toBeLessThanOrEqual(1e-5);
    });
    expect(browser.problems).toEqual([]);
    expect(browser.requests.every((u) => u.startsWith(base))).toBe(true);
    expect(browser.requests.map((u) => u.slice(base.length))).toEqual(expect.arrayContaining(['/', '/tf.min.js', '/model/preprocess.js', '/model/model.json', '/photo.png']));
  });
});
