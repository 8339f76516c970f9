/** End-to-end: `d2 build` through the real bin/d2 — train, record, reuse, reproduce, resume. */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parseLock } from '../manifest/index.js';
import { copyFixtureImages, D2_BIN, git, lastJson, runD2, tempDir, TEST_ENV } from '../testing/index.js';

function setModel(dir: string, model: string): void {
  const file = path.join(dir, 'd2.yaml');
  fs.writeFileSync(file, `${fs.readFileSync(file, 'utf8').replace(/\nmodel:[\s\S]*$/, '')}\nmodel:\n${model}\n`);
}

function jsonLines(stdout: string): any[] {
  return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

async function project(perClass: number, classes: number, model: string): Promise<string> {
  const dir = tempDir('d2-build-');
  expect((await runD2(['init'], { cwd: dir })).exitCode).toBe(0);
  copyFixtureImages(path.join(dir, 'img'), { perClass, classes });
  expect((await runD2(['add', 'img', '--labels', 'dirname'], { cwd: dir })).exitCode).toBe(0);
  setModel(dir, model);
  return dir;
}

describe('d2 build', { tags: ['slow'] }, () => {
  it('trains, reports epochs as JSON lines, writes d2.lock, reuses an identical build, and reproduces it bit for bit', async () => {
    const dir = await project(12, 4, '  preset: fast\n  seed: 3');
    const first = await runD2(['build', '--json'], { cwd: dir });
    expect(first.exitCode, first.stderr).toBe(0);
    const lines = jsonLines(first.stdout);
    const epochs = lines.filter((l) => l.type === 'progress' && l.phase === 'train' && l.loaded > 0);
    const result = lines.at(-1);
    expect(result).toMatchObject({ type: 'result', command: 'build', data: { reused: false, lockWritten: true, commit: null } });
    const b = result.data.build;
    expect(epochs.length).toBe(b.epochs);
    expect(epochs[0].detail).toMatchObject({ loss: expect.any(Number), valLoss: expect.any(Number) });
    expect(b).toMatchObject({ kind: 'd2-build', preset: 'fast', seed: 3, classes: expect.any(Array), engine: expect.stringMatching(/^wasm@/) });
    expect(b.history).toHaveLength(b.epochs);
    // metrics are computed from stored predictions: counts match the dataset's splits
    expect(b.metrics.test.count).toBe(result.data.data.counts.test.total);
    expect(b.metrics.test.accuracy).toBeGreaterThanOrEqual(0);

    const { lock, problems } = parseLock(fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8'));
    expect(problems).toEqual([]);
    expect(lock!.model.oid).toBe(b.model);
    expect(lock!.evaluation).toBe(b.evaluation);
    expect(lock!.metrics.test!.count).toBe(b.metrics.test.count);

    // nothing changed: reused, no training, same lock
    const again = lastJson((await runD2(['build', '--json'], { cwd: dir })).stdout);
    expect(again.data).toMatchObject({ reused: true, lockWritten: false });
    expect(again.data.build.model).toBe(b.model);

    // trained again from scratch, in this thread and on two workers: the same bytes
    const forced = lastJson((await runD2(['build', '--json', '--force', '--workers', '0'], { cwd: dir })).stdout);
    expect(forced.data.reused).toBe(false);
    expect(forced.data.build.model).toBe(b.model);
    expect(forced.data.lockWritten).toBe(false);
    const parallel = lastJson((await runD2(['build', '--json', '--force', '--workers', '2'], { cwd: dir })).stdout);
    expect(parallel.data.workers).toBe(2);
    expect(parallel.data.build.model).toBe(b.model);

    // another seed: another model
    setModel(dir, '  preset: fast\n  seed: 4');
    const other = lastJson((await runD2(['build', '--json'], { cwd: dir })).stdout);
    expect(other.data.build.model).not.toBe(b.model);

    // committed with the lock; git accepts the repository; the log shows the model's score
    expect((await runD2(['commit', '-m', 'first model'], { cwd: dir })).exitCode).toBe(0);
    expect((await git(['fsck', '--strict'], dir)).exitCode).toBe(0);
    expect((await git(['show', 'HEAD:d2.lock'], dir)).stdout).toContain(other.data.build.model);
    const log = lastJson((await runD2(['log', '--json'], { cwd: dir })).stdout);
    expect(log.data.commits[0].model).toMatchObject({ oid: other.data.build.model, metrics: { test: { count: b.metrics.test.count } } });
    const text = await runD2(['log'], { cwd: dir });
    expect(text.stdout).toMatch(/model: test acc \d+\.\d%/);

    // the text view
    const view = await runD2(['build'], { cwd: dir });
    expect(view.stdout).toMatch(/^model [0-9a-f]{7} of the working tree is up to date/);
    expect(view.stdout).toMatch(/\n {2}test +accuracy +\d+\.\d%/);
  });

  it('resumes an interrupted build from its last epoch and ends with the same model', async () => {
    const dir = await project(40, 10, '  preset: default\n  seed: 11');
    const child = execa(process.execPath, [D2_BIN, 'build', '--json', '--workers', '0'], { cwd: dir, env: TEST_ENV, reject: false });
    let buffer = '';
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        if (/"phase":"train","loaded":[1-9]/.test(buffer)) resolve();
      });
      void child.then(() => resolve());
    });
    child.kill('SIGINT');
    const stopped = await child;
    expect(stopped.exitCode).toBe(130);
    expect(lastJson(String(stopped.stdout))).toMatchObject({ type: 'error', error: { code: 'Interrupted' } });
    expect(fs.existsSync(path.join(dir, 'd2.lock'))).toBe(false);
    expect(fs.readdirSync(path.join(dir, '.d2', 'state')).some((f) => f.startsWith('checkpoint-'))).toBe(true);

    const resumed = lastJson((await runD2(['build', '--json'], { cwd: dir })).stdout);
    expect(resumed.data.resumedAfterEpoch).toBeGreaterThanOrEqual(1);
    expect(fs.readdirSync(path.join(dir, '.d2', 'state')).some((f) => f.startsWith('checkpoint-'))).toBe(false);
    const fresh = lastJson((await runD2(['build', '--json', '--force'], { cwd: dir })).stdout);
    expect(fresh.data.resumedAfterEpoch).toBeNull();
    expect(fresh.data.build.model).toBe(resumed.data.build.model);
  });

  it('trains with the augmentation d2.yaml declares, says so in d2.lock, and refuses an unknown transform at its line', async () => {
    const dir = await project(6, 2, '  preset: default');
    const plain = lastJson((await runD2(['build', '--json'], { cwd: dir })).stdout);
    expect(plain.data.build.recipe).toContain('shift 1 px');
    expect(plain.data.build.recipe).not.toContain('flip');
    const yaml = fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8');
    fs.writeFileSync(path.join(dir, 'd2.yaml'), yaml.replace('version: 1', 'version: 1\npreprocess:\n  augment:\n    flip: [horizontal]'));
    const flipped = lastJson((await runD2(['build', '--json'], { cwd: dir })).stdout);
    // a declaration that changes training is a new build with other weights
    expect(flipped.data.reused).toBe(false);
    expect(flipped.data.build.key).not.toBe(plain.data.build.key);
    expect(flipped.data.build.model).not.toBe(plain.data.build.model);
    const { lock } = parseLock(fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8'));
    expect(lock!.model.recipe).toContain('flip horizontal');
    expect(lock!.model.recipe).toContain('shift 1 px');
    // translations declared off: no shift, only the mirror
    fs.writeFileSync(path.join(dir, 'd2.yaml'), yaml.replace('version: 1', 'version: 1\npreprocess:\n  augment:\n    translate: false\n    flip: [horizontal]'));
    const still = lastJson((await runD2(['build', '--json'], { cwd: dir })).stdout);
    expect(still.data.build.recipe).not.toContain('shift');
    fs.writeFileSync(path.join(dir, 'd2.yaml'), yaml.replace('version: 1', 'version: 1\npreprocess:\n  augment:\n    flip: [diagonal]'));
    const bad = await runD2(['build'], { cwd: dir });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/^error: d2\.yaml:\d+:\d+: 'preprocess\.augment\.flip\.0' must be one of "horizontal", "vertical", got\s+'diagonal'/);
  });

  it('refuses a blocked dataset and an unknown engine, and names the fix', async () => {
    const dir = await project(3, 2, '  preset: fast');
    fs.writeFileSync(path.join(dir, 'tests.csv'), 'path,label\nimg/nope.png,bag\n');
    fs.writeFileSync(path.join(dir, 'd2.yaml'), fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8').replace('version: 1', 'version: 1\ndataset:\n  modelTests: tests.csv'));
    const blocked = await runD2(['build', '--json'], { cwd: dir });
    expect(blocked.exitCode).toBe(1);
    expect(lastJson(blocked.stdout).error).toMatchObject({ code: 'DatasetBlocked', hint: expect.stringContaining('d2 data') });
    const engine = await runD2(['build', '--engine', 'tpu'], { cwd: dir });
    expect(engine.exitCode).toBe(1);
    expect(engine.stderr).toContain("unknown engine 'tpu'");
    // an optional native engine that is not installed: a clear error with the one command that enables it
    fs.writeFileSync(path.join(dir, 'd2.yaml'), fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8').replace('dataset:\n  modelTests: tests.csv\n', ''));
    const native = await runD2(['build', '--engine', 'node', '--json'], { cwd: dir });
    expect(native.exitCode).toBe(1);
    expect(lastJson(native.stdout).error).toMatchObject({ code: 'EngineUnavailable', hint: 'npm install @tensorflow/tfjs-node' });
  });
});
