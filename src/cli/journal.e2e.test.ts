/**
 * End-to-end: the research journal through the real bin/d2 and the real git CLI — notes added,
 * refused, appended, edited (in an editor), shown and removed; carried to a clone and back by
 * `git push` / `git fetch`; the journal of three commits checked against their d2.lock files
 * (text, `--metrics`, `--md`, `--json`); an experiment run, refused with a misspelt `--set` key,
 * listed, shown, diffed, pushed and pulled with its model, applied and committed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLock, type Lock } from '../manifest/index.js';
import { copyFixtureImages, git, lastJson, runD2, tempDir } from '../testing/index.js';

async function ok(args: string[], cwd: string, env: Record<string, string> = {}): Promise<any> {
  const r = await runD2([...args, '--json'], { cwd, env });
  expect(r.exitCode, `d2 ${args.join(' ')}\n${r.stderr}\n${r.stdout}`).toBe(0);
  return lastJson(r.stdout).data;
}

async function gitOk(args: string[], cwd: string): Promise<string> {
  const r = await git(args, cwd);
  expect(r.exitCode, `git ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

function setModel(dir: string, model: string): void {
  const file = path.join(dir, 'd2.yaml');
  fs.writeFileSync(file, `${fs.readFileSync(file, 'utf8').replace(/\nmodel:[\s\S]*$/, '')}\nmodel:\n${model}\n`);
}

/** A project with one built commit: 3 classes × `perClass` fixture images, the fast preset. */
async function builtProject(perClass = 8): Promise<string> {
  const dir = tempDir('d2-journal-');
  await ok(['init'], dir);
  copyFixtureImages(path.join(dir, 'img'), { perClass, classes: 3 });
  await ok(['add', 'img', '--labels', 'dirname'], dir);
  setModel(dir, '  preset: fast\n  seed: 1');
  await ok(['build'], dir);
  await ok(['commit', '-m', 'first model'], dir);
  return dir;
}

async function lockAt(dir: string, rev: string): Promise<Lock> {
  return parseLock(await gitOk(['show', `${rev}:d2.lock`], dir)).lock!;
}

describe('the research journal', { tags: ['slow'] }, () => {
  it('keeps notes on commits, and git push / git fetch carry them to a clone and back', async () => {
    // Given a project with one commit
    const dir = await builtProject(4);
    const head = (await gitOk(['rev-parse', 'HEAD'], dir)).trim();

    // notes are added, refused when one exists, appended to, edited, shown
    expect(await ok(['note', '-m', 'baseline: fast preset'], dir)).toMatchObject({ commit: head, action: 'added', note: 'baseline: fast preset', previous: null });
    const again = await runD2(['note', '-m', 'another'], { cwd: dir });
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain(`error: commit '${head.slice(0, 7)}' already has a note`);
    expect(again.stderr).toContain('--append');
    expect((await runD2(['note', '-m', 'x', '--json'], { cwd: dir })).stdout).toContain('"code":"NoteExists"');
    expect(await ok(['note', 'HEAD', '--append', '-m', 'shirts look like tops'], dir)).toMatchObject({ action: 'appended', note: 'baseline: fast preset\n\nshirts look like tops' });
    expect(await ok(['note', '--edit', '-m', 'replaced'], dir)).toMatchObject({ action: 'replaced', note: 'replaced' });
    // --edit without -m opens the editor git would, on the current note
    const editor = path.join(dir, '..', `editor-${path.basename(dir)}.sh`);
    fs.writeFileSync(editor, '#!/bin/sh\ngrep -q "^replaced$" "$1" && printf "edited in the editor\\n# a comment line\\n" > "$1"\n', { mode: 0o755 });
    expect(await ok(['note', '--edit'], dir, { GIT_EDITOR: editor })).toMatchObject({ action: 'replaced', note: 'edited in the editor' });
    expect((await runD2(['note'], { cwd: dir })).stdout).toBe('edited in the editor\n');
    expect((await gitOk(['log', '--notes=d2', '-1'], dir))).toContain('edited in the editor');
    expect((await runD2(['log'], { cwd: dir })).stdout).toContain('note: edited in the editor');
    // the branch did not move; the repository is sound
    expect((await gitOk(['rev-parse', 'HEAD'], dir)).trim()).toBe(head);
    await gitOk(['fsck', '--strict'], dir);

    // Given a bare repository as the team's git remote: the next note configures it
    const bare = tempDir('d2-journal-bare-');
    await gitOk(['init', '-q', '--bare', '-b', 'main', bare], bare);
    await gitOk(['remote', 'add', 'origin', bare], dir);
    const configured = await ok(['note', '--edit', '-m', 'shared note'], dir);
    expect(configured.sharing).toEqual([{ remote: 'origin', added: expect.arrayContaining(['remote.origin.push=refs/notes/d2*:refs/notes/d2*']) }]);
    expect((await runD2(['note', '--edit', '-m', 'shared note, v2'], { cwd: dir })).stdout).not.toContain('now carr');
    // When it is pushed with plain `git push`: the branch and the notes arrive
    await gitOk(['push'], dir);
    expect((await gitOk(['for-each-ref', '--format=%(refname)'], bare)).split('\n')).toEqual(expect.arrayContaining(['refs/heads/main', 'refs/notes/d2']));

    // Then a clone gets them once d2 configured it (d2 init in a clone does), with git fetch
    const cloneParent = tempDir('d2-journal-clone-');
    await gitOk(['clone', '-q', bare, 'clone'], cloneParent);
    const clone = path.join(cloneParent, 'clone');
    expect((await ok(['init'], clone)).gitSharing).toEqual([{ remote: 'origin', added: expect.any(Array) }]);
    await gitOk(['fetch'], clone);
    const cloneLog = await ok(['log'], clone);
    expect(cloneLog.commits[0]).toMatchObject({ commit: head, note: 'shared note, v2' });

    // and a note written in the clone goes back the same way, merged with what was fetched
    expect(await ok(['note', '--append', '-m', 'seen from the clone'], clone)).toMatchObject({ action: 'appended', note: 'shared note, v2\n\nseen from the clone' });
    await gitOk(['push'], clone);
    await gitOk(['fetch'], dir);
    expect((await ok(['log'], dir)).commits[0].note).toBe('shared note, v2\n\nseen from the clone');
    expect(await ok(['note', '--remove'], dir)).toMatchObject({ action: 'removed', note: null });
    expect((await ok(['log'], dir)).commits[0].note).toBeNull();
    const missing = await runD2(['note', '--remove', '--json'], { cwd: dir });
    expect(missing.exitCode).toBe(1);
    expect(lastJson(missing.stdout).error.code).toBe('NoteNotFound');
    await gitOk(['fsck', '--strict'], dir);
    await gitOk(['fsck', '--strict'], clone);
  }, 240_000);

  it('shows each commit with its data change, metrics and delta from the locks, as text, a table, Markdown and JSON', async () => {
    // Given three commits: first data; more data and two items moved to another class; another seed
    const dir = await builtProject(6);
    await ok(['note', '-m', 'baseline | fast preset'], dir);
    copyFixtureImages(path.join(dir, 'more'), { perClass: 9, classes: 3 });
    let added = 0;
    for (const cls of fs.readdirSync(path.join(dir, 'more'))) {
      for (const f of fs.readdirSync(path.join(dir, 'more', cls))) {
        if (!fs.existsSync(path.join(dir, 'img', cls, f))) {
          fs.copyFileSync(path.join(dir, 'more', cls, f), path.join(dir, 'img', cls, f));
          added++;
        }
      }
    }
    fs.rmSync(path.join(dir, 'more'), { recursive: true });
    const classes = fs.readdirSync(path.join(dir, 'img')).sort();
    for (const f of fs.readdirSync(path.join(dir, 'img', classes[0]!)).sort().slice(0, 2)) {
      fs.renameSync(path.join(dir, 'img', classes[0]!, f), path.join(dir, 'img', classes[1]!, f)); // relabel by moving
    }
    await ok(['add', '--all'], dir);
    await ok(['build'], dir);
    await ok(['commit', '-m', 'more data, two relabels'], dir);
    setModel(dir, '  preset: fast\n  seed: 2');
    await ok(['build'], dir);
    await ok(['commit', '-m', 'seed 2'], dir);

    // When the journal is read
    const { commits } = await ok(['log'], dir);
    expect(commits.map((c: any) => c.message)).toEqual(['seed 2', 'more data, two relabels', 'first model']);
    const locks = [await lockAt(dir, 'HEAD'), await lockAt(dir, 'HEAD~1'), await lockAt(dir, 'HEAD~2')];

    // Then every figure is the commit's d2.lock's, and each delta the difference to its parent's
    commits.forEach((c: any, i: number) => {
      expect(c.build).toBe('new');
      expect(c.headline).toEqual({ set: 'test', ...locks[i]!.metrics.test });
      expect(c.model.oid).toBe(locks[i]!.model.oid);
    });
    expect(commits[0].delta.against).toBe(commits[1].commit);
    expect(commits[0].delta.accuracy).toBeCloseTo(locks[0]!.metrics.test!.accuracy - locks[1]!.metrics.test!.accuracy, 12);
    expect(commits[0].delta.macroF1).toBeCloseTo(locks[0]!.metrics.test!.macroF1 - locks[1]!.metrics.test!.macroF1, 12);
    expect(commits[1].delta.accuracy).toBeCloseTo(locks[1]!.metrics.test!.accuracy - locks[2]!.metrics.test!.accuracy, 12);
    expect(commits[2].delta).toBeNull();
    expect(commits[2].change).toMatchObject({ first: true, summary: 'first data: 18 items' });
    expect(commits[1].items).toBe(18 + added);
    expect(commits[1].change).toMatchObject({ items: added, relabels: 2, manifest: [], summary: `+${added} items, 2 relabels` });
    expect(commits[0].change).toMatchObject({ items: 0, relabels: 0, manifest: ['model'], summary: 'model section changed' });
    expect(commits[2].note).toBe('baseline | fast preset');

    // the compact table fits 100 columns and carries the same numbers
    const table = (await runD2(['log', '--metrics'], { cwd: dir })).stdout.trimEnd().split('\n');
    expect(table[0]).toMatch(/^commit\s+date\s+items\s+accuracy\s+macro-F1\s+Δ acc\s+note$/);
    expect(table).toHaveLength(4);
    for (const line of table) expect(line.length).toBeLessThanOrEqual(100);
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    expect(table[1]).toContain(commits[0].commit.slice(0, 7));
    expect(table[1]).toContain(pct(locks[0]!.metrics.test!.accuracy));
    expect(table[1]).toContain(pct(locks[0]!.metrics.test!.macroF1));
    expect(table[3]).toMatch(/baseline \| fast preset$/);
    const metricsJson = await ok(['log', '--metrics'], dir);
    expect(metricsJson.commits.map((c: any) => c.headline)).toEqual(commits.map((c: any) => c.headline));
    expect(metricsJson.commits[1].change.relabels).toBeNull(); // the table does not count them

    // Markdown: one row per commit, pipes in notes escaped
    const md = (await runD2(['log', '--md'], { cwd: dir })).stdout.trimEnd().split('\n');
    expect(md[0]).toBe('| commit | date | message | data change | items | accuracy | macro-F1 | Δ accuracy | model tests | note |');
    expect(md).toHaveLength(5);
    expect(md[3]).toContain(`+${added} items, 2 relabels`);
    expect(md[4]).toContain('baseline \\| fast preset');

    // the text view: the phrase, the delta in points, the note
    const text = (await runD2(['log'], { cwd: dir })).stdout;
    expect(text).toContain(`+${added} items, 2 relabels`);
    expect(text).toMatch(/acc [+-±]\d+\.\d pts, macro-F1 [+-±]\d+\.\d pts \(vs [0-9a-f]{7}\)/);
    expect(text).toContain('note: baseline | fast preset');
    expect((await ok(['log', '-n', '1'], dir)).commits).toHaveLength(1);
    expect((await ok(['log', '-n', '1'], dir)).commits[0].delta).toEqual(commits[0].delta);
  }, 240_000);

  it('runs an experiment without a commit, refuses a misspelt key, and lists, shows, diffs, shares, applies and commits it', async () => {
    // Given a project with one built commit
    const dir = await builtProject(8);
    const head = (await gitOk(['rev-parse', 'HEAD'], dir)).trim();
    const yamlBefore = fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8');

    // a misspelt key is refused with the same did-you-mean as d2.yaml, naming the flag
    const typo = await runD2(['exp', 'run', '--set', 'model.presett=thorough'], { cwd: dir });
    expect(typo.exitCode).toBe(1);
    expect(typo.stderr).toContain("error: --set 'model.presett=thorough': unknown key 'presett' in 'model' (did you mean 'preset'?)");
    const typoJson = lastJson((await runD2(['exp', 'run', '--set', 'modle.seed=3', '--json'], { cwd: dir })).stdout);
    expect(typoJson.error).toMatchObject({ code: 'ManifestInvalid', data: { option: 'set', issues: [{ path: 'modle', didYouMean: 'model' }] } });
    const badValue = await runD2(['exp', 'run', '-S', 'model.preset=huge'], { cwd: dir });
    // error lines are folded at 100 columns: read them unfolded
    expect(badValue.stderr.replace(/\n {2,4}/g, ' ')).toContain(`'model.preset' must be one of "fast", "default", "thorough", got 'huge'`);

    // When an experiment runs: built, recorded under refs/d2/exps/, nothing written to the tree
    const run = await ok(['exp', 'run', '--set', 'model.seed=9', '-m', 'does the seed matter?'], dir);
    const name = run.experiment.name;
    expect(name).toMatch(/^exp-[0-9a-f]{7}$/);
    expect(run).toMatchObject({ reused: false, replaced: false });
    expect(run.experiment).toMatchObject({ parent: head, dirty: false, note: 'does the seed matter?', settings: [{ key: 'model.seed', value: 9, previous: 1 }] });
    expect(fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8')).toBe(yamlBefore);
    expect((await gitOk(['status', '--porcelain'], dir)).trim()).toBe('');
    expect((await gitOk(['for-each-ref', '--format=%(objecttype) %(refname)', 'refs/d2/exps'], dir)).trim()).toBe(`tree refs/d2/exps/${name}`);
    await gitOk(['fsck', '--strict'], dir);
    const lock = await lockAt(dir, 'HEAD');
    expect(run.experiment.delta.against).toBe(head);
    expect(run.experiment.delta.accuracy).toBeCloseTo(run.experiment.headline.accuracy - lock.metrics.test!.accuracy, 12);
    // the same run again is free: the build is reused, the experiment replaced
    const again = await ok(['exp', 'run', '--set', 'model.seed=9'], dir);
    expect(again).toMatchObject({ reused: true, replaced: true, experiment: { name, note: 'does the seed matter?' } });

    // listed and shown
    const list = await ok(['exp', 'list'], dir);
    expect(list.experiments.map((e: any) => e.name)).toEqual([name]);
    const listText = (await runD2(['exp', 'list'], { cwd: dir })).stdout.split('\n');
    expect(listText[0]).toMatch(/^experiment\s+parent\s+items\s+accuracy\s+macro-F1\s+Δ acc\s+change · note$/);
    expect(listText[1]).toContain('model.seed=9 · does the seed matter?');
    for (const line of listText) expect(line.length).toBeLessThanOrEqual(100);
    const shown = await ok(['exp', 'show', name], dir);
    expect(shown).toMatchObject({ built: true, experiment: { name, build: { model: run.experiment.build.model } } });
    expect(shown.manifest).toContain('seed: 9');
    const unknown = await runD2(['exp', 'show', 'exp-nope', '--json'], { cwd: dir });
    expect(lastJson(unknown.stdout).error).toMatchObject({ code: 'ExperimentNotFound', data: { known: [name] } });

    // diffed like a revision: both models stored, the settings change named
    const d = await ok(['diff', 'HEAD', name], dir);
    expect(d.b).toMatchObject({ rev: name, commit: null, model: { oid: run.experiment.build.model } });
    expect(d.a.model.oid).toBe(lock.model.oid);
    expect(d.behaviour).not.toBeNull();
    expect(d.missing).toEqual([]);
    expect(JSON.stringify(d.data.manifest)).toContain('model.seed');
    expect((await ok(['diff', name], dir)).a.rev).toBe(name);

    // shared: git push carries the experiment, d2 push --exps its data and model; a clone gets both
    const bare = tempDir('d2-exp-bare-');
    await gitOk(['init', '-q', '--bare', '-b', 'main', bare], bare);
    await gitOk(['remote', 'add', 'origin', bare], dir);
    const share = tempDir('d2-exp-share-');
    await ok(['remote', 'add', 'share', share], dir);
    await ok(['commit', '-m', 'share'], dir);
    await gitOk(['push'], dir);
    const pushed = await ok(['push', '--exps'], dir);
    expect(pushed.revisions).toBe(3); // two commits and the experiment
    const cloneParent = tempDir('d2-exp-clone-');
    await gitOk(['clone', '-q', bare, 'clone'], cloneParent);
    const clone = path.join(cloneParent, 'clone');
    await ok(['init'], clone);
    await gitOk(['fetch'], clone);
    expect((await ok(['exp', 'list'], clone)).experiments.map((e: any) => e.name)).toEqual([name]);
    expect((await ok(['exp', 'show', name], clone)).built).toBe(false);
    await ok(['pull', '--exps'], clone);
    expect((await ok(['exp', 'show', name], clone)).built).toBe(true);
    const cloneDiff = await ok(['diff', 'HEAD', name], clone);
    expect(cloneDiff.b.model.oid).toBe(run.experiment.build.model);
    expect(cloneDiff.b.model.computedNow).toBe(0);

    // applied: d2.yaml gets the change (comments kept), d2.lock its build; committing needs no training
    const applied = await ok(['exp', 'apply', name], dir);
    expect(applied).toMatchObject({ name, manifestWritten: true, lockWritten: true, settings: [{ key: 'model.seed', value: 9 }] });
    expect(fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8')).toContain('seed: 9');
    expect(fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8')).toContain('# '); // the template's comments
    expect(await ok(['build'], dir)).toMatchObject({ reused: true, lockWritten: false });
    await ok(['commit', '-m', applied.message.split('\n')[0]], dir);
    const log = await ok(['log', '-n', '1'], dir);
    expect(log.commits[0]).toMatchObject({ message: `Apply experiment ${name}: model.seed=9`, model: { oid: run.experiment.build.model }, change: { manifest: ['model'] } });

    // removed
    expect(await ok(['exp', 'remove', name], dir)).toEqual({ removed: [name] });
    expect((await ok(['exp', 'list'], dir)).experiments).toEqual([]);
    expect((await runD2(['exp', 'remove', name], { cwd: dir })).exitCode).toBe(1);
    await gitOk(['fsck', '--strict'], dir);
  }, 300_000);
});
