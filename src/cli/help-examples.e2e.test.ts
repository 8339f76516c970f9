/**
 * Every `$ d2 …` example of every command's --help runs as written (through `sh`, with `d2` on
 * PATH) in a project prepared for it, and its output has the shape the example promises: exit
 * code 0 (or a listed one), one JSON value where it pipes to `jq`, JSON lines where it asks for
 * `--json`. An example needs no more than the files its own words name (`data/fashion`,
 * `shirt.png`, a branch `feature`…), which the plan below makes first; the few that name the
 * outside world (a git server, a mount point) run with a local stand-in, listed in
 * SUBSTITUTES. A new example that this plan does not run fails the test.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { D2_BIN, FIXTURE_IMAGES, git, runD2, tempDir, TEST_ENV } from '../testing/index.js';

/** The examples of `d2 --help` and of every command's and subcommand's --help, by where they appear. */
async function helpExamples(cwd: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const read = async (args: string[]): Promise<string> => (await runD2([...args, '--help'], { cwd })).stdout;
  const commandsOf = (help: string): string[] => {
    const section = help.split(/\nCommands:\n/)[1]?.split(/\n\n/)[0] ?? '';
    return section.split('\n').map((l) => /^ {2}(\w[\w-]*)/.exec(l)?.[1]).filter((c): c is string => c !== undefined && c !== 'help');
  };
  const collect = (where: string, help: string): void => {
    for (const line of help.split('\n')) {
      const m = /^\s+\$ (.*)$/.exec(line);
      if (m) out.set(m[1]!.replace(/\s+# .*$/, '').trim(), where);
    }
  };
  const top = await read([]);
  collect('d2', top);
  for (const cmd of commandsOf(top)) {
    const help = await read([cmd]);
    collect(cmd, help);
    for (const sub of commandsOf(help)) collect(`${cmd} ${sub}`, await read([cmd, sub]));
  }
  return out;
}

/** Examples that name the outside world, run with a local stand-in (`$SHARE`, `$ORIGIN` are set per run). */
const SUBSTITUTES: Record<string, string> = {
  // no git server: the project itself is the repository cloned
  'git clone git@example.com:team/fashion.git && cd fashion && d2 pull && d2 build': 'git clone -q "$ORIGIN" fashion && cd fashion && d2 pull && d2 build',
  // no mount point: a folder of the test
  'd2 remote add share /mnt/team/d2-store': 'd2 remote add share "$SHARE"',
};

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function checkShape(example: string, r: Run): void {
  if (/\| jq /.test(example)) {
    // one value for `jq .x`, one compact value per line for `jq -c select(…)`
    const lines = r.stdout.trim().split('\n');
    expect(lines.length > 0 && lines.every((l) => l.trim() !== '' && l.trim() !== 'null'), `${example}: ${r.stdout}`).toBe(true);
    if (!example.includes('jq -c')) expect(() => JSON.parse(r.stdout), `${example}: one JSON value`).not.toThrow();
  } else if (/ --json\b/.test(example) && !example.includes('|')) {
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines.at(-1)!.type, example).toBe('result');
  }
}

describe('the examples of every --help', { tags: ['slow'] }, () => {
  let work: string;
  let proj: string;
  let table: string;
  let texts: string;
  let env: Record<string, string>;
  const ran = new Set<string>();

  const sh = async (command: string, cwd: string): Promise<Run> => {
    const r = await execa('sh', ['-c', command], { cwd, env, reject: false, stripFinalNewline: false });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  /** Run one example as written (or its stand-in), check its exit code and output shape. */
  const example = async (text: string, cwd = proj, exits: number[] = [0]): Promise<Run> => {
    const r = await sh(SUBSTITUTES[text] ?? text, cwd);
    expect(exits, `${text}\n${r.stderr}${r.stdout}`).toContain(r.exitCode);
    checkShape(text, r);
    ran.add(text);
    return r;
  };
  const setup = async (args: string[], cwd = proj): Promise<void> => {
    const r = await runD2(args, { cwd });
    expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  };
  const copyClass = (cls: string, dest: string, n: number): string[] => {
    fs.mkdirSync(dest, { recursive: true });
    const names = fs.readdirSync(path.join(FIXTURE_IMAGES, cls)).sort().slice(0, n);
    for (const f of names) fs.copyFileSync(path.join(FIXTURE_IMAGES, cls, f), path.join(dest, f));
    return names;
  };

  beforeAll(async () => {
    work = tempDir('d2-help-');
    const bin = path.join(work, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(D2_BIN, path.join(bin, 'd2'));
    fs.mkdirSync(path.join(work, 'share'));
    proj = path.join(work, 'proj');
    env = { ...TEST_ENV, PATH: `${bin}:${process.env.PATH ?? ''}`, SHARE: path.join(work, 'share'), ORIGIN: proj, EDITOR: 'true', GIT_EDITOR: 'true', RUN_URL: 'https://ci.example.invalid/run/1' };
    fs.mkdirSync(proj);
    // the files the examples name: data/fashion/<label>/, data/scans + scans.csv, new photos
    for (const cls of ['bag', 'shirt', 'sneaker']) copyClass(cls, path.join(proj, 'data', 'fashion', cls), 10);
    fs.copyFileSync(path.join(proj, 'data', 'fashion', 'shirt', fs.readdirSync(path.join(proj, 'data', 'fashion', 'shirt'))[0]!), path.join(proj, 'data', 'fashion', 'shirt', 'a.png'));
    const scans = ['bag', 'shirt', 'sneaker'].flatMap((cls) => copyClass(cls, path.join(work, 'tmp', cls), 14).slice(10).map((f) => {
      fs.mkdirSync(path.join(proj, 'data', 'scans'), { recursive: true });
      fs.copyFileSync(path.join(work, 'tmp', cls, f), path.join(proj, 'data', 'scans', `${cls}-${f}`));
      return `${cls}-${f},${cls}`;
    }));
    fs.writeFileSync(path.join(proj, 'scans.csv'), `path,label\n${scans.join('\n')}\n`);
    copyClass('sneaker', path.join(proj, 'new-photos'), 2);
    copyClass('bag', path.join(proj, 'photos'), 2);
    fs.copyFileSync(path.join(proj, 'new-photos', fs.readdirSync(path.join(proj, 'new-photos'))[0]!), path.join(proj, 'shirt.png'));
    // a table project for the table examples: data/houses.csv, and houses.csv to predict
    table = path.join(work, 'table');
    fs.mkdirSync(path.join(table, 'data'), { recursive: true });
    const rows = Array.from({ length: 60 }, (_, i) => `${i},${50 + (i % 10) * 10},${1 + (i % 4)},${i % 3 === 0 ? 'low' : i % 3 === 1 ? 'mid' : 'high'}`);
    fs.writeFileSync(path.join(table, 'data', 'houses.csv'), `id,area,rooms,price_band\n${rows.join('\n')}\n`);
    fs.writeFileSync(path.join(table, 'houses.csv'), `id,area,rooms\n100,70,2\n101,120,4\n`);
    // a text project for the text examples: data/tickets.csv (a text column)
    texts = path.join(work, 'texts');
    fs.mkdirSync(path.join(texts, 'data'), { recursive: true });
    const words = { hardware: ['printer', 'jammed', 'toner', 'screen', 'cable'], accounts: ['password', 'login', 'locked', 'reset', 'account'] };
    const tickets = Object.entries(words).flatMap(([team, w]) => Array.from({ length: 20 }, (_, i) => `${team}-${i},${w[i % 5]} ${w[(i * 3 + 1) % 5]} again,${team}`));
    fs.writeFileSync(path.join(texts, 'data', 'tickets.csv'), `id,body,team\n${tickets.join('\n')}\n`);
  }, 60_000);

  it('runs each example, in an order that gives it what it needs', async () => {
    // A fresh folder: the top-level example starts a project; `d2 init` twice is harmless.
    const fresh = path.join(work, 'fresh');
    fs.mkdirSync(path.join(fresh, 'data'), { recursive: true });
    copyClass('bag', path.join(fresh, 'data', 'images', 'bag'), 3);
    copyClass('coat', path.join(fresh, 'data', 'images', 'coat'), 3);
    await example('d2 init && d2 add data/images --labels dirname && d2 commit -m "first images"', fresh);
    await example('d2 init', fresh);
    await example('d2 init my-dataset && cd my-dataset', fresh);
    expect(fs.existsSync(path.join(fresh, 'my-dataset', 'd2.yaml'))).toBe(true);

    // The project: sources, status, a first commit (the quick preset keeps builds short).
    await example('d2 init', proj);
    await example('d2 add data/fashion --labels dirname');
    await example('d2 add data/scans --labels scans.csv');
    await example('d2 status');
    await example('d2 status fashion --limit 0');
    expect((await example('d2 status --json | jq .data.clean')).stdout.trim()).toBe('false');
    fs.appendFileSync(path.join(proj, 'd2.yaml'), '\nmodel:\n  preset: fast\n');
    await setup(['commit', '-m', 'data']);
    await example('d2 build');
    await setup(['commit', '-m', 'first model']);
    // a relabel to commit
    const labels = path.join(proj, 'd2.sources', 'fashion.labels.csv');
    fs.writeFileSync(labels, fs.readFileSync(labels, 'utf8').replace(/^(shirt\/a\.png),shirt$/m, '$1,bag'));
    await example('d2 commit -m "relabel 40 shirts as tops"');
    await example('d2 build --rev HEAD~1');
    await example('d2 build --engine cpu');
    expect(JSON.parse((await example('d2 build --json | tail -1 | jq .data.build.metrics')).stdout)).toHaveProperty('test');
    await setup(['commit', '-m', 'model of the relabel']);
    await example('d2 add --all');
    await example('d2 data');
    await example('d2 data --rev HEAD~1 --no-preprocess');
    expect(JSON.parse((await example('d2 data --json | tail -1 | jq .data.counts.train')).stdout)).toHaveProperty('total');

    // diff: against the working tree, two commits, two branches, a gate
    await git(['branch', 'feature', 'HEAD~1'], proj);
    await example('d2 diff');
    await example('d2 diff HEAD~1 HEAD');
    await example('d2 diff main feature --on main');
    await example('d2 diff HEAD~1 --build --fail-on accuracy-drop=0.01,recall-drop=0.05,broken-model-tests', proj, [0, 3]);
    await example('d2 diff HEAD~1 HEAD --json | tail -1 | jq .data.behaviour.accuracy');

    // predict and export
    await example('d2 predict new-photos/');
    await example('d2 predict shirt.png --top 1 --rev HEAD~1');
    const rows = (await example("d2 predict photos --json | jq -c 'select(.type==\"prediction\")'")).stdout.trim().split('\n');
    expect(rows.map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(['prediction', 'prediction']);
    await example('d2 export --out bundle');
    await git(['tag', 'v1.2', 'HEAD'], proj);
    await example('d2 export --rev v1.2 --out models/v1.2 --force');

    // remotes: a folder stands in for the mount point; S3 remotes are only recorded here
    await example('d2 remote add share /mnt/team/d2-store');
    await example('d2 remote add origin s3://team-data/fashion');
    await example('d2 remote add minio s3://datasets/fashion --endpoint http://10.0.0.5:9000');
    await example('d2 remote list');
    await setup(['remote', 'remove', 'origin']);
    await example('d2 remote add origin s3://team-data/fashion && d2 commit -m "Share data on S3"');
    await example('d2 push');
    await example('d2 push HEAD --remote share');
    await example('d2 push --force');
    expect(Number((await example('d2 push --json | tail -1 | jq .data.uploaded')).stdout)).toBeGreaterThanOrEqual(0);
    await example('git clone git@example.com:team/fashion.git && cd fashion && d2 pull && d2 build', work);
    await example('d2 pull --with-models');
    await example('d2 pull HEAD~3 --no-checkout');
    await example('git fetch && d2 pull --exps', path.join(work, 'fashion'));
    await example('git push && d2 push --exps', path.join(work, 'fashion'));

    // the store
    await example('d2 fsck');
    await example('d2 fsck --repair');
    await example('d2 fsck --repair && d2 add --all');
    await example('d2 gc');
    await example('d2 gc --prune');

    // restore: a deleted file, one file, a folder as a commit recorded it
    const a = path.join(proj, 'data', 'fashion', 'shirt', 'a.png');
    const bytes = fs.readFileSync(a);
    fs.rmSync(a);
    await example('d2 restore');
    expect(fs.readFileSync(a)).toEqual(bytes);
    fs.rmSync(a);
    await example('d2 restore data/fashion/shirt/a.png');
    expect(fs.existsSync(a)).toBe(true);
    await example('d2 restore data/fashion --rev HEAD~1');

    // history
    await example('d2 log');
    await example('d2 log -n 5');
    await example('d2 log HEAD~3 --json');

    // the journal: notes and the log
    await git(['notes', '--ref', 'd2', 'remove', '--ignore-missing', 'HEAD'], proj);
    await example('d2 note -m "thorough preset: +2 points; shirts still confused with tops"');
    await example('d2 note HEAD~2 --append -m "the drop came from the new coats, see d2 diff HEAD~3 HEAD~2"');
    await example('d2 note --edit');
    await setup(['note', 'HEAD~1', '-m', 'a note to show and remove']);
    await example('d2 note HEAD~1');
    await example('d2 note HEAD~1 --remove');
    await example('d2 log --metrics -n 20');
    await example('d2 log --md > journal.md');
    await example('d2 log HEAD~3 --json | tail -1 | jq .data.commits[0].change', proj, [0]);

    // experiments: 'exp-1a2b3c4' in the examples is the experiment made here under that name
    await setup(['exp', 'run', '--set', 'model.seed=3', '--name', 'exp-1a2b3c4']);
    await example('d2 exp run --set model.seed=1');
    await example('d2 exp run --set model.preset=thorough -m "does a bigger model help?"');
    await example('d2 exp run --set model.preset=thorough');
    await example("d2 exp run -S 'preprocess.image=[{resize: {width: 32, height: 32}}, {channels: 1}]' -m 'upscale'");
    await example("d2 exp run --set 'dataset.split={seed: 7, train: 0.8, validation: 0.1, test: 0.1}' --name split-7");
    await example('d2 exp run --set model.timeBudget=');
    await example('d2 exp list');
    await example('d2 exp list --sort macroF1');
    await example('d2 exp list --md >> journal.md');
    await example('d2 exp show exp-1a2b3c4');
    await example('d2 exp show exp-1a2b3c4 --json | tail -1 | jq .data.experiment.settings');
    await example('d2 diff HEAD exp-1a2b3c4');
    await example('d2 exp apply exp-1a2b3c4 && d2 commit -m "thorough preset"');
    await setup(['exp', 'run', '--set', 'model.seed=4', '--name', 'exp-1a2b3c4', '--force']);
    await example('d2 exp apply exp-1a2b3c4 && d2 commit -m "thorough preset: +2 points"');
    await setup(['exp', 'run', '--set', 'model.seed=5', '--name', 'exp-1a2b3c4', '--force']);
    await example('d2 exp remove exp-1a2b3c4 split-7');
    await example('d2 exp remove --all');

    // suggest: new-photos added as a pool to label later
    await example('d2 add new-photos --unlabelled');
    await setup(['build']);
    await example('d2 suggest');
    await example('d2 suggest -n 100 --source new-photos');
    await example('d2 suggest --csv > to-label.csv');
    expect(fs.readFileSync(path.join(proj, 'to-label.csv'), 'utf8')).toMatch(/^path,label,decision/);
    await example('d2 suggest --format label-studio > tasks.json');
    expect(JSON.parse(fs.readFileSync(path.join(proj, 'tasks.json'), 'utf8'))).toBeInstanceOf(Array);
    await example('d2 suggest --format label-studio-config > config.xml');
    await example('d2 suggest --strategy random -n 50');

    // report and CI
    await setup(['commit', '-m', 'new photos and a model']);
    await example('d2 report');
    await example('d2 report HEAD~1..HEAD --out review.html');
    await example('d2 report main..HEAD --md --link "$RUN_URL" > comment.md');
    await git(['tag', 'v1', 'HEAD'], proj);
    await example('d2 report v1 --map umap');
    await example('d2 ci init github', fresh);
    await example('d2 ci init github --force --fail-on accuracy-drop=0.005,recall-drop=0.05,broken-model-tests', fresh);
    fs.rmSync(path.join(fresh, '.github'), { recursive: true, force: true });
    await example('d2 ci init github && git add .github && git commit -m "CI: d2 on pull requests"', fresh);

    // review and label, in a project shaped like the bundled example (source 'images')
    const rev = path.join(work, 'review');
    fs.mkdirSync(rev);
    for (const cls of ['bag', 'coat', 'shirt', 'tshirt_top']) copyClass(cls, path.join(rev, 'images', cls), 20);
    fs.copyFileSync(path.join(FIXTURE_IMAGES, 'shirt', 't10k-00040.png'), path.join(rev, 'images', 'shirt', 't10k-00040.png'));
    await setup(['init'], rev);
    await setup(['add', 'images', '--labels', 'dirname'], rev);
    fs.appendFileSync(path.join(rev, 'd2.yaml'), '\nmodel:\n  preset: fast\n');
    await setup(['commit', '-m', 'images'], rev);
    for (const m of ['one', 'two', 'three']) await git(['commit', '-q', '--allow-empty', '-m', m], rev);
    await example('d2 review', rev);
    await example('d2 review HEAD --since HEAD~3 --limit 50', rev);
    await example('d2 review --class shirt --class tshirt_top', rev);
    await example('d2 review --csv > review.csv', rev);
    await example('d2 review --json | tail -1 | jq .data.crossValidation.accuracy', rev);
    await example('d2 label images/shirt/t10k-00040.png --as tshirt_top', rev);
    await example('d2 label --keep images/coat/t10k-00006.png images/coat/t10k-00010.png', rev);
    await example('d2 label images/bag/t10k-00018.png --as-model-test', rev);
    await example('d2 review --csv > review.csv && d2 label --from review.csv', rev);
    await example('git diff && d2 commit -m "review: 3 relabels"', rev);

    // the table examples, in a table project
    await setup(['init'], table);
    await example('d2 add data/houses.csv --label-column price_band', table);
    await setup(['build'], table);
    await example('d2 predict houses.csv --csv > predictions.csv', table);
    expect(fs.readFileSync(path.join(table, 'predictions.csv'), 'utf8')).toMatch(/^input,rank,label,probability,error\n/);

    // the text examples, in a text project
    await setup(['init'], texts);
    await example('d2 add data/tickets.csv --text-column body --label-column team', texts);
    await setup(['build'], texts);
    const stdin = await example('echo "printer jammed again" | d2 predict --stdin --top 1', texts);
    expect(stdin.stdout).toMatch(/text:1 +hardware/);
  }, 600_000);

  it('leaves no example of any --help unrun', async () => {
    const all = await helpExamples(proj);
    expect(all.size).toBeGreaterThan(40);
    const unrun = [...all.keys()].filter((e) => !ran.has(e));
    expect(unrun).toEqual([]);
  });
});
