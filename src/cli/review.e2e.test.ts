/**
 * End-to-end: `d2 review` and `d2 label` through the real bin/d2 on the bundled example (400
 * Fashion-MNIST images) with labels flipped on purpose: the flipped items are found, a second
 * review trains nothing, each decision is a one-line change of a committed file, and the next
 * review after the commit reflects them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { copyFixtureImages, D2_BIN, git, lastJson, runD2, tempDir, TEST_ENV } from '../testing/index.js';

/** Items whose labels are flipped on purpose (path in source, true label, given label): classes unlike each other. */
const FLIPPED: [string, string, string][] = [];

function flip(dir: string, items: string[]): void {
  const file = path.join(dir, 'd2.sources', 'images.labels.csv');
  let text = fs.readFileSync(file, 'utf8');
  const wrong: Record<string, string> = { trouser: 'bag', bag: 'trouser', sneaker: 'trouser', ankle_boot: 'bag' };
  for (const p of items) {
    const truth = p.split('/')[0]!;
    text = text.replace(`\n${p},${truth}\n`, `\n${p},${wrong[truth]}\n`);
    FLIPPED.push([p, truth, wrong[truth]!]);
  }
  fs.writeFileSync(file, text);
}

function numstat(out: string): string[] {
  return out.trim().split('\n').filter(Boolean);
}

describe('d2 review and d2 label', { tags: ['slow'] }, () => {
  it('finds labels flipped on purpose, caches the folds, and acts on decisions in committed files', async () => {
    // Given the bundled example with four labels flipped to a class unlike the image, committed
    const dir = tempDir('d2-review-');
    expect((await runD2(['init'], { cwd: dir })).exitCode).toBe(0);
    const all = copyFixtureImages(path.join(dir, 'images'), { perClass: 1000, classes: 10 });
    expect(all.length).toBe(400);
    expect((await runD2(['add', 'images', '--labels', 'dirname'], { cwd: dir })).exitCode).toBe(0);
    const pick = (cls: string, n: number) => all.filter((p) => p.startsWith(`${cls}/`)).slice(3, 3 + n);
    flip(dir, [...pick('trouser', 2), ...pick('bag', 1), ...pick('sneaker', 1)]);
    expect((await runD2(['commit', '-m', 'example with 4 wrong labels'], { cwd: dir })).exitCode).toBe(0);

    // When it is reviewed
    const first = await runD2(['review', '--json', '--limit', '0'], { cwd: dir });
    expect(first.exitCode, first.stderr).toBe(0);
    const r = lastJson(first.stdout);
    expect(r).toMatchObject({ type: 'result', command: 'review' });
    const d = r.data;
    // Then every labelled item got an out-of-sample prediction from one of 5 fold models
    expect(d.crossValidation).toMatchObject({ k: 5, seed: 0, preset: 'fast', trained: 5 });
    expect(d.crossValidation.folds).toHaveLength(5);
    expect(d.crossValidation.folds.reduce((a: number, f: any) => a + f.items, 0)).toBe(400);
    expect(d.crossValidation.count).toBe(400);
    expect(d.counts.items).toBe(400);
    expect(d.since).toMatch(/^[0-9a-f]{40}$/);
    // and the flipped items are flagged, with their true class suggested
    const byPath = new Map(d.suspects.map((s: any) => [s.path, s]));
    for (const [p, truth, given] of FLIPPED) {
      const s: any = byPath.get(`images/${p}`);
      expect(s, `images/${p} (labelled ${given}, really ${truth}) is flagged`).toBeDefined();
      expect(s).toMatchObject({ label: given, suggested: truth, change: null });
    }
    // most likely wrong first: the ranking key (p(label)) never decreases
    const selves = d.suspects.map((s: any) => s.selfConfidence);
    expect(selves).toEqual([...selves].sort((a: number, b: number) => a - b));
    // a noise estimate per class pair, as class names
    expect(d.noise.length).toBeGreaterThan(0);
    expect(d.noise[0]).toMatchObject({ given: expect.any(String), true: expect.any(String), rate: expect.any(Number), count: expect.any(Number) });

    // When it is reviewed again with nothing changed: nothing is trained, the same review
    const again = lastJson((await runD2(['review', '--json', '--limit', '0'], { cwd: dir })).stdout).data;
    expect(again.crossValidation.trained).toBe(0);
    expect(again.review).toBe(d.review);
    expect(again.suspects).toEqual(d.suspects);

    // The text view fits 100 columns
    const text = await runD2(['review'], { cwd: dir });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/cross-validated accuracy \d+\.\d%/);
    expect(text.stdout).toContain('estimated label noise');
    for (const line of text.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);

    // When the reviewer relabels one flipped item, and keeps another suspect as labelled
    const [fixPath, fixTruth] = FLIPPED[0]!;
    const keepIt: any = d.suspects.find((s: any) => !FLIPPED.some(([p]) => `images/${p}` === s.path));
    const relabel = await runD2(['label', `images/${fixPath}`, '--as', fixTruth, '--json'], { cwd: dir });
    expect(relabel.exitCode, relabel.stderr).toBe(0);
    expect(lastJson(relabel.stdout).data).toMatchObject({ relabelled: [{ path: `images/${fixPath}`, from: FLIPPED[0]![2], to: fixTruth, set: expect.any(String) }], files: ['d2.sources/images.labels.csv'] });
    // a file path works too (from inside the source folder)
    const keep = await runD2(['label', '--keep', keepIt.path.slice('images/'.length), '--json'], { cwd: path.join(dir, 'images') });
    expect(keep.exitCode, keep.stderr).toBe(0);
    expect(lastJson(keep.stdout).data.kept).toEqual([{ path: keepIt.path, label: keepIt.label, suggested: keepIt.suggested }]);
    // Then each decision is a one-line change of a committed text file
    expect(numstat((await git(['diff', '--numstat'], dir)).stdout)).toEqual(['1\t1\td2.sources/images.labels.csv']);
    const kept = fs.readFileSync(path.join(dir, 'd2.review', 'kept.csv'), 'utf8');
    expect(kept).toBe(`path,label,suggested,item\n${keepIt.path},${keepIt.label},${keepIt.suggested},${keepIt.oid}\n`);
    // and the relabel survives re-adding the source
    expect((await runD2(['add', '--all'], { cwd: dir })).exitCode).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'd2.sources', 'images.labels.csv'), 'utf8')).toContain(`\n${fixPath},${fixTruth}\n`);
    const committed = await runD2(['commit', '-m', 'review: one relabel, one kept', '--json'], { cwd: dir });
    expect(committed.exitCode, committed.stderr).toBe(0);
    expect(lastJson(committed.stdout).data.changed.sort()).toEqual(['d2.review/kept.csv', 'd2.sources/images.labels.csv']);

    // When reviewed after the commit
    const after = lastJson((await runD2(['review', '--json', '--limit', '0', '--all'], { cwd: dir })).stdout).data;
    expect(after.crossValidation.trained).toBeGreaterThan(0); // the labels changed: folds retrain
    const afterPaths = new Map(after.suspects.map((s: any) => [s.path, s]));
    // Then the fixed item is no longer a suspect; the kept one is hidden while its evidence holds
    expect(afterPaths.has(`images/${fixPath}`)).toBe(false);
    const keptNow: any = afterPaths.get(keepIt.path);
    if (keptNow && keptNow.suggested === keepIt.suggested) {
      expect(keptNow.kept).toBe(true);
      const hidden = lastJson((await runD2(['review', '--json', '--limit', '0'], { cwd: dir })).stdout).data;
      expect(hidden.suspects.some((s: any) => s.path === keepIt.path)).toBe(false);
      expect(hidden.counts.kept).toBe(1);
    }
    // the other flipped items (retrained folds flag most of them again) are not new: they were in the previous commit
    const still = FLIPPED.slice(1).map(([p]) => afterPaths.get(`images/${p}`)).filter(Boolean);
    expect(still.length).toBeGreaterThanOrEqual(1);
    for (const s of still) expect(s).toMatchObject({ change: null });
  }, 240_000);

  it('marks a relabel since the previous commit, writes a CSV for --from, protects model tests', async () => {
    const dir = tempDir('d2-review-');
    expect((await runD2(['init'], { cwd: dir })).exitCode).toBe(0);
    const all = copyFixtureImages(path.join(dir, 'images'), { perClass: 12, classes: 4 });
    expect((await runD2(['add', 'images', '--labels', 'dirname'], { cwd: dir })).exitCode).toBe(0);
    expect((await runD2(['commit', '-m', 'first'], { cwd: dir })).exitCode).toBe(0);
    const target = all.find((p) => p.startsWith('bag/'))!;
    const other = all.find((p) => p.startsWith('ankle_boot/'))!;
    // a relabel to a wrong class, not committed: the review of the working tree marks it
    expect((await runD2(['label', `images/${target}`, '--as', 'ankle_boot'], { cwd: dir })).exitCode).toBe(0);
    const r = await runD2(['review', '--json', '--limit', '0', '--filter', 'confident_joint'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const d = lastJson(r.stdout).data;
    const s = d.suspects.find((x: any) => x.path === `images/${target}`);
    if (s) {
      expect(s).toMatchObject({ change: 'relabelled', previousLabel: 'bag', label: 'ankle_boot' });
      expect(d.suspects[0].change).not.toBeNull(); // changed suspects come first
    }
    expect(d.counts.relabelled).toBe(d.suspects.filter((x: any) => x.change === 'relabelled').length);

    // --csv: a decisions file; a reviewer writes 'keep' in one row and applies it
    const csv = await runD2(['review', '--csv', '--filter', 'confident_joint'], { cwd: dir });
    expect(csv.exitCode, csv.stderr).toBe(0);
    expect(csv.stdout.split('\n')[0]).toBe('path,label,decision,predicted,confidence,why');
    expect(csv.stdout.endsWith('\n')).toBe(true);
    const rows = csv.stdout.trim().split('\n').slice(1);
    expect(rows.length).toBe(d.counts.shown);
    fs.writeFileSync(path.join(dir, 'decisions.csv'), `path,label,decision\nimages/${other},ankle_boot,keep\nimages/${target},bag,\n`);
    const applied = await runD2(['label', '--from', 'decisions.csv', '--json'], { cwd: dir });
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(lastJson(applied.stdout).data).toMatchObject({
      relabelled: [{ path: `images/${target}`, from: 'ankle_boot', to: 'bag' }],
      kept: [{ path: `images/${other}`, label: 'ankle_boot' }],
    });

    // a model test: made with --as-model-test (d2.yaml declares the file), then protected
    const made = await runD2(['label', `images/${other}`, '--as-model-test', '--json'], { cwd: dir });
    expect(made.exitCode, made.stderr).toBe(0);
    expect(lastJson(made.stdout).data.files).toEqual(['d2.yaml', 'model-tests.csv']);
    expect(fs.readFileSync(path.join(dir, 'model-tests.csv'), 'utf8')).toBe(`path,label\nimages/${other},ankle_boot\n`);
    const refused = await runD2(['label', `images/${other}`, '--as', 'bag', '--json'], { cwd: dir });
    expect(refused.exitCode).toBe(1);
    expect(lastJson(refused.stdout).error).toMatchObject({ code: 'LabelProtected', data: { items: [`images/${other}`] } });
    const forced = await runD2(['label', `images/${other}`, '--as', 'bag', '--force'], { cwd: dir });
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'model-tests.csv'), 'utf8')).toBe(`path,label\nimages/${other},bag\n`);

    // unknown items and classes are refused, all at once, before anything is written
    const bad = await runD2(['label', 'images/nope.png', 'images/nope2.png', '--as', 'bag', '--json'], { cwd: dir });
    expect(bad.exitCode).toBe(1);
    expect(lastJson(bad.stdout).error).toMatchObject({ code: 'PathNotFound', data: { problems: [expect.stringContaining('nope.png'), expect.stringContaining('nope2.png')] } });
    const typo = await runD2(['label', `images/${target}`, '--as', 'bga'], { cwd: dir });
    expect(typo.exitCode).toBe(1);
    expect(typo.stderr).toContain("unknown class 'bga' (did you mean 'bag'?)");
  }, 120_000);

  it('relabels a source labelled from a CSV file in both files, and the relabel survives d2 add --all', async () => {
    const dir = tempDir('d2-label-');
    expect((await runD2(['init'], { cwd: dir })).exitCode).toBe(0);
    const all = copyFixtureImages(path.join(dir, 'scans'), { perClass: 2, classes: 2 });
    const rows = all.map((p) => `"${p}",${p.split('/')[0]},extra`).join('\r\n');
    fs.writeFileSync(path.join(dir, 'labels.csv'), `path,label,note\r\n${rows}\r\n`);
    expect((await runD2(['add', 'scans', '--labels', 'labels.csv'], { cwd: dir })).exitCode).toBe(0);
    expect((await runD2(['commit', '-m', 'first'], { cwd: dir })).exitCode).toBe(0);
    const target = all[0]!;
    const otherClass = all.at(-1)!.split('/')[0]!;
    const r = await runD2(['label', `scans/${target}`, '--as', otherClass, '--json'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(lastJson(r.stdout).data.files).toEqual(['d2.sources/scans.labels.csv', 'labels.csv']);
    expect(numstat((await git(['diff', '--numstat'], dir)).stdout)).toEqual(['1\t1\td2.sources/scans.labels.csv', '1\t1\tlabels.csv']);
    expect(fs.readFileSync(path.join(dir, 'labels.csv'), 'utf8')).toContain(`\r\n${target},${otherClass},extra\r\n`);
    expect((await runD2(['add', '--all'], { cwd: dir })).exitCode).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'd2.sources', 'scans.labels.csv'), 'utf8')).toContain(`\n${target},${otherClass}\n`);
  }, 60_000);

  it('resumes an interrupted review: finished folds are reused, the fold in progress continues, the result is the uninterrupted one', async () => {
    const make = async () => {
      const dir = tempDir('d2-review-');
      expect((await runD2(['init'], { cwd: dir })).exitCode).toBe(0);
      copyFixtureImages(path.join(dir, 'images'), { perClass: 40, classes: 10 }); // folds of ~2 s: the interrupt lands in fold 2
      expect((await runD2(['add', 'images', '--labels', 'dirname'], { cwd: dir })).exitCode).toBe(0);
      return dir;
    };
    // Given a review stopped by SIGINT while fold 2 trains
    const dir = await make();
    const child = execa(process.execPath, [D2_BIN, 'review', '--json'], { cwd: dir, env: TEST_ENV, reject: false, buffer: { stdout: false } });
    let sent = false;
    let pending = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const e = line ? JSON.parse(line) : undefined;
        if (!sent && e?.type === 'progress' && e.phase === 'train' && e.detail?.fold === 2 && e.loaded >= 1) {
          sent = true;
          child.kill('SIGINT');
        }
      }
    });
    const stopped = await child;
    expect(sent).toBe(true);
    expect(stopped.exitCode).toBe(130);
    // When it runs again
    const resumed = await runD2(['review', '--json', '--limit', '0'], { cwd: dir });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const r = lastJson(resumed.stdout).data;
    // Then the folds finished before the interrupt (fold 1 at least) are reused, the rest trained
    // now — the one in progress from its checkpoint, unless it finished before the signal landed
    expect(r.crossValidation.trained).toBeLessThanOrEqual(4);
    expect(r.crossValidation.trained).toBeGreaterThanOrEqual(1);
    expect(r.crossValidation.resumed).toBeLessThanOrEqual(1);
    // and the result is bit for bit the one of a review that was never interrupted
    const fresh = lastJson((await runD2(['review', '--json', '--limit', '0'], { cwd: await make() })).stdout).data;
    expect(fresh.crossValidation.trained).toBe(5);
    expect(r.crossValidation.evaluation).toBe(fresh.crossValidation.evaluation);
    expect(r.suspects).toEqual(fresh.suspects);
  }, 120_000);
});

