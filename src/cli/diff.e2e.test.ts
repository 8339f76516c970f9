/**
 * End-to-end: `d2 diff` through the real bin/d2. One project, built once: a commit with data
 * only, commit A (built), commit B (12 items relabelled, another seed, built). Checked against
 * figures computed here from the stored evaluations; the JSON against the documented schema;
 * `--fail-on` exit codes; an unbuilt side; a preprocessing change (the old model runs on new
 * items with its old preprocessing, checked against `d2 predict`), `--build` and the cache.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseEvaluation, type Evaluation } from '../core/evaluation.js';
import { parsePredictionChunk } from '../core/predictions.js';
import { parseLock } from '../manifest/index.js';
import { ObjectStore } from '../store/index.js';
import { checkDocumented, readDocTypes } from '../testing/doc-schema.js';
import { copyFixtureImages, git, lastJson, REPO_ROOT, runD2, tempDir } from '../testing/index.js';
import { sha256Hex } from '../util/hash.js';

const WIDTH = 100;
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[/;

function lockAt(dir: string, lockText: string) {
  return parseLock(lockText).lock!;
}

function evaluationOf(dir: string, lockText: string): Evaluation {
  return parseEvaluation(new ObjectStore(dir).readText(lockAt(dir, lockText).evaluation));
}

/** Per item oid: a stored evaluation's predicted label and its probability (argmax, first of ties). */
function predictionsOf(e: Evaluation): Map<string, { label: string; confidence: number }> {
  const out = new Map<string, { label: string; confidence: number }>();
  const k = e.classes.length;
  for (const s of Object.values(e.sets)) {
    s.predictions.oids.forEach((oid, i) => {
      let best = 0;
      for (let c = 1; c < k; c++) if (s.predictions.probs[i * k + c]! > s.predictions.probs[i * k + best]!) best = c;
      out.set(oid, { label: e.classes[best]!, confidence: s.predictions.probs[i * k + best]! });
    });
  }
  return out;
}

/** The evaluation items of a stored evaluation (test or model tests), with its truth labels. */
function itemsOf(e: Evaluation, set: 'test' | 'modelTest'): { path: string; oid: string; truth: string }[] {
  const p = e.sets[set]?.predictions;
  return p ? p.oids.map((oid, i) => ({ path: p.paths[i]!, oid, truth: e.classes[p.labels[i]!]! })) : [];
}

function setModel(dir: string, yaml: string): void {
  const file = path.join(dir, 'd2.yaml');
  fs.writeFileSync(file, `${fs.readFileSync(file, 'utf8').replace(/\nmodel:[\s\S]*$/, '')}\n${yaml}\n`);
}

const docTypes = (() => {
  const md = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'json-output.md'), 'utf8');
  return readDocTypes(md.slice(md.indexOf('## `diff`'), md.indexOf('\n## ', md.indexOf('## `diff`') + 1)));
})();

function expectDocumented(data: unknown): void {
  expect(checkDocumented(data, 'DiffResult', docTypes)).toEqual([]);
}

describe('d2 diff', { tags: ['slow'] }, () => {
  let dir: string;
  /** Relabels made for B: path in the source → [old, new]. */
  const relabels = new Map<string, [string, string]>();
  let lockA: string;
  let lockB: string;

  beforeAll(async () => {
    dir = tempDir('d2-diff-');
    await runD2(['init'], { cwd: dir });
    copyFixtureImages(path.join(dir, 'img'), { perClass: 30, classes: 4 });
    await runD2(['add', 'img', '--labels', 'dirname'], { cwd: dir });
    // one model test per class, with its folder's label
    const tests = fs.readdirSync(path.join(dir, 'img')).sort().map((cls) => `img/${cls}/${fs.readdirSync(path.join(dir, 'img', cls)).sort()[0]},${cls}`);
    fs.writeFileSync(path.join(dir, 'tests.csv'), `path,label\n${tests.join('\n')}\n`);
    const yaml = path.join(dir, 'd2.yaml');
    fs.writeFileSync(yaml, fs.readFileSync(yaml, 'utf8').replace('version: 1', 'version: 1\ndataset:\n  modelTests: tests.csv'));
    setModel(dir, 'model:\n  preset: fast\n  seed: 0');
    expect((await runD2(['commit', '-m', 'data, not built'], { cwd: dir })).exitCode).toBe(0);
    setModel(dir, 'model:\n  preset: fast\n  seed: 1');
    expect((await runD2(['build', '-q'], { cwd: dir })).exitCode).toBe(0);
    expect((await runD2(['commit', '-m', 'A'], { cwd: dir })).exitCode).toBe(0);
    // B: twelve items relabelled (to the next class), another seed: another model
    const labelsFile = path.join(dir, 'd2.sources', 'img.labels.csv');
    const lines = fs.readFileSync(labelsFile, 'utf8').trimEnd().split('\n');
    const classes = [...new Set(lines.slice(1).map((l) => l.split(',')[1]!))].sort();
    for (let i = 2; i < lines.length && relabels.size < 12; i += 9) {
      const [p, label] = lines[i]!.split(',') as [string, string];
      const to = classes[(classes.indexOf(label) + 1) % classes.length]!;
      lines[i] = `${p},${to}`;
      relabels.set(p, [label, to]);
    }
    fs.writeFileSync(labelsFile, `${lines.join('\n')}\n`);
    setModel(dir, 'model:\n  preset: fast\n  seed: 2');
    expect((await runD2(['build', '-q'], { cwd: dir })).exitCode).toBe(0);
    expect((await runD2(['commit', '-m', 'B'], { cwd: dir })).exitCode).toBe(0);
    lockA = (await git(['show', 'HEAD~1:d2.lock'], dir)).stdout;
    lockB = (await git(['show', 'HEAD:d2.lock'], dir)).stdout;
  }, 240_000);

  it('diffs two built commits, matching figures computed from the stored predictions', async () => {
    const r = await runD2(['diff', 'HEAD~1', 'HEAD', '--json', '--limit', '0'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const res = lastJson(r.stdout);
    expect(res).toMatchObject({ type: 'result', command: 'diff', formatVersion: 1, data: { schema: 'd2-diff/1', missing: [] } });
    const d = res.data;
    expectDocumented(d);

    // data: the relabels made above, grouped old → new, and nothing else
    expect(d.data.relabelledCount).toBe(relabels.size);
    const groups = new Map<string, number>();
    for (const [from, to] of relabels.values()) groups.set(`${from}→${to}`, (groups.get(`${from}→${to}`) ?? 0) + 1);
    expect(new Map(d.data.relabelled.map((g: any) => [`${g.from}→${g.to}`, g.count]))).toEqual(groups);
    for (const g of d.data.relabelled) for (const ex of g.examples) expect(relabels.get(ex.replace(/^img\//, ''))).toEqual([g.from, g.to]);
    for (const [cls, c] of Object.entries<any>(d.data.byClass)) {
      expect(c.relabelledOut).toBe([...relabels.values()].filter(([from]) => from === cls).length);
      expect(c.relabelledIn).toBe([...relabels.values()].filter(([, to]) => to === cls).length);
    }
    expect(d.data).toMatchObject({ added: [], removed: [], modified: [], renamed: [], movedCount: 0, modelTests: { before: 4, after: 4 } });
    expect(d.data.manifest).toEqual([{ path: 'model.seed', kind: 'changed', before: 1, after: 2 }]);

    // behaviour: B's test items and model tests with B's labels, both models' stored predictions
    const evA = evaluationOf(dir, lockA);
    const evB = evaluationOf(dir, lockB);
    const predA = predictionsOf(evA);
    const predB = predictionsOf(evB);
    const test = itemsOf(evB, 'test');
    const n = test.length;
    expect(d.evaluatedOn).toEqual({ rev: 'HEAD', commit: expect.stringMatching(/^[0-9a-f]{40}$/), items: n, modelTests: 4 });
    expect(d.a.model).toMatchObject({ stored: n + 4, inferred: 0, computedNow: 0, failedCount: 0, oid: lockAt(dir, lockA).model.oid });
    expect(d.b.model).toMatchObject({ stored: n + 4, inferred: 0, oid: lockAt(dir, lockB).model.oid });
    let rightA = 0;
    let rightB = 0;
    const fixed: string[] = [];
    const broken: string[] = [];
    const cells = new Map<string, number>();
    const perClass = new Map<string, { support: number; tpA: number; tpB: number; predA: number; predB: number }>();
    const cls = (l: string) => perClass.get(l) ?? perClass.set(l, { support: 0, tpA: 0, tpB: 0, predA: 0, predB: 0 }).get(l)!;
    for (const it of test) {
      const a = predA.get(it.oid)!.label;
      const b = predB.get(it.oid)!.label;
      rightA += a === it.truth ? 1 : 0;
      rightB += b === it.truth ? 1 : 0;
      if (a !== it.truth && b === it.truth) fixed.push(it.path);
      if (a === it.truth && b !== it.truth) broken.push(it.path);
      cells.set(`${it.truth}→${a}`, (cells.get(`${it.truth}→${a}`) ?? 0) - 1);
      cells.set(`${it.truth}→${b}`, (cells.get(`${it.truth}→${b}`) ?? 0) + 1);
      cls(it.truth).support++;
      cls(a).predA++;
      cls(b).predB++;
      if (a === it.truth) cls(a).tpA++;
      if (b === it.truth) cls(b).tpB++;
    }
    const b = d.behaviour;
    expect(b.count).toBe(n);
    expect(b.accuracy.before).toBeCloseTo(rightA / n, 12);
    expect(b.accuracy.after).toBeCloseTo(rightB / n, 12);
    // B's test split is B's evaluation: the same accuracy d2 build recorded
    expect(b.accuracy.after).toBeCloseTo(lockAt(dir, lockB).metrics.test!.accuracy, 5); // d2.lock rounds
    for (const c of b.perClass) {
      const x = perClass.get(c.label)!;
      expect(c.support).toBe(x.support);
      expect(c.recall.before).toBeCloseTo(x.tpA / x.support, 12);
      expect(c.recall.after).toBeCloseTo(x.tpB / x.support, 12);
      expect(c.precision.before).toBeCloseTo(x.predA ? x.tpA / x.predA : 0, 12);
      expect(c.precision.after).toBeCloseTo(x.predB ? x.tpB / x.predB : 0, 12);
    }
    expect(b.perClass.map((c: any) => c.label).sort()).toEqual([...perClass].filter(([, x]) => x.support > 0).map(([l]) => l).sort());
    expect(new Map(b.confusion.map((c: any) => [`${c.truth}→${c.predicted}`, c.delta]))).toEqual(new Map([...cells].filter(([, v]) => v !== 0)));
    expect(b.fixed.map((f: any) => f.path).sort()).toEqual(fixed.sort());
    expect(b.broken.map((f: any) => f.path).sort()).toEqual(broken.sort());
    for (const f of [...b.fixed, ...b.broken]) {
      expect(f.before).toEqual({ label: predA.get(f.oid)!.label, confidence: predA.get(f.oid)!.confidence });
      expect(f.after).toEqual({ label: predB.get(f.oid)!.label, confidence: predB.get(f.oid)!.confidence });
    }
    for (const list of [b.fixed, b.broken]) for (let i = 1; i < list.length; i++) expect(list[i - 1].after.confidence).toBeGreaterThanOrEqual(list[i].after.confidence);
    expect(b.significance).toMatchObject({ fixed: fixed.length, broken: broken.length, pValue: expect.any(Number) });
    // model tests: right or wrong by the label the data manager insists on
    const tests = itemsOf(evB, 'modelTest');
    const failing = (pred: typeof predA) => tests.filter((t) => pred.get(t.oid)!.label !== t.truth).length;
    expect(b.modelTests).toMatchObject({ count: 4, failingBefore: failing(predA), failingAfter: failing(predB) });

    // A..B is the same diff; the text view fits 100 columns and has no colour off a TTY
    const range = lastJson((await runD2(['diff', 'HEAD~1..HEAD', '--json', '--limit', '0'], { cwd: dir })).stdout).data;
    expect(range.behaviour).toEqual(b);
    const text = await runD2(['diff', 'HEAD~1..HEAD', '--limit', '0'], { cwd: dir });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/relabelled +\w+ → \w+ +×\d/);
    expect(text.stdout).toMatch(/accuracy +\d+\.\d% +\d+\.\d% +[−+±]\d+\.\d/);
    expect(text.stdout).toContain('McNemar p =');
    expect(text.stdout).toContain('model tests  4: failing');
    if (fixed.length) expect(text.stdout).toContain(`fixed (wrong → right): ${fixed.length}`);
    if (broken.length) expect(text.stdout).toContain(`broken (right → wrong): ${broken.length}`);
    for (const line of text.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(WIDTH);
    expect(text.stdout + text.stderr).not.toMatch(ANSI);

    // --on: A's test split with A's labels (the relabelled items count with their old label)
    const on = lastJson((await runD2(['diff', 'HEAD~1', 'HEAD', '--on', 'HEAD~1', '--json'], { cwd: dir })).stdout).data;
    expect(on.evaluatedOn.rev).toBe('HEAD~1');
    const testA = itemsOf(evA, 'test');
    expect(on.behaviour.accuracy.before).toBeCloseTo(testA.filter((t) => predA.get(t.oid)!.label === t.truth).length / testA.length, 12);
    expect(on.behaviour.accuracy.after).toBeCloseTo(testA.filter((t) => predB.get(t.oid)!.label === t.truth).length / testA.length, 12);
  });

  it('exits 3 exactly when a --fail-on rule is crossed, 1 on a bad rule', async () => {
    // Given both directions on the same items (HEAD's), the figures come from the stored predictions
    const evA = evaluationOf(dir, lockA);
    const evB = evaluationOf(dir, lockB);
    const pred = { 'HEAD~1': predictionsOf(evA), HEAD: predictionsOf(evB) };
    const test = itemsOf(evB, 'test');
    const tests = itemsOf(evB, 'modelTest');
    const right = (rev: keyof typeof pred, items: typeof test) => items.filter((t) => pred[rev].get(t.oid)!.label === t.truth);
    const recall = (rev: keyof typeof pred, label: string) => right(rev, test.filter((t) => t.truth === label)).length / test.filter((t) => t.truth === label).length;
    const labels = [...new Set(test.map((t) => t.truth))];
    for (const [x, y] of [['HEAD~1', 'HEAD'], ['HEAD', 'HEAD~1']] as const) {
      const accuracyDrop = right(x, test).length > right(y, test).length;
      const recallDrop = labels.some((l) => recall(y, l) < recall(x, l) - 1e-9);
      const brokenTests = tests.some((t) => pred[x].get(t.oid)!.label === t.truth && pred[y].get(t.oid)!.label !== t.truth);
      for (const [rule, crossed] of [['accuracy-drop=0', accuracyDrop], ['recall-drop=0', recallDrop], ['broken-model-tests', brokenTests]] as const) {
        const r = await runD2(['diff', x, y, '--on', 'HEAD', '--fail-on', rule, '--json'], { cwd: dir });
        expect(r.exitCode, `${x} ${y} ${rule}`).toBe(crossed ? 3 : 0);
        expect(lastJson(r.stdout).data.checks).toEqual([expect.objectContaining({ rule, failed: crossed })]);
      }
    }
    // nothing changes between a commit and itself
    const same = await runD2(['diff', 'HEAD', 'HEAD', '--fail-on', 'accuracy-drop=0,recall-drop=0,broken=0,broken-model-tests,moved,significant-drop'], { cwd: dir });
    expect(same.exitCode).toBe(0);
    expect(same.stdout).toMatch(/✓ --fail-on broken-model-tests +0 of 4 model tests broke/);
    // a side without a model cannot pass a behaviour rule
    const unbuilt = await runD2(['diff', 'HEAD~2', 'HEAD', '--fail-on', 'accuracy-drop=0.5'], { cwd: dir });
    expect(unbuilt.exitCode).toBe(3);
    expect(unbuilt.stdout).toContain('✗ --fail-on accuracy-drop=0.5');
    // a bad rule is a usage error, before any work
    const bad = await runD2(['diff', '--fail-on', 'accuracy-rise=1', '--json'], { cwd: dir });
    expect(bad.exitCode).toBe(1);
    expect(lastJson(bad.stdout).error).toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining("unknown --fail-on rule 'accuracy-rise'") });
    expect((await runD2(['diff', '--fail-on', 'broken=0.5'], { cwd: dir })).stderr).toContain('needs a whole number');
  });

  it('says which side has no model and how to build it', async () => {
    const r = await runD2(['diff', 'HEAD~2', 'HEAD', '--json'], { cwd: dir });
    expect(r.exitCode, r.stdout).toBe(0);
    const d = lastJson(r.stdout).data;
    expectDocumented(d);
    expect(d).toMatchObject({ behaviour: null, a: { rev: 'HEAD~2', model: null }, b: { model: expect.objectContaining({ stored: 0 }) } });
    expect(d.missing).toEqual([{ side: 'a', message: 'HEAD~2 has no model: no model is built for it in this store', command: 'd2 build --rev HEAD~2' }]);
    const text = await runD2(['diff', 'HEAD~2', 'HEAD'], { cwd: dir });
    expect(text.stdout).toContain('! HEAD~2 has no model');
    expect(text.stdout).toContain('build it: d2 build --rev HEAD~2, or run this diff again with --build');
  });

  it('says loudly when items moved between splits, and --fail-on moved gates it', async () => {
    // Given a working tree whose split seed changed (items reshuffle between train, validation and test)
    const yaml = path.join(dir, 'd2.yaml');
    const before = fs.readFileSync(yaml, 'utf8');
    try {
      fs.writeFileSync(yaml, before.replace('  modelTests: tests.csv', '  modelTests: tests.csv\n  split: { seed: 7, train: 0.8, validation: 0.1, test: 0.1 }'));
      const r = await runD2(['diff', '--json', '--fail-on', 'moved'], { cwd: dir });
      expect(r.exitCode).toBe(3);
      const d = lastJson(r.stdout).data;
      expect(d.data.movedCount).toBeGreaterThan(0);
      expect(d.data.moved.reduce((n: number, m: any) => n + m.count, 0)).toBe(d.data.movedCount);
      expect(d.data.manifest).toContainEqual(expect.objectContaining({ path: 'dataset.split.seed', kind: 'changed', before: 0, after: 7 }));
      expect(d.checks).toEqual([expect.objectContaining({ rule: 'moved', failed: true, observed: d.data.movedCount })]);
      const text = await runD2(['diff'], { cwd: dir });
      expect(text.stdout).toContain(`! ${d.data.movedCount} items moved between splits`);
      expect(text.stdout.replace(/[│\s]+/g, ' ')).toContain("because d2.yaml's dataset.split changed. Test figures of A and B are not comparable.");
    } finally {
      fs.writeFileSync(yaml, before);
    }
  });

  it('runs the old model on new items with its own preprocessing, builds the missing side with --build, and caches', async () => {
    // Given the working tree: preprocessing changed (20×20) and ten new images per class, unbuilt
    copyFixtureImages(path.join(dir, 'more'), { perClass: 40, classes: 4 });
    for (const cls of fs.readdirSync(path.join(dir, 'more'))) {
      const files = fs.readdirSync(path.join(dir, 'more', cls)).sort();
      for (const f of files.slice(30)) fs.renameSync(path.join(dir, 'more', cls, f), path.join(dir, 'img', cls, f));
    }
    fs.rmSync(path.join(dir, 'more'), { recursive: true });
    expect((await runD2(['add', 'img'], { cwd: dir })).exitCode).toBe(0);
    const yaml = path.join(dir, 'd2.yaml');
    fs.writeFileSync(yaml, `${fs.readFileSync(yaml, 'utf8')}\npreprocess:\n  image:\n    - resize: { width: 20, height: 20 }\n    - channels: 1\n`);
    const lockBefore = fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8');

    const unbuilt = await runD2(['diff', '--json', '--limit', '0'], { cwd: dir });
    expect(unbuilt.exitCode, unbuilt.stdout.slice(-2000)).toBe(0);
    const u = lastJson(unbuilt.stdout).data;
    expectDocumented(u);
    expect(u).toMatchObject({ behaviour: null, b: { rev: null, model: null }, missing: [{ side: 'b', command: 'd2 build' }] });
    expect(u.data.added).toHaveLength(40);
    expect(u.data.manifest).toContainEqual(expect.objectContaining({ path: 'preprocess.image', kind: 'added' }));
    expect((await runD2(['diff'], { cwd: dir })).stdout).toContain('! the working tree has no model');

    // When B is built (20×20 inputs) during the diff, A (28×28) must run on B's new test items
    // through its own preprocessing: a 20×20 input would not even fit its first layer
    const built = await runD2(['diff', '--build', '--json'], { cwd: dir });
    expect(built.exitCode, built.stderr).toBe(0);
    const d = lastJson(built.stdout).data;
    expectDocumented(d);
    const newTest = u.data.added.filter((x: any) => x.set === 'test');
    expect(newTest.length).toBeGreaterThan(0);
    expect(d.missing).toEqual([]);
    expect(d.a.model).toMatchObject({ inferred: newTest.length, computedNow: newTest.length, failedCount: 0 });
    expect(d.a.model.stored + d.a.model.inferred).toBe(d.evaluatedOn.items + d.evaluatedOn.modelTests);
    expect(d.b.model).toMatchObject({ inferred: 0, stored: d.evaluatedOn.items + d.evaluatedOn.modelTests });
    expect(d.behaviour.count).toBe(d.evaluatedOn.items);
    expect(fs.readFileSync(path.join(dir, 'd2.lock'), 'utf8')).toBe(lockBefore);

    // Then A's computed predictions are what `d2 predict --rev HEAD` (A's model and preprocessing) gives
    const store = new ObjectStore(dir);
    const pointer = path.join(dir, '.d2', 'state', `predictions-${d.a.model.key}`);
    const chunks = fs.readFileSync(pointer, 'utf8').trim().split('\n').map((oid) => parsePredictionChunk(store.readText(oid)));
    expect(chunks).toHaveLength(1);
    const chunk = chunks[0]!;
    expect(chunk.oids).toHaveLength(newTest.length);
    const files = newTest.map((x: any) => x.path);
    const predicted = await runD2(['predict', '--rev', 'HEAD', '--top', '1', '--json', ...files], { cwd: dir });
    expect(predicted.exitCode, predicted.stderr).toBe(0);
    const rows = predicted.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'prediction');
    expect(rows).toHaveLength(files.length);
    const k = chunk.classes.length;
    const rowOf = new Map(chunk.oids.map((oid, j) => [oid, chunk.probs.subarray(j * k, (j + 1) * k)]));
    for (const row of rows) {
      const oid = sha256Hex(fs.readFileSync(path.join(dir, row.input)));
      const probs = rowOf.get(oid)!;
      expect(probs, row.input).toBeDefined();
      const best = probs.indexOf(Math.max(...probs));
      expect(chunk.classes[best]).toBe(row.top[0].label);
      expect(probs[best]).toBeCloseTo(row.top[0].probability, 6);
    }

    // A second diff computes nothing: the same figures, from the cache
    const again = lastJson((await runD2(['diff', '--json'], { cwd: dir })).stdout).data;
    expect(again.behaviour).toEqual(d.behaviour);
    expect(again.a.model).toMatchObject({ inferred: newTest.length, computedNow: 0 });
    expect(fs.readFileSync(pointer, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('refuses a revision git cannot resolve', async () => {
    const r = await runD2(['diff', 'no-such-rev', '--json'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(lastJson(r.stdout).error.code).toBe('RevNotFound');
    const both = await runD2(['diff', 'HEAD~1..HEAD', 'HEAD'], { cwd: dir });
    expect(both.exitCode).toBe(1);
    expect(both.stderr).toContain("give either 'A..B' or two revisions");
  });
});
