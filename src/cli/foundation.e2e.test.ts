/**
 * End-to-end: the real `bin/d2` in a temporary folder, checked with the real `git` CLI.
 * Tagged slow: each test spawns several processes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { copyFixtureImages, D2_BIN, git, lastJson, runD2, tempDir, TEST_ENV, writeFiles } from '../testing/index.js';

const ANSI = /\u001b\[/;

async function newProject(): Promise<string> {
  const dir = tempDir('d2-e2e-');
  const r = await runD2(['init'], { cwd: dir });
  expect(r.exitCode).toBe(0);
  return dir;
}

describe('init → add → status → relabel → status → commit → log', { tags: ['slow'] }, () => {
  it('keeps an ordinary git repository that the git CLI reads and fsck accepts', async () => {
    const dir = await newProject();
    expect(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8')).toContain('/.d2/');
    const files = copyFixtureImages(path.join(dir, 'images'), { perClass: 4, classes: 3 });

    // Given the fixture images, when they are added with folder labels
    const add = await runD2(['add', 'images', '--labels', 'dirname', '--json'], { cwd: dir });
    expect(add.exitCode).toBe(0);
    expect(add.stderr).not.toMatch(ANSI);
    const added = lastJson(add.stdout);
    expect(added).toMatchObject({ type: 'result', command: 'add', formatVersion: 1 });
    expect(added.data.sources[0]).toMatchObject({ source: 'images', items: 12, labelled: 12, objectsWritten: 12, changes: { added: 12 } });
    expect(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8')).toContain('/images/');
    expect(fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8')).toMatch(/images:\n\s+path: images\n\s+labels: dirname/);

    // then status shows a new source staged, and nothing not added
    const st1 = lastJson((await runD2(['status', '--json'], { cwd: dir })).stdout).data;
    expect(st1.clean).toBe(false);
    expect(st1.sources[0]).toMatchObject({ source: 'images', state: 'new' });
    expect(st1.sources[0].staged.files.added).toEqual(files);

    const c1 = await runD2(['commit', '-m', 'first images'], { cwd: dir });
    expect(c1.exitCode).toBe(0);
    expect(c1.stdout).toMatch(/^\[main [0-9a-f]{7}\] /);

    // A relabel is a one-line change in git diff and shows as such in d2 status
    const labelsFile = path.join(dir, 'd2.sources', 'images.labels.csv');
    const [cls0, cls1] = [files[0]!.split('/')[0]!, files[files.length - 1]!.split('/')[0]!];
    const text = fs.readFileSync(labelsFile, 'utf8');
    fs.writeFileSync(labelsFile, text.replace(`${files[0]},${cls0}\n`, `${files[0]},${cls1}\n`));
    const numstat = await git(['diff', '--numstat'], dir);
    expect(numstat.stdout).toBe('1\t1\td2.sources/images.labels.csv');
    const st2 = await runD2(['status'], { cwd: dir });
    expect(st2.stdout).toContain(`relabelled: ${files[0]}  ${cls0} → ${cls1}`);
    const st2json = lastJson((await runD2(['status', '--json'], { cwd: dir })).stdout).data;
    expect(st2json.sources[0].staged.relabels).toEqual([{ path: files[0], from: cls0, to: cls1 }]);

    const c2 = await runD2(['commit', '-m', 'relabel one image'], { cwd: dir });
    expect(c2.exitCode).toBe(0);

    const log = lastJson((await runD2(['log', '--json'], { cwd: dir })).stdout).data;
    expect(log.commits.map((c: { message: string }) => c.message)).toEqual(['relabel one image', 'first images']);
    expect(log.commits[0].sources).toEqual({ images: { items: 12, bytes: expect.any(Number), labelled: 12, unlabelled: 0 } });

    // The real git CLI agrees
    expect((await git(['log', '--format=%s'], dir)).stdout).toBe('relabel one image\nfirst images');
    const fsck = await git(['fsck', '--strict'], dir);
    expect(fsck.exitCode).toBe(0);
    expect((await git(['status', '--porcelain'], dir)).stdout).toBe('');
    const tracked = (await git(['ls-files'], dir)).stdout.split('\n');
    expect(tracked).toEqual(['.gitignore', 'd2.sources/images.labels.csv', 'd2.sources/images.yaml', 'd2.yaml']);

    // and so does d2: nothing left to commit, nothing re-read
    const st3 = lastJson((await runD2(['status', '--json'], { cwd: dir })).stdout).data;
    expect(st3.clean).toBe(true);
    const again = await runD2(['commit', '-m', 'nothing'], { cwd: dir });
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/^error: nothing to commit/);
    expect((await runD2(['fsck'], { cwd: dir })).exitCode).toBe(0);
  });

  it('shows files not added yet, and a no-op status reads no file', async () => {
    const dir = await newProject();
    copyFixtureImages(path.join(dir, 'images'), { perClass: 3, classes: 2 });
    expect((await runD2(['add', 'images', '--labels', 'dirname'], { cwd: dir })).exitCode).toBe(0);
    expect((await runD2(['commit', '-m', 'images'], { cwd: dir })).exitCode).toBe(0);
    // the first status may re-read files added within the same clock tick (racy-git rule)
    await new Promise((r) => setTimeout(r, 150));
    await runD2(['status'], { cwd: dir });
    const quiet = lastJson((await runD2(['status', '--json'], { cwd: dir })).stdout).data;
    expect(quiet.filesChecked).toBe(6);
    expect(quiet.filesHashed).toBe(0);

    const [one] = fs.readdirSync(path.join(dir, 'images')).sort();
    const moved = fs.readdirSync(path.join(dir, 'images', one!)).sort()[0]!;
    fs.writeFileSync(path.join(dir, 'images', one!, 'new.png'), 'not really a png');
    fs.mkdirSync(path.join(dir, 'images', 'other'));
    fs.renameSync(path.join(dir, 'images', one!, moved), path.join(dir, 'images', 'other', moved));
    const st = lastJson((await runD2(['status', '--json'], { cwd: dir })).stdout).data;
    expect(st.sources[0].notAdded).toEqual({ added: [`${one}/new.png`], modified: [], deleted: [], renamed: [{ from: `${one}/${moved}`, to: `other/${moved}` }] });
    expect(st.filesHashed).toBe(1 + 1);

    // re-adding takes the new folder as the moved file's label
    const add = lastJson((await runD2(['add', '--all', '--json'], { cwd: dir })).stdout).data;
    expect(add.sources[0].changes).toMatchObject({ added: 1, renamed: 1, relabelled: 1 });
    const text = await runD2(['status'], { cwd: dir });
    expect(text.stdout).toContain(`relabelled: other/${moved}  ${one} → other (moved from ${one}/${moved})`);
  });

  it('keeps hand-made relabels when a dirname source is added again', async () => {
    const dir = await newProject();
    const files = copyFixtureImages(path.join(dir, 'images'), { perClass: 2, classes: 2 });
    await runD2(['add', 'images', '--labels', 'dirname'], { cwd: dir });
    const labelsFile = path.join(dir, 'd2.sources', 'images.labels.csv');
    fs.writeFileSync(labelsFile, fs.readFileSync(labelsFile, 'utf8').replace(`${files[0]},`, `${files[0]},special\nX`).replace(/\nX\w+\n/, '\n'));
    await runD2(['add', 'images'], { cwd: dir });
    expect(fs.readFileSync(labelsFile, 'utf8')).toContain(`${files[0]},special`);
  });

  it('takes labels from a CSV and reports rows that name no file', async () => {
    const dir = await newProject();
    writeFiles(dir, { 'scans/a.png': 'a', 'scans/b.png': 'b', 'scans/c.png': 'c', 'labels.csv': 'path,label,notes\na.png,cat,x\nb.png,dog,\nzzz.png,cat,\n' });
    const r = await runD2(['add', 'scans', '--labels', 'labels.csv', '--json'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    const s = lastJson(r.stdout).data.sources[0];
    expect(s).toMatchObject({ items: 3, labelled: 2, unlabelled: 1 });
    expect(s.warnings).toContain("1 row(s) of 'labels.csv' name files that are not in the source, e.g. 'zzz.png'");
    expect(fs.readFileSync(path.join(dir, 'd2.sources', 'scans.labels.csv'), 'utf8')).toBe('path,label\na.png,cat\nb.png,dog\n');
    await runD2(['commit', '-m', 'scans'], { cwd: dir });
    expect((await git(['ls-files'], dir)).stdout).toContain('labels.csv');
  });
});

describe('bad input', { tags: ['slow'] }, () => {
  it('a misspelt manifest key: file, line, column and a suggestion, exit 1', async () => {
    const dir = await newProject();
    fs.writeFileSync(path.join(dir, 'd2.yaml'), 'version: 1\nsources:\n  a:\n    path: data\n    lables: dirname\n');
    const r = await runD2(['status'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe("error: d2.yaml:5:5: unknown key 'lables' in 'sources.a' (did you mean 'labels'?)\nhint: fix d2.yaml (every key is described in docs/manifest.md)\n");
    const j = lastJson((await runD2(['status', '--json'], { cwd: dir })).stdout);
    expect(j).toMatchObject({ type: 'error', error: { code: 'ManifestInvalid', data: { issues: [{ line: 5, col: 5, didYouMean: 'labels' }] } } });
  });

  it('invalid YAML names the position', async () => {
    const dir = await newProject();
    fs.writeFileSync(path.join(dir, 'd2.yaml'), 'version: 1\nsources: [\n');
    const r = await runD2(['add', '--all'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^error: d2\.yaml:\d+:\d+: invalid YAML/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
  });

  it('a path outside the project is refused unless --external', async () => {
    const dir = await newProject();
    const outside = tempDir();
    writeFiles(outside, { 'x/1.png': '1' });
    const r = await runD2(['add', path.join(outside, 'x')], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^error: '.*x' is outside the project '.*'\nhint: add it explicitly with --external if you mean it\n$/);
    const ok = await runD2(['add', path.join(outside, 'x'), '--external', '--json'], { cwd: dir });
    expect(ok.exitCode).toBe(0);
    expect(lastJson(ok.stdout).data.sources[0].items).toBe(1);
  });

  it('a symlink loop is reported and not followed; the rest is added', async () => {
    const dir = await newProject();
    writeFiles(dir, { 'data/a/1.png': '1' });
    fs.symlinkSync('..', path.join(dir, 'data/a/loop'));
    const r = await runD2(['add', 'data', '--json'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(lastJson(r.stdout).data.sources[0]).toMatchObject({ items: 1, warnings: expect.arrayContaining([expect.stringMatching(/symbolic link loop: 'a\/loop'/)]) });
    expect((await runD2(['fsck'], { cwd: dir })).exitCode).toBe(0);
  });

  it('an unreadable file stops the add, records nothing, and the store stays consistent', async () => {
    const dir = await newProject();
    writeFiles(dir, { 'data/a/1.png': '1', 'data/a/2.png': '2' });
    fs.chmodSync(path.join(dir, 'data/a/2.png'), 0o000);
    const r = await runD2(['add', 'data'], { cwd: dir, noPermissionBypass: true });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/\nerror: source 'data': cannot read 'a\/2\.png': EACCES\nhint: fix or remove these files/);
    expect(fs.existsSync(path.join(dir, 'd2.sources'))).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8')).toMatch(/^sources: \{\}$/m);
    expect((await runD2(['fsck'], { cwd: dir })).exitCode).toBe(0);
  });

  it('a second d2 waits for the lock, names the holder, then gives up', async () => {
    const dir = await newProject();
    writeFiles(dir, { 'data/a/1.png': '1' });
    fs.writeFileSync(path.join(dir, '.d2', 'lock'), JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), command: 'd2 build', started: new Date().toISOString(), token: 't' }));
    const r = await runD2(['add', 'data', '--lock-timeout', '1'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/waiting for the store lock: held by pid \d+ on '.*' \('d2 build', started \d+ s ago\)/);
    expect(r.stderr).toMatch(/error: store is locked by pid \d+ .*gave up after 1 s\nhint: wait for it to finish/);
    fs.rmSync(path.join(dir, '.d2', 'lock'));
    expect((await runD2(['add', 'data'], { cwd: dir })).exitCode).toBe(0);
  });

  it('outside a project: a clear error and the next step', async () => {
    const dir = tempDir();
    const r = await runD2(['status'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    // (the error line is folded at 100 columns when the folder's path is long)
    expect(r.stderr).toMatch(/^error: not a d2 project [^]*\nhint: run 'd2 init' to start one here\n$/);
  });

  it('usage errors exit 1 with a suggestion; --help has examples; exit 0', async () => {
    const dir = tempDir();
    const typo = await runD2(['stauts'], { cwd: dir });
    expect(typo.exitCode).toBe(1);
    expect(typo.stderr).toMatch(/^error: unknown command 'stauts' \(did you mean 'status'\?\)\n/);
    for (const cmd of ['init', 'add', 'status', 'commit', 'log', 'fsck', 'remote', 'push', 'pull', 'gc', 'note', 'exp', 'restore', 'suggest', 'report']) {
      const help = await runD2([cmd, '--help'], { cwd: dir });
      expect(help.exitCode).toBe(0);
      expect(help.stdout).toMatch(/Examples:\n {2}\$ (d2|git clone) /);
    }
    // help read by a reader that stops early (| head -1): no EPIPE crash
    const piped = await execa('bash', ['-c', `"${process.execPath}" "${D2_BIN}" --help | head -1; echo "status \${PIPESTATUS[0]}" >&2`], { cwd: dir, env: TEST_ENV, reject: false });
    expect(String(piped.stderr)).not.toContain('EPIPE');
    expect(String(piped.stderr)).toMatch(/status 0\n?$/);
    const json = await runD2(['add', '--bogus', '--json'], { cwd: dir });
    expect(lastJson(json.stdout)).toMatchObject({ type: 'error', error: { code: 'InvalidArgument' } });
  });
});

describe('fsck', { tags: ['slow'] }, () => {
  it('finds a damaged object, exits 3, and --repair lets d2 add restore it', async () => {
    const dir = await newProject();
    writeFiles(dir, { 'data/a/1.png': 'one', 'data/a/2.png': 'two' });
    await runD2(['add', 'data'], { cwd: dir });
    const objects = path.join(dir, '.d2', 'objects');
    const shard = fs.readdirSync(objects).sort()[0]!;
    const victim = path.join(objects, shard, fs.readdirSync(path.join(objects, shard))[0]!);
    fs.chmodSync(victim, 0o644);
    fs.writeFileSync(victim, 'garbage');
    const bad = await runD2(['fsck', '--json'], { cwd: dir });
    expect(bad.exitCode).toBe(3);
    const res = lastJson(bad.stdout).data;
    expect(res.ok).toBe(false);
    expect(res.problems[0]).toMatchObject({ problem: 'corrupt' });
    expect((await runD2(['fsck', '--repair'], { cwd: dir })).exitCode).toBe(3);
    expect(fs.existsSync(victim)).toBe(false);
    await runD2(['add', '--all'], { cwd: dir });
    // a re-add restores objects that are referenced but missing, even when the stat cache vouches for the file
    expect((await runD2(['fsck'], { cwd: dir })).exitCode).toBe(0);
  });
});
