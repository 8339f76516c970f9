/**
 * End-to-end: unlabelled items are first-class. A source added with `--unlabelled` is a pool to
 * label later — no label invented from its folder names, no "none labelled" warning — while a
 * source that has no label by accident is still warned about; a labels CSV's empty labels leave
 * their items unlabelled; `d2 status`, `d2 data` and `d2 log` count unlabelled items per
 * source; they never enter training or evaluation; `d2 label` gives a pool item its first
 * label, and a re-add keeps it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_IMAGES, lastJson, runD2, tempDir } from '../testing/index.js';

async function ok(args: string[], cwd: string): Promise<any> {
  const r = await runD2([...args, '--json'], { cwd });
  expect(r.exitCode, `d2 ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
  return lastJson(r.stdout).data;
}

function fits(text: string): void {
  for (const l of text.split('\n')) expect([...l].length, l).toBeLessThanOrEqual(100);
}

const CLASSES = ['bag', 'coat', 'sandal', 'sneaker'];
let dir = '';
/** new-photos/<class>/<file>: folder names a 'dirname' source would take as labels. */
const POOL = 4 * 6;

beforeAll(async () => {
  dir = tempDir('d2-unlabelled-');
  await ok(['init'], dir);
  for (const c of CLASSES) {
    const files = fs.readdirSync(path.join(FIXTURE_IMAGES, c)).sort();
    fs.mkdirSync(path.join(dir, 'img', c), { recursive: true });
    fs.mkdirSync(path.join(dir, 'new-photos', c), { recursive: true });
    fs.mkdirSync(path.join(dir, 'scans'), { recursive: true });
    for (const f of files.slice(0, 12)) fs.copyFileSync(path.join(FIXTURE_IMAGES, c, f), path.join(dir, 'img', c, f));
    for (const f of files.slice(12, 18)) fs.copyFileSync(path.join(FIXTURE_IMAGES, c, f), path.join(dir, 'new-photos', c, f));
    for (const f of files.slice(18, 20)) fs.copyFileSync(path.join(FIXTURE_IMAGES, c, f), path.join(dir, 'scans', `${c}-${f}`));
  }
  fs.appendFileSync(path.join(dir, 'd2.yaml'), '\nmodel:\n  preset: fast\n  seed: 3\n');
  await ok(['add', 'img', '--labels', 'dirname'], dir);
  await ok(['commit', '-m', 'labelled images'], dir);
}, 120_000);

describe('unlabelled items', { tags: ['slow'] }, () => {
  it('adds a pool with --unlabelled: no label from folder names, no warning, recorded in d2.yaml', async () => {
    const added = await ok(['add', 'new-photos', '--unlabelled'], dir);
    expect(added.sources).toEqual([expect.objectContaining({ source: 'new-photos', pool: true, items: POOL, labelled: 0, unlabelled: POOL, labels: null, warnings: [] })]);
    expect(fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8')).toMatch(/ {2}new-photos:\n {4}path: new-photos\n {4}unlabelled: true\n/);
    expect(fs.readFileSync(path.join(dir, 'd2.sources', 'new-photos.labels.csv'), 'utf8')).toBe('path,label\n');
    const text = await runD2(['add', 'new-photos'], { cwd: dir });
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toContain(`new-photos: ${POOL} items`);
    expect(text.stdout).toContain(`${POOL} unlabelled (a pool to label later)`);
    expect(text.stdout).not.toContain('warning');
    // a pool takes no labelling rule
    const both = await runD2(['add', 'new-photos', '--unlabelled', '--labels', 'dirname', '--json'], { cwd: dir });
    expect(both.exitCode).toBe(1);
    expect(lastJson(both.stdout).error).toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(/without (option 'labels'|--labels)/) });
    const flag = await runD2(['add', 'new-photos', '--unlabelled', '--labels', 'dirname'], { cwd: dir });
    expect(flag.stderr).toContain('--unlabelled adds a pool to label later: give it without --labels');
  });

  it('still warns about a source with no label by accident, and takes empty CSV labels as unlabelled', async () => {
    const oops = await ok(['add', 'scans'], dir);
    expect(oops.sources[0]).toMatchObject({ pool: false, labelled: 0, unlabelled: 8 });
    expect(oops.sources[0].warnings.join('\n')).toContain('--unlabelled');
    // the same folder labelled from a CSV whose rows leave some labels empty
    const names = fs.readdirSync(path.join(dir, 'scans')).sort();
    const rows = names.map((f, i) => `${f},${i % 4 === 0 ? '' : f.split('-')[0]}`);
    fs.writeFileSync(path.join(dir, 'scans.csv'), `path,label\n${rows.join('\n')}\n`);
    const data = await ok(['data', '--no-preprocess'], dir);
    expect(data.problems.filter((p: any) => p.kind === 'source-unlabelled').map((p: any) => p.source)).toEqual(['scans']);
    const csv = await ok(['add', 'scans', '--labels', 'scans.csv'], dir);
    expect(csv.sources[0]).toMatchObject({ pool: false, items: 8, labelled: 6, unlabelled: 2 });
    const after = await ok(['data', '--no-preprocess'], dir);
    expect(after.unlabelled).toEqual({ 'new-photos': POOL, scans: 2 });
    expect(after.problems.filter((p: any) => p.kind === 'source-unlabelled')).toEqual([]);
  });

  it('counts unlabelled items per source in d2 status, d2 data and d2 log', async () => {
    const st = await ok(['status'], dir);
    const by = Object.fromEntries(st.sources.map((s: any) => [s.source, s]));
    expect(by.img).toMatchObject({ items: 48, unlabelled: 0, pool: false });
    expect(by['new-photos']).toMatchObject({ items: POOL, unlabelled: POOL, pool: true });
    expect(by.scans).toMatchObject({ items: 8, unlabelled: 2, pool: false });
    const text = (await runD2(['status'], { cwd: dir })).stdout;
    expect(text).toContain("Unlabelled items (not trained on; 'd2 suggest' ranks them for labelling):");
    expect(text).toContain(`  new-photos: ${POOL} of ${POOL} items (a pool to label later)`);
    expect(text).toContain('  scans: 2 of 8 items\n');
    fits(text);
    const dataText = (await runD2(['data', '--no-preprocess'], { cwd: dir })).stdout;
    expect(dataText).toContain(`unlabelled: new-photos ${POOL}, scans 2 (not trained on`);

    await ok(['commit', '-m', 'a pool and scans'], dir);
    const log = await ok(['log'], dir);
    const head = log.commits[0];
    expect(head.change.summary).toContain(`+${POOL + 8} items, +6 labelled, +${POOL + 2} unlabelled`);
    expect(head.change).toMatchObject({ items: POOL + 8, labelled: 6, unlabelled: POOL + 2 });
    expect(head.sources['new-photos']).toMatchObject({ items: POOL, labelled: 0, unlabelled: POOL });
    expect(head).toMatchObject({ items: 48 + POOL + 8, unlabelled: POOL + 2 });
    const logText = (await runD2(['log'], { cwd: dir })).stdout;
    expect(logText).toContain(`+${POOL + 2} unlabelled`);
    fits(logText);
  });

  it('never trains or evaluates on unlabelled items', async () => {
    const built = await ok(['build'], dir);
    const counts = built.data.counts;
    expect(counts.train.total + counts.validation.total + counts.test.total + counts.modelTest.total).toBe(48 + 6);
    expect(built.build.metrics.validation.count).toBe(counts.validation.total);
    expect(built.build.metrics.test.count).toBe(counts.test.total);
    expect(built.data.unlabelled).toEqual({ 'new-photos': POOL, scans: 2 });
    // the report's evaluation items are the labelled test items only
    const report = await ok(['report', '--out', 'r.html'], dir);
    expect(report.evaluatedOn.items).toBe(counts.test.total);
    const html = fs.readFileSync(path.join(dir, 'r.html'), 'utf8');
    expect(html).not.toContain('new-photos/');
  }, 240_000);

  it('gives a pool item its first label with d2 label; a re-add keeps it and invents none', async () => {
    const item = `new-photos/bag/${fs.readdirSync(path.join(dir, 'new-photos', 'bag')).sort()[0]}`;
    const labelled = await ok(['label', item, '--as', 'bag'], dir);
    expect(labelled.relabelled).toEqual([expect.objectContaining({ path: item, to: 'bag' })]);
    expect((await ok(['status'], dir)).sources.find((s: any) => s.source === 'new-photos')).toMatchObject({ unlabelled: POOL - 1 });
    const readd = await ok(['add', 'new-photos'], dir);
    expect(readd.sources[0]).toMatchObject({ pool: true, labelled: 1, unlabelled: POOL - 1 });
    expect(fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8')).toContain('unlabelled: true');
    await ok(['commit', '-m', 'first label of the pool'], dir);
    const head = (await ok(['log', '-n', '1'], dir)).commits[0];
    expect(head.change.summary).toContain('+1 labelled, -1 unlabelled');
    expect(head.sources['new-photos']).toMatchObject({ labelled: 1, unlabelled: POOL - 1 });
    expect((await ok(['data', '--no-preprocess'], dir)).unlabelled['new-photos']).toBe(POOL - 1);
  });
});
