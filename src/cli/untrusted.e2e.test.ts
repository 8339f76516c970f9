/**
 * End-to-end: a cloned repository and a remote are untrusted input (docs/security.md). A
 * malicious repository suite — each case a repository crafted the way an attacker would, then
 * cloned with the real git CLI and used with the real bin/d2 — requires a clear error naming
 * what was wrong, exit 1, and nothing written outside the project. Also: every problem of a
 * dataset reported in one run, and a d2.lock that is a function of its inputs.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyFixtureImages, git, lastJson, runD2, tempDir } from '../testing/index.js';

const sha = (b: string | Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

async function ok(args: string[], cwd: string): Promise<any> {
  const r = await runD2([...args, '--json'], { cwd });
  expect(r.exitCode, `d2 ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
  return lastJson(r.stdout).data;
}

/** A project with 3 classes × 2 images, committed and pushed to a folder remote. */
async function origin(): Promise<{ dir: string; remote: string; root: string }> {
  const root = tempDir('d2-untrusted-');
  const dir = path.join(root, 'origin');
  const remote = path.join(root, 'remote');
  fs.mkdirSync(dir);
  fs.mkdirSync(remote);
  await ok(['init'], dir);
  copyFixtureImages(path.join(dir, 'img'), { perClass: 2, classes: 3 });
  await ok(['add', 'img', '--labels', 'dirname'], dir);
  await ok(['remote', 'add', 'origin', remote], dir);
  await ok(['commit', '-m', 'first'], dir);
  await ok(['push'], dir);
  return { dir, remote, root };
}

/** Put bytes on the folder remote as an object (as a malicious remote would serve them). */
function putRemote(remote: string, bytes: string | Buffer, oid = sha(bytes)): string {
  const file = path.join(remote, 'objects', oid.slice(0, 2), oid.slice(2));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  return oid;
}

/** Commit the origin's working tree as it is now, with the real git CLI. */
async function commitAll(dir: string, message: string): Promise<void> {
  expect((await git(['add', '-A'], dir)).exitCode).toBe(0);
  const r = await git(['commit', '-q', '-m', message], dir);
  expect(r.exitCode, r.stderr).toBe(0);
}

async function cloneOf(o: { dir: string; root: string }, name = 'victim'): Promise<string> {
  const to = path.join(o.root, name);
  const r = await git(['clone', '-q', o.dir, to], o.root);
  expect(r.exitCode, r.stderr).toBe(0);
  return to;
}

function snapshotFile(dir: string): string {
  return path.join(dir, 'd2.sources', 'img.yaml');
}

function setListing(dir: string, oid: string): void {
  const file = snapshotFile(dir);
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^listing: [0-9a-f]{64}$/m, `listing: ${oid}`));
}

async function failsWith(args: string[], cwd: string, code: string, pattern?: RegExp): Promise<any> {
  const r = await runD2([...args, '--json'], { cwd });
  expect(r.exitCode, `d2 ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(1);
  const e = lastJson(r.stdout).error;
  expect(e.code, JSON.stringify(e)).toBe(code);
  if (pattern) expect(e.message).toMatch(pattern);
  return e;
}

describe('a malicious repository or remote', () => {
  it("a listing path '../../../escape-proof.txt' is refused on pull, and nothing is written outside", async () => {
    const o = await origin();
    const payload = 'written by a crafted listing\n';
    const item = putRemote(o.remote, payload);
    const listing = `d2-listing 1\n${item} ${payload.length} ../../../escape-proof.txt\n`;
    setListing(o.dir, putRemote(o.remote, listing));
    await commitAll(o.dir, 'crafted listing');
    const victim = await cloneOf(o);
    await failsWith(['pull'], victim, 'SnapshotInvalid', /unsafe path|\.\./);
    for (const up of ['..', '../..', '../../..']) expect(fs.existsSync(path.resolve(victim, 'img', up, 'escape-proof.txt'))).toBe(false);
  });

  it('a crafted oid in a listing row is refused before it names a file', async () => {
    const o = await origin();
    const listing = `d2-listing 1\n../../../../../tmp/x${'a'.repeat(45)} 5 shirt/a.png\n`;
    setListing(o.dir, putRemote(o.remote, listing));
    await commitAll(o.dir, 'crafted oid in a listing');
    await failsWith(['pull'], await cloneOf(o), 'SnapshotInvalid', /line 2/);
  });

  it('a crafted oid in a snapshot file is refused, naming the file', async () => {
    const o = await origin();
    const file = snapshotFile(o.dir);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^listing: [0-9a-f]{64}$/m, 'listing: ../../../../etc/passwd'));
    await commitAll(o.dir, 'crafted snapshot');
    const victim = await cloneOf(o);
    const e = await failsWith(['status'], victim, 'SnapshotInvalid');
    expect(e.message).toContain('d2.sources/img.yaml');
    await failsWith(['pull'], victim, 'SnapshotInvalid');
  });

  it('a labels CSV with ../ and absolute paths is refused with its lines', async () => {
    const o = await origin();
    const csv = path.join(o.dir, 'd2.sources', 'img.labels.csv');
    fs.appendFileSync(csv, '../outside.png,bag\n/etc/passwd,bag\n');
    await commitAll(o.dir, 'crafted labels');
    const e = await failsWith(['data'], await cloneOf(o), 'LabelsInvalid');
    const all = JSON.stringify(e.data);
    expect(all).toContain('../outside.png');
    expect(all).toContain('/etc/passwd');
  });

  it('a d2.yaml source outside the project is refused at its line (unless declared external)', async () => {
    const o = await origin();
    const yaml = path.join(o.dir, 'd2.yaml');
    fs.writeFileSync(yaml, fs.readFileSync(yaml, 'utf8').replace(/path: img$/m, 'path: ../../somewhere'));
    await commitAll(o.dir, 'source outside');
    const e = await failsWith(['status'], await cloneOf(o), 'ManifestInvalid');
    expect(e.message).toMatch(/^d2\.yaml:\d+:\d+: /);
    expect(e.message).toContain('../../somewhere');
  });

  it('a crafted oid in d2.lock makes gc --prune refuse to delete anything', async () => {
    const o = await origin();
    const lock = [
      'format: 1', `dataset: ${'a'.repeat(64)}`, 'classes: [a, b]',
      `preprocess: { modality: image, config: ${'b'.repeat(64)}, derived: true, steps: [], shape: [28, 28, 1] }`,
      'model: { oid: ../../../../tmp/pwned, build: x, preset: fast, seed: 0, architecture: x, engine: wasm, trainer: t, epochs: 1, stopped: maxEpochs }',
      `evaluation: ${'c'.repeat(64)}`, 'metrics: {}', '',
    ].join('\n');
    fs.writeFileSync(path.join(o.dir, 'd2.lock'), lock);
    await commitAll(o.dir, 'crafted lock');
    const victim = await cloneOf(o);
    await ok(['pull'], victim);
    const before = fs.readdirSync(path.join(victim, '.d2', 'objects')).length;
    await failsWith(['gc', '--prune'], victim, 'LockInvalid', /d2\.lock/);
    expect(fs.readdirSync(path.join(victim, '.d2', 'objects')).length).toBe(before);
  });

  it('pull does not write working files through a committed symbolic link', async () => {
    const o = await origin();
    const outside = path.join(o.root, 'outside');
    fs.mkdirSync(outside);
    // the source folder becomes a link to a folder outside the project
    fs.rmSync(path.join(o.dir, 'img'), { recursive: true });
    fs.symlinkSync(outside, path.join(o.dir, 'img'));
    const gi = path.join(o.dir, '.gitignore');
    fs.writeFileSync(gi, fs.readFileSync(gi, 'utf8').replace(/^\/img\/$/m, ''));
    await commitAll(o.dir, 'img is a link');
    const victim = await cloneOf(o);
    expect(fs.lstatSync(path.join(victim, 'img')).isSymbolicLink()).toBe(true);
    const e = await failsWith(['pull'], victim, 'UnsafePath', /'img'/);
    expect(e.hint).toMatch(/real folders/);
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it('a remote object whose bytes do not match its name is refused, and the store stays sound', async () => {
    const o = await origin();
    const victim = await cloneOf(o);
    const objects = path.join(o.remote, 'objects');
    const shard = fs.readdirSync(objects).find((s) => /^[0-9a-f]{2}$/.test(s))!;
    const name = fs.readdirSync(path.join(objects, shard))[0]!;
    const file = path.join(objects, shard, name);
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(file, 'not what the name says');
    const r = await runD2(['pull', '--json'], { cwd: victim });
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).toContain(`${shard}${name}`.slice(0, 12));
    expect(fs.existsSync(path.join(victim, '.d2', 'objects', shard, name))).toBe(false);
    // nothing corrupt entered the store: fsck finds the object missing (the remote's copy is
    // bad), never a damaged one
    const check = await runD2(['fsck', '--json'], { cwd: victim });
    const problems = lastJson(check.stdout).data.problems as { problem: string }[];
    expect(problems.filter((p) => p.problem === 'corrupt')).toEqual([]);
    expect(problems.length).toBeGreaterThan(0);
  });
});

describe('every problem at once', () => {
  it('six bad images and a label conflict are all named in one run', async () => {
    const dir = tempDir('d2-six-bad-');
    await ok(['init'], dir);
    copyFixtureImages(path.join(dir, 'img'), { perClass: 3, classes: 3 });
    const png = fs.readFileSync(path.join(dir, 'img', fs.readdirSync(path.join(dir, 'img'))[0]!, fs.readdirSync(path.join(dir, 'img', fs.readdirSync(path.join(dir, 'img'))[0]!))[0]!));
    const badCrc = Buffer.from(png);
    badCrc[30] = (badCrc[30]! + 1) & 0xff;
    const huge = Buffer.from(png.subarray(0, 33));
    huge.writeUInt32BE(60000, 16);
    huge.writeUInt32BE(60000, 20);
    const bad: Record<string, Buffer | string> = {
      'empty.png': Buffer.alloc(0),
      'truncated.png': png.subarray(0, 40),
      'badcrc.png': badCrc,
      'text.png': 'just some text, not an image\n',
      'page.jpg': '<!doctype html><html><body>404</body></html>\n',
      'huge.png': huge,
    };
    const cls = fs.readdirSync(path.join(dir, 'img')).sort();
    for (const [name, bytes] of Object.entries(bad)) fs.writeFileSync(path.join(dir, 'img', cls[0]!, name), bytes);
    // the same content under two classes: a label conflict
    fs.copyFileSync(path.join(dir, 'img', cls[1]!, fs.readdirSync(path.join(dir, 'img', cls[1]!))[0]!), path.join(dir, 'img', cls[2]!, 'copy.png'));
    await ok(['add', 'img', '--labels', 'dirname'], dir);
    const json = await runD2(['data', '--json'], { cwd: dir });
    expect(json.exitCode).not.toBe(0);
    const e = lastJson(json.stdout).error;
    const text = JSON.stringify(e.data.problems);
    for (const name of Object.keys(bad)) expect(text).toContain(name);
    expect(e.data.datasetProblems.length).toBeGreaterThan(0);
    expect(JSON.stringify(e.data.datasetProblems)).toMatch(/conflict/i);
    const plain = await runD2(['data'], { cwd: dir });
    for (const name of Object.keys(bad)) expect(plain.stderr).toContain(name);
    expect(plain.stderr).toMatch(/conflict/i);
    for (const line of plain.stderr.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });
});

describe('d2.lock', () => {
  it('is byte-identical in two fresh projects built from the same data', async () => {
    const locks: string[] = [];
    for (const name of ['one', 'two']) {
      const dir = tempDir(`d2-lock-${name}-`);
      await ok(['init'], dir);
      copyFixtureImages(path.join(dir, 'img'), { perClass: 6, classes: 3 });
      await ok(['add', 'img', '--labels', 'dirname'], dir);
      fs.appendFileSync(path.join(dir, 'd2.yaml'), '\nmodel:\n  preset: fast\n  seed: 3\n');
      await ok(['build'], dir);
      locks.push(fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8'));
    }
    expect(locks[1]).toBe(locks[0]);
  });
});
