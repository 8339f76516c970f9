/**
 * The first hour of a new data manager or CI engineer (issue 24), end to end with the real
 * `bin/d2`, `git` and, for the interactive view, a pseudo-terminal (`script`): each test is one
 * item of the issue — what tripped the user, and what d2 says or does now.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { D2_BIN, FIXTURE_IMAGES, git, lastJson, REPO_ROOT, runD2, tempDir, TEST_ENV, writeFiles, type RunResult } from '../testing/index.js';

const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;
const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;

/** Copy `perClass` fixture images of each class into `dest/<class>/`. */
function copyClasses(dest: string, classes: readonly string[], perClass: number): void {
  for (const cls of classes) {
    fs.mkdirSync(path.join(dest, cls), { recursive: true });
    for (const f of fs.readdirSync(path.join(FIXTURE_IMAGES, cls)).sort().slice(0, perClass)) {
      fs.copyFileSync(path.join(FIXTURE_IMAGES, cls, f), path.join(dest, cls, f));
    }
  }
}

/** A fixture image not among the first `perClass` of its class (a new file for a source). */
function anotherImage(cls: string, perClass: number): string {
  return path.join(FIXTURE_IMAGES, cls, fs.readdirSync(path.join(FIXTURE_IMAGES, cls)).sort()[perClass]!);
}

async function ok(args: string[], cwd: string, env?: Record<string, string>): Promise<RunResult> {
  const r = await runD2(args, { cwd, ...(env ? { env } : {}) });
  expect(r.exitCode, `d2 ${args.join(' ')}\n${r.stderr}${r.stdout}`).toBe(0);
  return r;
}

interface ProjectOptions {
  classes?: string[];
  perClass?: number;
  /** Add with '--labels dirname' (default true). */
  labels?: boolean;
  /** Commit after adding (default true). */
  commit?: boolean;
  /** Lines appended to d2.yaml before the commit. */
  yaml?: string;
}

/** The small project: 3 classes × 20 Fashion-MNIST images in images/<class>/, added and committed. */
async function newProject(o: ProjectOptions = {}): Promise<string> {
  const dir = tempDir('d2-first-hour-');
  await ok(['init'], dir);
  copyClasses(path.join(dir, 'images'), o.classes ?? ['bag', 'sneaker', 'trouser'], o.perClass ?? 20);
  await ok(['add', 'images', ...(o.labels === false ? [] : ['--labels', 'dirname'])], dir);
  if (o.yaml) fs.appendFileSync(path.join(dir, 'd2.yaml'), `\n${o.yaml}\n`);
  if (o.commit !== false) await ok(['commit', '-m', 'images'], dir);
  return dir;
}

/** Lines of a command's output, without colour codes. */
function lines(text: string): string[] {
  return text.replace(ANSI, '').split(/\r?\n/);
}

/** Run d2 at a pseudo-terminal 100 columns wide (stdout and stderr both the terminal). */
async function atTerminal(args: string, cwd: string, env: Record<string, string> = {}): Promise<string> {
  const { CI: _ci, ...rest } = TEST_ENV;
  const r = await execa('script', ['-qec', `stty cols 100 rows 40; ${process.execPath} ${D2_BIN} ${args}`, '/dev/null'], {
    cwd, env: { ...rest, NO_COLOR: '', ...env, TERM: 'xterm' }, extendEnv: false, reject: false,
  });
  return String(r.stdout);
}

describe('the first hour (issue 24)', { tags: ['slow'] }, () => {
  it('1. Ctrl-C stops a short build within a batch, says that a rerun resumes, and the rerun does', async () => {
    const dir = await newProject();
    // Given a build of 60 images training in this thread, when SIGINT arrives after its first epoch
    const child = spawn(process.execPath, [D2_BIN, 'build'], { cwd: dir, env: { ...process.env, ...TEST_ENV } });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && /epoch 1\/\d+/.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    // then it stops (130), nothing is recorded, and the message says what a rerun does
    expect(sent).toBe(true);
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/error: training interrupted after epoch \d+/);
    expect(stderr).toMatch(/hint: run the same command again: training resumes after epoch \d+/);
    expect(fs.existsSync(path.join(dir, 'd2.lock'))).toBe(false);
    const again = await ok(['build'], dir);
    expect(again.stdout).toMatch(/built model [0-9a-f]{7} of the working tree \(resumed after epoch \d+\)/);

    // The library: an abort from a timer (not from inside a callback) ends build({ signal })
    const script = path.join(dir, 'abort.mjs');
    fs.writeFileSync(script, `
      import { build } from ${JSON.stringify(pathToFileURL(path.join(REPO_ROOT, 'dist', 'index.js')).href)};
      const controller = new AbortController();
      let timer = false;
      try {
        await build({ dir: ${JSON.stringify(dir)}, force: true, signal: controller.signal,
          onEpoch: () => { if (!timer) { timer = true; setTimeout(() => controller.abort(), 0); } } });
        console.log('finished');
      } catch (e) {
        console.log(e.code, e.data.epochsDone > 0);
      }
    `);
    const lib = await execa(process.execPath, [script], { cwd: dir, env: TEST_ENV, reject: false });
    expect(String(lib.stdout).trim()).toBe('Interrupted true');
  });

  it('2. a fresh clone works like a project: the store is made on first use, and missing data says d2 pull', async () => {
    const origin = await newProject();
    const clone = path.join(tempDir('d2-clone-'), 'clone');
    expect((await git(['clone', '-q', origin, clone], path.dirname(clone))).exitCode).toBe(0);
    // status: the data is not here; the next step is d2 pull (never fsck)
    const st = await ok(['status'], clone);
    expect(st.stdout).toContain("run 'd2 pull'");
    expect(st.stdout + st.stderr).not.toContain('fsck');
    expect(lastJson((await ok(['status', '--json'], clone)).stdout).data.sources[0].missingListing).toMatch(/^[0-9a-f]{64}$/);
    // build, data, add --all: a user error naming d2 pull, not an internal error (exit 2)
    for (const args of [['build'], ['data'], ['add', '--all']]) {
      const r = await runD2(args, { cwd: clone });
      expect(r.exitCode, `d2 ${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).not.toContain('internal error');
      expect(r.stderr).toContain("'d2 pull'");
    }
    expect(fs.existsSync(path.join(clone, '.d2', 'objects'))).toBe(true);
  });

  it('3. a CSV table source is kept out of git', async () => {
    const dir = tempDir('d2-table-');
    await ok(['init'], dir);
    const rows = Array.from({ length: 120 }, (_, i) => `${i},${50 + i},${1 + (i % 4)},${['low', 'mid', 'high'][i % 3]}`);
    writeFiles(dir, { 'data/houses.csv': `id,area,rooms,band\n${rows.join('\n')}\n` });
    await ok(['add', 'data/houses.csv', '--label-column', 'band', '--id-column', 'id'], dir);
    expect(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8').split('\n')).toContain('/data/houses.csv');
    const staged = (await git(['add', '-A', '--dry-run'], dir)).stdout;
    expect(staged).not.toContain('houses.csv');
    expect(staged).toContain('d2.sources/houses.yaml');
  });

  it('4. status agrees with commit: an untracked d2.lock, a labels file with a duplicate row', async () => {
    const dir = await newProject({ yaml: 'model:\n  preset: fast' });
    await ok(['build'], dir);
    const st = lastJson((await ok(['status', '--json'], dir)).stdout).data;
    expect(st.clean).toBe(false);
    expect(st.d2Files).toEqual([{ path: 'd2.lock', change: 'added' }]);
    expect((await ok(['status'], dir)).stdout).toContain('d2.lock: new');
    expect(lastJson((await ok(['commit', '-m', 'model', '--json'], dir)).stdout).data.changed).toEqual(['d2.lock']);
    expect(lastJson((await ok(['status', '--json'], dir)).stdout).data.clean).toBe(true);
    // a hand-edited labels file: a row repeated changes no label, but it is a change to commit
    const labels = path.join(dir, 'd2.sources', 'images.labels.csv');
    const text = fs.readFileSync(labels, 'utf8');
    fs.writeFileSync(labels, `${text}${text.split('\n')[1]}\n`);
    expect(lastJson((await ok(['status', '--json'], dir)).stdout).data).toMatchObject({ clean: false, d2Files: [{ path: 'd2.sources/images.labels.csv', change: 'modified' }] });
    expect(lastJson((await ok(['commit', '-m', 'labels', '--json'], dir)).stdout).data.changed).toEqual(['d2.sources/images.labels.csv']);
    expect(lastJson((await ok(['status', '--json'], dir)).stdout).data.clean).toBe(true);
    expect((await runD2(['commit', '-m', 'again'], { cwd: dir })).exitCode).toBe(1); // nothing to commit, as status says
  });

  it("5. d2 commit records only d2's files, and says what it left staged", async () => {
    const dir = await newProject({ yaml: 'model:\n  preset: fast' });
    await ok(['build'], dir);
    writeFiles(dir, { 'OTHER.md': 'notes\n', 'docs/deep/more.md': 'more\n' });
    await git(['add', 'OTHER.md', 'docs'], dir);
    const r = await ok(['commit', '-m', 'model'], dir);
    expect(r.stdout).toMatch(/1 file changed:\n {2}d2\.lock\n/);
    expect(r.stdout).toContain('left out of the commit');
    expect(r.stdout).toContain('OTHER.md');
    expect((await git(['show', '--name-only', '--format=', 'HEAD'], dir)).stdout.trim()).toBe('d2.lock');
    // still staged for the user's own commit, and git agrees the repository is sound
    expect((await git(['status', '--porcelain'], dir)).stdout).toBe('A  OTHER.md\nA  docs/deep/more.md');
    expect((await git(['fsck', '--strict'], dir)).exitCode).toBe(0);
    const again = await runD2(['commit', '-m', 'again?', '--json'], { cwd: dir });
    expect(lastJson(again.stdout).error.code).toBe('NothingToCommit'); // nothing of d2's left, whatever git has staged
  });

  it('6. --json of status and commit is one line, even when status reads files; push and data show progress first', async () => {
    const dir = await newProject();
    // make status walk and read: a file changed and one new
    const file = path.join(dir, 'images', 'bag', fs.readdirSync(path.join(dir, 'images', 'bag'))[0]!);
    fs.copyFileSync(anotherImage('bag', 30), file);
    fs.copyFileSync(anotherImage('bag', 31), path.join(dir, 'images', 'bag', 'new.png'));
    const st = await ok(['status', '--json'], dir);
    expect(st.stdout.trim().split('\n')).toHaveLength(1);
    const jq = await execa('sh', ['-c', `${process.execPath} ${D2_BIN} status --json | jq .data.clean`], { cwd: dir, env: TEST_ENV, reject: false });
    expect(String(jq.stdout).trim()).toBe('false');
    const data = await ok(['data', '--json'], dir);
    expect(data.stdout.trim().split('\n').map((l) => JSON.parse(l).type).at(-1)).toBe('result');
  });

  it('7. files never added are counted wherever the working tree dataset is used', async () => {
    const dir = await newProject({ yaml: 'model:\n  preset: fast' });
    await ok(['build'], dir);
    await ok(['commit', '-m', 'model'], dir);
    fs.copyFileSync(anotherImage('bag', 20), path.join(dir, 'images', 'bag', 'new.png'));
    const b = await ok(['build'], dir);
    expect(b.stdout).toContain('is up to date');
    expect(b.stdout).toContain("1 file not added yet (images: 1 new), not in the dataset: run 'd2 add --all'");
    expect(lastJson((await ok(['build', '--json'], dir)).stdout).data.data.filesNotAdded).toEqual([{ source: 'images', added: 1, modified: 0, deleted: 0, renamed: 0 }]);
    expect((await ok(['data'], dir)).stdout).toContain('1 file not added yet');
    expect((await ok(['diff'], dir)).stdout).toContain('1 file not added yet');
    expect(lastJson((await ok(['diff', '--json'], dir)).stdout).data.b.filesNotAdded).toHaveLength(1);
    // a revision's dataset is what was committed: nothing to add there
    expect(lastJson((await ok(['data', '--rev', 'HEAD', '--json'], dir)).stdout).data.filesNotAdded).toEqual([]);
  });

  it('8. d2 restore brings deleted files back from the local store, from a revision too; status points to it', async () => {
    const dir = await newProject();
    const bag = path.join(dir, 'images', 'bag');
    const [first, second] = fs.readdirSync(bag).sort();
    const bytes = fs.readFileSync(path.join(bag, first!));
    fs.rmSync(path.join(bag, first!));
    fs.rmSync(path.join(bag, second!));
    expect((await ok(['status'], dir)).stdout).toContain("'d2 restore' brings them back");
    const one = lastJson((await ok(['restore', `images/bag/${first}`, '--json'], dir)).stdout).data;
    expect(one).toEqual({ commit: null, restored: [{ source: 'images', path: `bag/${first}` }], keptModified: [], notInStore: [] });
    expect(fs.readFileSync(path.join(bag, first!))).toEqual(bytes);
    expect((await ok(['restore'], dir)).stdout).toMatch(/^restored 1 file\n/);
    expect(lastJson((await ok(['status', '--json'], dir)).stdout).data.clean).toBe(true);
    // a changed file is kept unless forced
    fs.writeFileSync(path.join(bag, first!), 'changed');
    expect((await ok(['restore'], dir)).stdout).toContain('--force replaces them');
    await ok(['restore', '--force', 'images/bag'], dir);
    expect(fs.readFileSync(path.join(bag, first!))).toEqual(bytes);
    // from a revision: a file deleted and recorded as deleted comes back as HEAD~1 had it
    fs.rmSync(path.join(bag, first!));
    await ok(['add', '--all'], dir);
    await ok(['commit', '-m', 'one bag less'], dir);
    expect((await runD2(['restore', `images/bag/${first}`], { cwd: dir })).exitCode).toBe(1); // not recorded any more
    await ok(['restore', `images/bag/${first}`, '--rev', 'HEAD~1'], dir);
    expect(fs.readFileSync(path.join(bag, first!))).toEqual(bytes);
  });

  it.skipIf(!HAS_SCRIPT)('9. at a terminal the live progress draws during a short build and fits 100 columns', async () => {
    const dir = await newProject();
    const out = await atTerminal('build', dir);
    const drawn = lines(out);
    expect(drawn.some((l) => /^training .*epoch \d+\/\d+ {2}loss/.test(l)), out).toBe(true);
    expect(drawn.filter((l) => l.length > 100)).toEqual([]);
    expect(drawn.filter((l) => /^\s*(left|·)/.test(l))).toEqual([]); // no wrapped tail of a live line
  });

  it('10. output lines fit 100 columns', async () => {
    const dir = await newProject({ yaml: 'model:\n  preset: fast' });
    // a label conflict: the same bytes in two classes
    fs.copyFileSync(anotherImage('bag', 0), path.join(dir, 'images', 'sneaker', 'copy-of-a-bag-with-a-long-name.png'));
    writeFiles(dir, { 'new-photos/some/deeper/folder/not-an-image-but-a-text-file-with-a-long-name.png': 'hello' });
    const outputs: RunResult[] = [];
    outputs.push(await ok(['add', '--all'], dir));
    outputs.push(await ok(['add', '--help'], dir));
    outputs.push(await ok(['data'], dir));
    outputs.push(await ok(['build'], dir));
    outputs.push(await runD2(['predict', 'new-photos'], { cwd: dir }));
    outputs.push(await ok(['init', 'a-new-project-in-a-folder-with-a-rather-long-name-to-see-the-message-wrap'], dir));
    const long = outputs.flatMap((r) => lines(r.stdout + r.stderr)).filter((l) => l.length > 100 && !l.includes(dir));
    expect(long).toEqual([]);
  });

  it('11. class folders added without --labels: add says so, build says how', async () => {
    const dir = await newProject({ labels: false, commit: false });
    const added = await ok(['add', '--all'], dir);
    expect(added.stdout).toContain("60 items, none labelled: did you mean 'd2 add images --labels dirname'");
    const b = await runD2(['build'], { cwd: dir });
    expect(b.exitCode).toBe(1);
    expect(b.stderr).toContain('the dataset has no items: 60 items, none labelled');
    expect(b.stderr).toContain('--labels dirname');
  });

  it('12. one class is reported by d2 data, and the build refuses with a hint', async () => {
    const dir = await newProject({ classes: ['bag'] });
    const d = await runD2(['data'], { cwd: dir });
    expect(d.exitCode).toBe(3);
    expect(d.stdout).toContain("error: the dataset has one class ('bag'): a classifier needs at least 2");
    const b = await runD2(['build', '--json'], { cwd: dir });
    expect(b.exitCode).toBe(1);
    expect(lastJson(b.stdout).error).toMatchObject({ code: 'DatasetBlocked', hint: expect.stringContaining('d2 data') });
  });

  it('13. hand-edited labels: a misspelt class, two cases of one class, a row for a file not in the source', async () => {
    const dir = await newProject();
    const labels = path.join(dir, 'd2.sources', 'images.labels.csv');
    const rows = fs.readFileSync(labels, 'utf8').trimEnd().split('\n');
    const sneaker = rows.findIndex((r) => r.endsWith(',sneaker'));
    rows[sneaker] = rows[sneaker]!.replace(/,sneaker$/, ',snaeker');
    const bag = rows.findIndex((r) => r.endsWith(',bag'));
    rows[bag] = rows[bag]!.replace(/,bag$/, ',Bag');
    rows.push('bag/not-there.png,bag');
    fs.writeFileSync(labels, `${rows.join('\n')}\n`);
    const problems = lastJson((await ok(['data', '--no-preprocess', '--json'], dir)).stdout).data.problems as { kind: string; didYouMean?: string; labels?: string[]; count?: number }[];
    expect(problems.find((p) => p.kind === 'label-typo')).toMatchObject({ didYouMean: 'sneaker' });
    expect(problems.find((p) => p.kind === 'label-case')).toMatchObject({ labels: ['Bag', 'bag'] });
    expect(problems.find((p) => p.kind === 'label-stray')).toMatchObject({ count: 1 });
    const text = (await ok(['data', '--no-preprocess'], dir)).stdout;
    expect(text).toContain("did you mean 'sneaker'?");
    expect(text).toContain("classes 'Bag' and 'bag' differ only in case");
    expect(text).toContain("'bag/not-there.png'");
  });

  it('14. files that are not images are named at add, with how to leave them out', async () => {
    const dir = tempDir('d2-odd-');
    await ok(['init'], dir);
    copyClasses(path.join(dir, 'images'), ['bag', 'sneaker'], 5);
    writeFiles(dir, { 'images/README.txt': 'about these images\n', 'images/bag/Thumbs.db': 'x' });
    const text = (await ok(['add', 'images', '--labels', 'dirname'], dir)).stdout.replace(/\n\s+/g, ' ');
    expect(text).toContain('2 file(s) are not images and would fail preprocessing (README.txt, Thumbs.db)');
    expect(text).toContain("dataset.filter.excludePaths: ['images/**/*.txt', 'images/**/*.db']");
  });

  it('15. -q keeps the result that was asked for, and drops the chatter', async () => {
    const dir = await newProject({ yaml: 'model:\n  preset: fast' });
    const log = await ok(['-q', 'log'], dir);
    expect(log.stdout).toMatch(/^[0-9a-f]{7} .* images/);
    expect((await ok(['-q', 'status'], dir)).stdout).toContain('nothing to commit');
    const b = await ok(['-q', 'build'], dir);
    expect(b.stdout).toContain('built model');
    expect(b.stderr).toBe('');
  });

  it('16. adding a source folder again under another name is a clear conflict; manifest positions are of the file add would write', async () => {
    const dir = await newProject();
    const r = await runD2(['add', 'images', '-s', 'other', '--json'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(lastJson(r.stdout).error).toMatchObject({ code: 'SourceConflict', message: expect.stringContaining("source 'images'") });
    expect(lastJson(r.stdout).error.message).not.toMatch(/d2\.yaml:\d+/);
    // a folder holding a source's folder: the overlap is reported in the d2.yaml add would write
    fs.mkdirSync(path.join(dir, 'all'));
    fs.renameSync(path.join(dir, 'images'), path.join(dir, 'all', 'images'));
    fs.writeFileSync(path.join(dir, 'd2.yaml'), fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8').replace('path: images', 'path: all/images'));
    const overlap = await runD2(['add', 'all'], { cwd: dir });
    expect(overlap.exitCode).toBe(1);
    expect(overlap.stderr).toContain("d2.yaml (as 'd2 add' would write it):");
  });

  it('17. library: a string where a list goes and an unknown option are errors; docs/api.md says how to install d2', async () => {
    const dir = await newProject({ commit: false });
    const script = path.join(dir, 'lib.mjs');
    fs.writeFileSync(script, `
      import { add, build } from ${JSON.stringify(pathToFileURL(path.join(REPO_ROOT, 'dist', 'index.js')).href)};
      for (const call of [() => add({ dir: ${JSON.stringify(dir)}, paths: 'images' }), () => build({ dir: ${JSON.stringify(dir)}, preset: 'fast' })]) {
        try { await call(); console.log('accepted'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, hint: e.hint })); }
      }
    `);
    const r = await execa(process.execPath, [script], { cwd: dir, env: TEST_ENV, reject: false });
    const [a, b] = String(r.stdout).trim().split('\n').map((l) => JSON.parse(l) as { code: string; message: string; hint: string });
    expect(a).toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining("option 'paths' must be a list") });
    expect(b).toMatchObject({ code: 'InvalidArgument', message: "unknown option 'preset'", hint: expect.stringContaining('model.preset') });
    expect(fs.existsSync(path.join(dir, 'd2.lock'))).toBe(false);
    expect(fs.readFileSync(path.join(REPO_ROOT, 'docs', 'api.md'), 'utf8')).toMatch(/npm install \/path\/to\/d2/);
  });

  it('18. after gc --prune, a revision finds the build of the same key that a commit keeps', async () => {
    // HEAD~1 and HEAD differ only in how the time budget is written: one build key, two records
    const dir = await newProject({ yaml: 'model:\n  timeBudget: 1h' });
    const yaml = path.join(dir, 'd2.yaml');
    fs.writeFileSync(yaml, fs.readFileSync(yaml, 'utf8').replace('timeBudget: 1h', 'timeBudget: 60m'));
    await ok(['build'], dir);
    await ok(['commit', '-m', 'model'], dir);
    await ok(['build', '--rev', 'HEAD~1', '--force'], dir); // a record HEAD~1 never committed
    expect(lastJson((await ok(['gc', '--prune', '--json'], dir)).stdout).data.pointersCleaned).toBeGreaterThan(0);
    const r = await runD2(['predict', 'images/bag', '--rev', 'HEAD~1'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/20 inputs predicted, model [0-9a-f]{7} of [0-9a-f]{7}/);
  });

  it('19. wording: matches, predicted/failed, stopped early, model:, did you mean, FORCE_COLOR=0, an empty test split', async () => {
    const one = await newProject({ classes: ['bag'], perClass: 1 });
    expect((await ok(['status'], one)).stdout).toContain('nothing to commit: 1 file matches the last commit');

    const dir = await newProject({ yaml: 'dataset:\n  split: { train: 0.8, validation: 0.2, test: 0 }' });
    const b = await ok(['build'], dir);
    expect(b.stdout).not.toContain('stopped by validation loss');
    expect(b.stdout).toMatch(/stopped early: validation loss no longer improved|stopped at the preset's epoch limit/);
    expect(b.stdout).toContain('no items: the test split is empty');
    await ok(['commit', '-m', 'model'], dir);
    expect((await ok(['log'], dir)).stdout).toMatch(/ {2}model: val acc \d+\.\d%/);
    writeFiles(dir, { 'notes.txt': 'not an image' });
    const p = await runD2(['predict', 'notes.txt'], { cwd: dir });
    expect(p.exitCode).toBe(3);
    expect(p.stdout).toContain('no input predicted: the input failed');
    const typo = await runD2(['stauts'], { cwd: dir });
    expect(typo.stderr.split('\n')[0]).toBe("error: unknown command 'stauts' (did you mean 'status'?)");
    if (HAS_SCRIPT) {
      fs.copyFileSync(anotherImage('bag', 20), path.join(dir, 'images', 'bag', 'new.png'));
      expect(await atTerminal('status', dir)).toMatch(/\u001b\[3\dm/); // colour at a terminal…
      expect(await atTerminal('status', dir, { FORCE_COLOR: '0' })).not.toMatch(/\u001b\[3\dm/); // …unless FORCE_COLOR=0
    }
  });
});
