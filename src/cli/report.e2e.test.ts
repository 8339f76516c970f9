/**
 * End-to-end: `d2 report` through the real bin/d2, and its page in a real browser (headless
 * Chromium). One project, built twice: commit A, and commit B (items relabelled, another
 * seed). The report's figures are checked against `d2 diff` and d2.lock; the page is opened
 * from disk and must log no error and request nothing but itself and `data:` pictures; its
 * DOM must show the figures, every confusion-matrix cell, one map point per evaluated item;
 * clicking a cell and dragging a box on a map must list the right items. Label suspects: before
 * any `d2 review` the page says which command computes them (the report trains nothing); after
 * `d2 review HEAD`, the page of HEAD (and of the diff, whose new side is HEAD) lists the stored
 * review's suspects with their pictures, most likely wrong first, and the noise per class pair;
 * a suspect kept with `d2 label --keep` leaves the list. Screenshots are saved under the test's
 * temporary folder (their paths are printed).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLock } from '../manifest/index.js';
import { openBrowser, type BrowserPage } from '../testing/browser.js';
import { checkDocumented, readDocTypes } from '../testing/doc-schema.js';
import { copyFixtureImages, git, lastJson, REPO_ROOT, runD2, tempDir } from '../testing/index.js';

// The page's globals, inside functions puppeteer runs in the browser (src/ has no DOM types).
declare const document: any;
declare const window: any;

const docTypes = (() => {
  const md = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'json-output.md'), 'utf8');
  const at = md.indexOf('## `report`');
  return readDocTypes(md.slice(at, md.indexOf('\n## ', at + 1)));
})();

function setModel(dir: string, yaml: string): void {
  const file = path.join(dir, 'd2.yaml');
  fs.writeFileSync(file, `${fs.readFileSync(file, 'utf8').replace(/\nmodel:[\s\S]*$/, '')}\n${yaml}\n`);
}

describe('d2 report', { tags: ['slow'] }, () => {
  let dir: string;
  let browser: BrowserPage;
  const shots: string[] = [];

  beforeAll(async () => {
    dir = tempDir('d2-report-');
    await runD2(['init'], { cwd: dir });
    copyFixtureImages(path.join(dir, 'img'), { perClass: 30, classes: 4 });
    await runD2(['add', 'img', '--labels', 'dirname'], { cwd: dir });
    const tests = fs.readdirSync(path.join(dir, 'img')).sort().map((cls) => `img/${cls}/${fs.readdirSync(path.join(dir, 'img', cls)).sort()[0]},${cls}`);
    fs.writeFileSync(path.join(dir, 'tests.csv'), `path,label\n${tests.join('\n')}\n`);
    const yaml = path.join(dir, 'd2.yaml');
    fs.writeFileSync(yaml, fs.readFileSync(yaml, 'utf8').replace('version: 1', 'version: 1\ndataset:\n  modelTests: tests.csv'));
    setModel(dir, 'model:\n  preset: fast\n  seed: 0');
    expect((await runD2(['commit', '-m', 'data, not built'], { cwd: dir })).exitCode).toBe(0);
    setModel(dir, 'model:\n  preset: fast\n  seed: 1');
    expect((await runD2(['build', '-q'], { cwd: dir })).exitCode).toBe(0);
    expect((await runD2(['commit', '-m', 'A'], { cwd: dir })).exitCode).toBe(0);
    const labelsFile = path.join(dir, 'd2.sources', 'img.labels.csv');
    const lines = fs.readFileSync(labelsFile, 'utf8').trimEnd().split('\n');
    const classes = [...new Set(lines.slice(1).map((l) => l.split(',')[1]!))].sort();
    for (let i = 2, n = 0; i < lines.length && n < 12; i += 9, n++) {
      const [p, label] = lines[i]!.split(',') as [string, string];
      lines[i] = `${p},${classes[(classes.indexOf(label) + 1) % classes.length]}`;
    }
    fs.writeFileSync(labelsFile, `${lines.join('\n')}\n`);
    setModel(dir, 'model:\n  preset: fast\n  seed: 2');
    expect((await runD2(['build', '-q'], { cwd: dir })).exitCode).toBe(0);
    expect((await runD2(['commit', '-m', 'B'], { cwd: dir })).exitCode).toBe(0);
    browser = await openBrowser();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    // eslint-disable-next-line no-console
    if (shots.length) console.log(`report screenshots:\n${shots.join('\n')}`);
  });

  /** Open a page from disk, wait until every chart is drawn. */
  async function open(file: string): Promise<void> {
    browser.problems.length = 0;
    browser.requests.length = 0;
    await browser.page.goto(`file://${file}`);
    await browser.page.waitForFunction(() => document.body.dataset.ready === '1', { timeout: 60_000 });
  }

  function expectOffline(file: string): void {
    expect(browser.problems).toEqual([]);
    expect(browser.requests.filter((u) => !u.startsWith('data:'))).toEqual([`file://${file}`]);
  }

  it('reports a diff with the figures of d2 diff, documented, with the Markdown on request', async () => {
    const r = await runD2(['report', 'HEAD~1..HEAD', '--out', 'out/diff.html', '--json', '--md'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const res = lastJson(r.stdout);
    expect(res).toMatchObject({ type: 'result', command: 'report', formatVersion: 1 });
    const d = res.data;
    expect(checkDocumented(d, 'ReportResult', docTypes)).toEqual([]);
    expect(d.out).toBe(path.join(dir, 'out', 'diff.html'));
    expect(fs.statSync(d.out).size).toBe(d.bytes);

    const diff = lastJson((await runD2(['diff', 'HEAD~1', 'HEAD', '--json', '--limit', '0'], { cwd: dir })).stdout).data;
    expect(d.kind).toBe('diff');
    expect(d.diff.accuracy).toEqual(diff.behaviour.accuracy);
    expect(d.diff.macroF1).toEqual(diff.behaviour.macroF1);
    expect(d.diff.fixed).toBe(diff.behaviour.significance.fixed);
    expect(d.diff.broken).toBe(diff.behaviour.significance.broken);
    expect(d.diff.brokenModelTests).toBe(diff.behaviour.modelTests.broken.length);
    expect(d.diff.pValue).toBe(diff.behaviour.significance.pValue);
    expect(d.evaluatedOn).toEqual({ ...diff.evaluatedOn });
    expect(d.models.map((m: any) => m.oid)).toEqual([diff.a.model.oid, diff.b.model.oid]);
    // a map per model over every evaluation item, a picture per item
    const n = diff.evaluatedOn.items + diff.evaluatedOn.modelTests;
    expect(d.maps).toEqual([expect.objectContaining({ model: 'A', method: 'pca', points: n, cached: false }), expect.objectContaining({ model: 'B', method: 'pca', points: n })]);
    expect(d.thumbnails.items).toBe(n);

    // no review computed yet: said, with the command, and nothing trained for it
    expect(d.suspects).toEqual({ rev: 'HEAD', review: null, command: 'd2 review HEAD', total: 0, listed: 0, kept: 0 });
    expect(fs.readdirSync(path.join(dir, '.d2', 'state')).filter((f) => f.startsWith('crossval-') || f.startsWith('review-'))).toEqual([]);
    expect(d.markdown).toContain('Label suspects: no `d2 review` computed for `HEAD`; run `d2 review HEAD`');

    expect(d.markdown.startsWith('<!-- d2-report -->\n')).toBe(true);
    expect(d.markdown).toContain('out/diff.html');
    expect(d.markdown).toContain(`${(diff.behaviour.accuracy.after * 100).toFixed(2)}%`);
  });

  it('opens offline in a browser, with no error, and shows the figures, every cell and every point', async () => {
    const file = path.join(dir, 'out', 'diff.html');
    await open(file);
    expectOffline(file);
    const diff = lastJson((await runD2(['diff', 'HEAD~1', 'HEAD', '--json', '--limit', '0'], { cwd: dir })).stdout).data;
    const n = diff.evaluatedOn.items + diff.evaluatedOn.modelTests;
    const page = await browser.page.evaluate(() => {
      const r = (window as any).d2Report;
      return {
        accuracy: document.querySelector('[data-metric="accuracy"] .value')?.textContent,
        delta: document.querySelector('[data-metric="accuracy"] .delta')?.textContent,
        classes: r.data.classes.length,
        cellsA: document.querySelectorAll('#confusion-0 .mark-rect path').length,
        cellsB: document.querySelectorAll('#confusion-1 .mark-rect path').length,
        pointsA: r.countSymbols(r.views.mapA),
        pointsB: r.countSymbols(r.views.mapB),
        brokenCards: document.querySelectorAll('#flips-broken figure.item').length,
        fixedCards: document.querySelectorAll('#flips-fixed figure.item').length,
        images: [...document.querySelectorAll('#flips-broken img, #flips-fixed img')].every((i) => (i as any).complete && (i as any).naturalWidth > 0),
        noReview: document.querySelector('#suspects [data-review="none"]')?.textContent,
        suspectCards: document.querySelectorAll('#suspects figure.item').length,
      };
    });
    expect(page.noReview).toBe('No review computed for HEAD: run d2 review HEAD to list the labels most likely wrong (the report never trains).');
    expect(page.suspectCards).toBe(0);
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    expect(page.accuracy).toBe(`${pct(diff.behaviour.accuracy.before)} → ${pct(diff.behaviour.accuracy.after)}`);
    expect(page.delta).toMatch(/pts$/);
    expect(page.classes).toBe(4);
    expect(page.cellsA).toBe(16);
    expect(page.cellsB).toBe(16);
    expect(page.pointsA).toBe(n);
    expect(page.pointsB).toBe(n);
    expect(page.brokenCards).toBe(Math.min(60, diff.behaviour.significance.broken));
    expect(page.fixedCards).toBe(Math.min(60, diff.behaviour.significance.fixed));
    expect(page.images).toBe(true);
    const shot = path.join(dir, 'out', 'diff.png');
    await browser.page.screenshot({ path: shot, fullPage: true });
    shots.push(shot);
  });

  it('lists the items of a confusion-matrix cell on click, and of a box dragged on a map', async () => {
    const file = path.join(dir, 'out', 'diff.html');
    await open(file);
    // the biggest off-diagonal cell of model B (or the first diagonal one when B makes no mistake)
    const target = await browser.page.evaluate(() => {
      const r = (window as any).d2Report;
      const m = r.data.models[1];
      let best = { t: 0, p: 0, n: -1 };
      m.confusion.forEach((row: number[], t: number) => row.forEach((n: number, p: number) => { if (t !== p && n > best.n) best = { t, p, n }; }));
      if (best.n <= 0) best = { t: 0, p: 0, n: m.confusion[0][0] };
      const view = r.views.confusionB;
      view.container().scrollIntoView({ block: 'center' });
      // the cell's centre in the viewport, from the view's scales
      const x = view.scale('x')(r.data.classes[best.p]) + view.scale('x').bandwidth() / 2;
      const y = view.scale('y')(r.data.classes[best.t]) + view.scale('y').bandwidth() / 2;
      const box = view.container().querySelector('svg').getBoundingClientRect();
      const origin = view.origin();
      return { ...best, x: box.left + origin[0] + x, y: box.top + origin[1] + y };
    });
    await browser.page.mouse.click(target.x, target.y);
    await browser.page.waitForSelector('#cell-items h3');
    const listed = await browser.page.evaluate(() => ({
      title: document.querySelector('#cell-items h3')!.textContent,
      cards: document.querySelectorAll('#cell-items figure.item').length,
    }));
    expect(listed.cards).toBe(Math.min(60, target.n));
    expect(listed.title).toContain(`${target.n} item`);

    // drag a box over the middle of model A's map: the items inside it are listed
    const area = await browser.page.evaluate(() => {
      const view = (window as any).d2Report.views.mapA;
      view.container().scrollIntoView({ block: 'center' });
      const box = view.container().querySelector('canvas').getBoundingClientRect();
      const [ox, oy] = view.origin();
      return { x0: box.left + ox + view.width() * 0.1, y0: box.top + oy + view.height() * 0.1, x1: box.left + ox + view.width() * 0.9, y1: box.top + oy + view.height() * 0.9 };
    });
    await browser.page.mouse.move(area.x0, area.y0);
    await browser.page.mouse.down();
    await browser.page.mouse.move((area.x0 + area.x1) / 2, (area.y0 + area.y1) / 2, { steps: 5 });
    await browser.page.mouse.move(area.x1, area.y1, { steps: 5 });
    await browser.page.mouse.up();
    await browser.page.waitForSelector('#selection h3');
    const selection = await browser.page.evaluate(() => {
      const r = (window as any).d2Report;
      const { x, y } = r.views.mapA.signal('brush');
      const m = r.data.models[0];
      let inside = 0;
      m.map.x.forEach((px: number | null, i: number) => {
        const py = m.map.y[i];
        if (px === null || py === null || m.pred[i] < 0) return;
        if (px >= Math.min(...x) && px <= Math.max(...x) && py >= Math.min(...y) && py <= Math.max(...y)) inside++;
      });
      return { inside, title: document.querySelector('#selection h3').textContent, cards: document.querySelectorAll('#selection figure.item').length };
    });
    expect(selection.inside).toBeGreaterThan(0);
    expect(selection.title).toContain(`: ${selection.inside} item`);
    expect(selection.cards).toBe(Math.min(60, selection.inside));
    expect(browser.problems).toEqual([]);
  });

  it("reports one revision's model with d2.lock's figures", async () => {
    const r = await runD2(['report', 'HEAD', '--out', 'out/head.html', '--json'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const d = lastJson(r.stdout).data;
    expect(checkDocumented(d, 'ReportResult', docTypes)).toEqual([]);
    const lock = parseLock((await git(['show', 'HEAD:d2.lock'], dir)).stdout).lock!;
    expect(d.kind).toBe('build');
    expect(d.models[0].oid).toBe(lock.model.oid);
    expect(d.models[0].accuracy).toBeCloseTo(lock.metrics.test!.accuracy, 6);
    expect(d.models[0].macroF1).toBeCloseTo(lock.metrics.test!.macroF1, 6);
    expect(d.models[0].modelTests).toEqual({ count: lock.metrics.modelTests!.count, passed: lock.metrics.modelTests!.passed });
    // the pictures and feature vectors were made by the diff's report: nothing drawn or run again
    expect(d.thumbnails.drawn).toBe(0);
    const file = path.join(dir, 'out', 'head.html');
    await open(file);
    expectOffline(file);
    const cells = await browser.page.evaluate(() => document.querySelectorAll('#confusion-0 .mark-rect path').length);
    expect(cells).toBe(16);
    const shot = path.join(dir, 'out', 'head.png');
    await browser.page.screenshot({ path: shot, fullPage: true });
    shots.push(shot);
  });

  it('prints the Markdown with --md, within a comment\'s size, and the same text as --json gives', async () => {
    const r = await runD2(['report', 'HEAD~1..HEAD', '--out', 'out/diff.html', '--md', '--link', 'https://ci.example/run/1'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.startsWith('<!-- d2-report -->\n')).toBe(true);
    expect(r.stdout.length).toBeLessThanOrEqual(65_000);
    expect(r.stdout).toContain('(https://ci.example/run/1)');
    expect(r.stderr).toContain('wrote');
    const j = lastJson((await runD2(['report', 'HEAD~1..HEAD', '--out', 'out/diff.html', '--md', '--link', 'https://ci.example/run/1', '--json'], { cwd: dir })).stdout);
    expect(j.data.markdown).toBe(r.stdout);
  });

  it('draws a UMAP map when asked, and reads it from the cache the second time', async () => {
    const first = lastJson((await runD2(['report', 'HEAD', '--map', 'umap', '--out', 'out/umap.html', '--json'], { cwd: dir })).stdout).data;
    expect(first.maps).toEqual([expect.objectContaining({ method: 'umap', cached: false })]);
    const second = lastJson((await runD2(['report', 'HEAD', '--map', 'umap', '--out', 'out/umap2.html', '--json'], { cwd: dir })).stdout).data;
    expect(second.maps).toEqual([expect.objectContaining({ method: 'umap', cached: true })]);
    // the same map, so the same page
    expect(fs.readFileSync(path.join(dir, 'out', 'umap2.html'), 'utf8')).toBe(fs.readFileSync(path.join(dir, 'out', 'umap.html'), 'utf8'));
    await open(path.join(dir, 'out', 'umap.html'));
    expect(browser.problems).toEqual([]);
  });

  it('exits 3 on a crossed --fail-on rule, as d2 diff does, with the same checks', async () => {
    const broken = lastJson((await runD2(['diff', 'HEAD~1', 'HEAD', '--json'], { cwd: dir })).stdout).data.behaviour.significance.broken;
    expect(broken).toBeGreaterThan(0);
    for (const rule of ['broken=0', `broken=${broken}`]) {
      const diff = await runD2(['diff', 'HEAD~1', 'HEAD', '--fail-on', rule, '--json'], { cwd: dir });
      const r = await runD2(['report', 'HEAD~1..HEAD', '--fail-on', rule, '--out', 'out/checks.html', '--json'], { cwd: dir });
      expect(diff.exitCode).toBe(rule === 'broken=0' ? 3 : 0);
      expect(r.exitCode).toBe(diff.exitCode);
      expect(lastJson(r.stdout).data.checks).toEqual(lastJson(diff.stdout).data.checks);
    }
  });

  it('refuses a side without a model, saying how to build it', async () => {
    const r = await runD2(['report', 'HEAD~2..HEAD', '--json'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(lastJson(r.stdout).error).toMatchObject({ code: 'ModelNotBuilt', hint: expect.stringContaining('d2 build --rev HEAD~2') });
    setModel(dir, 'model:\n  preset: fast\n  seed: 3');
    const unbuilt = await runD2(['report', '--json'], { cwd: dir });
    setModel(dir, 'model:\n  preset: fast\n  seed: 2');
    expect(unbuilt.exitCode).toBe(1);
    expect(lastJson(unbuilt.stdout).error).toMatchObject({ code: 'ModelNotBuilt', hint: "run 'd2 build'" });
  });

  it("lists the label suspects of the revision's stored review, most likely wrong first, with the noise", async () => {
    const rev = await runD2(['review', 'HEAD', '--no-since', '--limit', '0', '--json'], { cwd: dir });
    expect(rev.exitCode, rev.stderr).toBe(0);
    const review = lastJson(rev.stdout).data;
    expect(review.counts.flagged).toBeGreaterThan(0);
    const self = new Map<string, number>(review.suspects.map((x: any) => [x.path, x.selfConfidence]));

    const r = await runD2(['report', 'HEAD', '--out', 'out/suspects.html', '--json', '--md'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const d = lastJson(r.stdout).data;
    expect(checkDocumented(d, 'ReportResult', docTypes)).toEqual([]);
    const listed = Math.min(50, review.counts.flagged);
    expect(d.suspects).toEqual({ rev: 'HEAD', review: review.review, command: 'd2 review HEAD', total: review.counts.flagged, listed, kept: 0 });
    expect(d.markdown).toContain(`Label suspects in \`HEAD\`: ${review.counts.flagged} of ${review.counts.items} items reviewed`);
    // a diff shows its new side's review; the old side's data was never reviewed
    const diff = lastJson((await runD2(['report', 'HEAD~1..HEAD', '--out', 'out/diff-suspects.html', '--json'], { cwd: dir })).stdout).data;
    expect(diff.suspects).toMatchObject({ rev: 'HEAD', review: review.review, total: review.counts.flagged });
    const old = lastJson((await runD2(['report', 'HEAD~1', '--out', 'out/old.html', '--json'], { cwd: dir })).stdout).data;
    expect(old.suspects).toMatchObject({ rev: 'HEAD~1', review: null, command: 'd2 review HEAD~1' });

    const file = path.join(dir, 'out', 'suspects.html');
    await open(file);
    expectOffline(file);
    const page = await browser.page.evaluate(() => ({
      title: document.querySelector('#suspects h2')?.textContent,
      paths: [...document.querySelectorAll('#suspects figure.item')].map((f) => (f as any).dataset.path),
      captions: [...document.querySelectorAll('#suspects figure.item figcaption')].slice(0, 1).map((c) => c.textContent),
      images: [...document.querySelectorAll('#suspects figure.item img')].map((i) => (i as any).complete && (i as any).naturalWidth > 0),
      noiseRows: document.querySelectorAll('#noise tbody tr').length,
    }));
    expect(page.title).toBe(`Label suspects (${review.counts.flagged})`);
    expect(page.paths).toHaveLength(listed);
    for (const p of page.paths) expect(self.has(p), p).toBe(true);
    // most likely wrong first: the out-of-sample probability of the given label rises down the list
    const scores = page.paths.map((p: string) => self.get(p)!);
    expect(scores).toEqual([...scores].sort((a, b) => a - b));
    const first = review.suspects.find((x: any) => x.path === page.paths[0]);
    expect(page.captions[0]).toBe(`label: ${first.label}likely: ${first.suggested} ${Math.round(first.confidence * 100)}%${first.path}`);
    expect(page.images).toHaveLength(listed);
    expect(page.images.every(Boolean)).toBe(true);
    expect(page.noiseRows).toBe(Math.min(20, review.noise.length));
    const shot = path.join(dir, 'out', 'suspects.png');
    await browser.page.screenshot({ path: shot, fullPage: true });
    shots.push(shot);
  }, 300_000);

  it('leaves out a suspect a reviewer kept', async () => {
    // the working tree has HEAD's data: its review reuses the fold models, and 'd2 label --keep' reads it
    const review = lastJson((await runD2(['review', '--no-since', '--limit', '0', '--json'], { cwd: dir })).stdout).data;
    expect(review.crossValidation.trained).toBe(0);
    const keep = review.suspects[0].path;
    expect((await runD2(['label', '--keep', keep], { cwd: dir })).exitCode).toBe(0);
    const d = lastJson((await runD2(['report', '--out', 'out/kept.html', '--json'], { cwd: dir })).stdout).data;
    expect(d.suspects).toMatchObject({ rev: null, review: review.review, command: 'd2 review', total: review.counts.flagged - 1, kept: 1 });
    await open(path.join(dir, 'out', 'kept.html'));
    const paths = await browser.page.evaluate(() => [...document.querySelectorAll('#suspects figure.item')].map((f) => (f as any).dataset.path));
    expect(paths).not.toContain(keep);
    expect(browser.problems).toEqual([]);
  }, 300_000);
});
