/**
 * End-to-end: `d2 diff` through the real bin/d2 — checked against numbers computed here from
 * the stored evaluations; an unbuilt side; a preprocessing change; `--fail-on` exit codes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseEvaluation, type Evaluation } from '../core/evaluation.js';
import { argmaxRows } from '../core/metrics.js';
import { parseLock } from '../manifest/index.js';
import { ObjectStore } from '../store/index.js';
import { copyFixtureImages, git, lastJson, runD2, tempDir } from '../testing/index.js';

const WIDTH = 100;

function evaluationAt(dir: string, lockText: string): Evaluation {
  const { lock } = parseLock(lockText);
  return parseEvaluation(new ObjectStore(dir).readText(lock!.evaluation));
}

/** Per item oid: the predicted label of a stored evaluation. */
function predictedByOid(e: Evaluation): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of Object.values(e.sets)) {
    const p = argmaxRows(s.predictions.probs, e.classes.length);
    s.predictions.oids.forEach((oid, i) => out.set(oid, e.classes[p[i]!]!));
  }
  return out;
}

function setModel(dir: string, yaml: string): void {
  const file = path.join(dir, 'd2.yaml');
  fs.writeFileSync(file, `${fs.readFileSync(file, 'utf8').replace(/\nmodel:[\s\S]*$/, '')}\n${yaml}\n`);
}

describe('d2 diff', { tags: ['slow'] }, () => {
  let dir: string;
  let relabelled: string[];

  beforeAll(async () => {
    dir = tempDir('d2-diff-');
    await runD2(['init'], { cwd: dir });
    copyFixtureImages(path.join(dir, 'img'), { perClass: 30, classes: 4 });
    await runD2(['add', 'img', '--labels', 'dirname'], { cwd: dir });
    setModel(dir, 'model:\n  preset: fast\n  seed: 1');
    expect((await runD2(['build', '-q'], { cwd: dir })).exitCode).toBe(0);
    expect((await runD2(['commit', '-m', 'A'], { cwd: dir })).exitCode).toBe(0);
    // B: twelve items relabelled (to the next class), another seed: another model
    const labelsFile = path.join(dir, 'd2.sources', 'img.labels.csv');
    const lines = fs.readFileSync(labelsFile, 'utf8').trimEnd().split('\n');
    const classes = [...new Set(lines.slice(1).map((l) => l.split(',')[1]!))].sort();
    relabelled = [];
    for (let i = 1; i < lines.length && relabelled.length < 12; i += 9) {
      const [p, label] = lines[i]!.split(',') as [string, string];
      lines[i] = `${p},${classes[(classes.indexOf(label) + 1) % classes.length]}`;
      relabelled.push(p);
    }
    fs.writeFileSync(labelsFile, `${lines.join('\n')}\n`);
    setModel(dir, 'model:\n  preset: fast\n  seed: 2');
    expect((await runD2(['build', '-q'], { cwd: dir })).exitCode).toBe(0);
    expect((await runD2(['commit', '-m', 'B'], { cwd: dir })).exitCode).toBe(0);
  }, 240_000);

  it('diffs two built commits, matching numbers computed from the stored predictions', async () => {
    const r = await runD2(['diff', 'HEAD~1', 'HEAD', '--json', '--limit', '0'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const res = lastJson(r.stdout);
    expect(res).toMatchObject({ type: 'result', command: 'diff', formatVersion: 1, data: { schema: 'd2-diff/1', missing: [] } });
    const d = res.data;
    expect(d.data.relabelledCount).toBe(12);
    expect(d.data.movedCount).toBe(0);
    expect(d.data.manifest).toEqual([{ path: 'model.seed', kind: 'changed', before: 1, after: 2 }]);
    expect(d.a.model.inferred).toBe(0);
    expect(d.b.model.inferred).toBe(0);

    // independently: B's test items with B's labels, both models' stored predictions
    const evA = evaluationAt(dir, (await git(['show', 'HEAD~1:d2.lock'], dir)).stdout);
    const evB = evaluationAt(dir, (await git(['show', 'HEAD:d2.lock'], dir)).stdout);
    const predA = predictedByOid(evA);
    const predB = predictedByOid(evB);
    const test = evB.sets.test!.predictions;
    let rightA = 0;
    let rightB = 0;
    let fixed = 0;
    let broken = 0;
    test.oids.forEach((oid, i) => {
      const truth = evB.classes[test.labels[i]!]!;
      const a = predA.get(oid) === truth;
      const b = predB.get(oid) === truth;
      rightA += a ? 1 : 0;
      rightB += b ? 1 : 0;
      if (!a && b) fixed++;
      if (a && !b) broken++;
    });
    const n = test.oids.length;
    expect(d.behaviour.count).toBe(n);
    expect(d.behaviour.accuracy.before).toBeCloseTo(rightA / n, 12);
    expect(d.behaviour.accuracy.after).toBeCloseTo(rightB / n, 12);
    expect(d.behaviour.fixed).toHaveLength(fixed);
    expect(d.behaviour.broken).toHaveLength(broken);
    expect(d.behaviour.significance).toMatchObject({ fixed, broken, pValue: expect.any(Number) });
    for (const f of [...d.behaviour.fixed, ...d.behaviour.broken]) expect(f.path).toMatch(/^img\//);

    // the text view fits 100 columns
    const text = await runD2(['diff', 'HEAD~1..HEAD', '--limit', '0'], { cwd: dir });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain('relabel');
    expect(text.stdout).toMatch(/accuracy +\d+\.\d% +\d+\.\d%/);
    expect(text.stdout).toContain('McNemar p =');
    for (const line of text.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(WIDTH);

    // --fail-on: nothing changed between a commit and itself; a crossed threshold exits 3
    expect((await runD2(['diff', 'HEAD', 'HEAD', '--fail-on', 'accuracy-drop=0,broken=0,broken-model-tests,moved'], { cwd: dir })).exitCode).toBe(0);
    if (fixed + broken > 0) {
      // whichever direction breaks items crosses broken=0
      const [x, y] = broken > 0 ? ['HEAD~1', 'HEAD'] : ['HEAD', 'HEAD~1'];
      const crossed = await runD2(['diff', x, y, '--fail-on', 'broken=0', '--json'], { cwd: dir });
      expect(crossed.exitCode).toBe(3);
      expect(lastJson(crossed.stdout).data.checks).toEqual([expect.objectContaining({ rule: 'broken=0', failed: true })]);
    }
    const bad = await runD2(['diff', '--fail-on', 'accuracy-rise=1'], { cwd: dir });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("unknown --fail-on rule 'accuracy-rise'");
  });

  it('says when a side is unbuilt, gates CI on it, and builds it with --build', async () => {
    // the working tree: preprocessing changed (20×20) and new images; not built
    copyFixtureImages(path.join(dir, 'more'), { perClass: 40, classes: 4 });
    for (const cls of fs.readdirSync(path.join(dir, 'more'))) {
      const files = fs.readdirSync(path.join(dir, 'more', cls)).sort();
      for (const f of files.slice(0, 30)) fs.rmSync(path.join(dir, 'more', cls, f));
      for (const f of files.slice(30)) fs.renameSync(path.join(dir, 'more', cls, f), path.join(dir, 'img', cls, f));
    }
    expect((await runD2(['add', 'img'], { cwd: dir })).exitCode).toBe(0);
    const file = path.join(dir, 'd2.yaml');
    fs.writeFileSync(file, `${fs.readFileSync(file, 'utf8')}\npreprocess:\n  image:\n    - resize: { width: 20, height: 20 }\n    - channels: 1\n`);
    const lockBefore = fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8');

    const unbuilt = await runD2(['diff', '--json'], { cwd: dir });
    expect(unbuilt.exitCode).toBe(0);
    const u = lastJson(unbuilt.stdout).data;
    expect(u.behaviour).toBeNull();
    expect(u.b.model).toBeNull();
    expect(u.missing).toEqual([expect.objectContaining({ side: 'b', command: expect.stringContaining('d2 build') })]);
    expect(u.data.manifest).toContainEqual(expect.objectContaining({ path: 'preprocess.image', kind: 'added' }));
    const text = await runD2(['diff'], { cwd: dir });
    expect(text.stdout).toContain('working tree has no model');
    expect((await runD2(['diff', '--fail-on', 'accuracy-drop=0.05'], { cwd: dir })).exitCode).toBe(3);

    // --build: B is built with its 20×20 preprocessing; A (28×28) must run on B's new test
    // items through its own preprocessing (a 20×20 input would not even fit its first layer)
    const built = await runD2(['diff', '--build', '--json'], { cwd: dir });
    expect(built.exitCode, built.stderr).toBe(0);
    const b = lastJson(built.stdout).data;
    expect(b.missing).toEqual([]);
    expect(b.a.model.inferred).toBeGreaterThan(0);
    expect(b.a.model.failed).toEqual([]);
    expect(b.b.model.inferred).toBe(0);
    expect(b.behaviour.count).toBe(b.evaluatedOn.items);
    expect(fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8')).toBe(lockBefore);
    // cached: the second diff computes nothing
    const again = lastJson((await runD2(['diff', '--json'], { cwd: dir })).stdout).data;
    expect(again.behaviour).toEqual(b.behaviour);
    expect(again.a.model.inferred).toBe(b.a.model.inferred);
  });

  it('refuses a revision git cannot resolve', async () => {
    const r = await runD2(['diff', 'no-such-rev', '--json'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(lastJson(r.stdout).error.code).toBe('RevNotFound');
  });
});
