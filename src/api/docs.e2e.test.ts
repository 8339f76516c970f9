/**
 * The examples of docs/api.md run as written: every `js` block, in order, as an ES module in a
 * folder where 'd2' is an installed package (node_modules/d2), next to `shoes/photos/<label>/`
 * and `shoes/new/boot.png` as the page says.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { copyFixtureImages, FIXTURE_IMAGES, REPO_ROOT, tempDir, TEST_ENV } from '../testing/index.js';

function jsBlocks(markdown: string): { heading: string; code: string }[] {
  const out: { heading: string; code: string }[] = [];
  let heading = '';
  const re = /^## (.+)$|^```js\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) {
    if (m[1] !== undefined) heading = m[1];
    else out.push({ heading, code: m[2]! });
  }
  return out;
}

describe('docs/api.md', { tags: ['slow'] }, () => {
  const blocks = jsBlocks(fs.readFileSync(path.join(REPO_ROOT, 'docs', 'api.md'), 'utf8'));
  const runnable = blocks.filter((b) => /\bawait\b/.test(b.code)); // the first block only lists the imports

  it('has an example for every section of the API', () => {
    expect(runnable.map((b) => b.heading)).toEqual([
      'Project and data', 'Build: train and evaluate', 'Evaluation: stored per-item predictions', 'Diff', 'Review and label: likely label errors', 'Predict', 'Export and load a bundle', 'Remotes: push, pull, gc', 'Report and CI', 'Journal: notes, log, experiments',
    ]);
    const exported = Object.keys(blocks.map((b) => b.code).join('\n').match(/import \{[^}]+\} from 'd2'/g)!.join(' ').match(/\b\w+\b/g)!.reduce((a, w) => ({ ...a, [w]: 1 }), {}));
    for (const name of ['init', 'add', 'status', 'commit', 'log', 'data', 'fsck', 'openProject', 'build', 'readEvaluation', 'diff', 'review', 'label', 'predict', 'predictStream', 'loadModel', 'topK', 'exportModel', 'loadBundle', 'remoteAdd', 'remoteList', 'push', 'pull', 'gc', 'report', 'ciInit', 'note', 'expRun', 'expList', 'expApply']) {
      expect(exported, name).toContain(name);
    }
  });

  it('runs every example as written', async () => {
    // Given a folder of labelled photos and one new photo, and d2 installed as a package
    const work = tempDir('d2-docs-');
    fs.mkdirSync(path.join(work, 'node_modules'));
    fs.symlinkSync(REPO_ROOT, path.join(work, 'node_modules', 'd2'), 'dir');
    copyFixtureImages(path.join(work, 'shoes', 'photos'), { perClass: 8, classes: 4 });
    const boots = path.join(FIXTURE_IMAGES, 'ankle_boot');
    fs.mkdirSync(path.join(work, 'shoes', 'new'));
    fs.copyFileSync(path.join(boots, fs.readdirSync(boots).sort().at(-1)!), path.join(work, 'shoes', 'new', 'boot.png'));
    for (const [i, block] of runnable.entries()) {
      const file = path.join(work, `example-${i + 1}.mjs`);
      fs.writeFileSync(file, block.code);
      const r = await execa(process.execPath, [file], { cwd: work, env: TEST_ENV, reject: false });
      expect(r.exitCode, `${block.heading}:\n${String(r.stderr)}`).toBe(0);
      expect(String(r.stdout).length, block.heading).toBeGreaterThan(0);
      // the quick preset keeps this test short; the page's examples use the defaults
      if (i === 0) fs.appendFileSync(path.join(work, 'shoes', 'd2.yaml'), '\nmodel:\n  preset: fast\n');
    }
    expect(fs.existsSync(path.join(work, 'shoes', 'model', 'model.json'))).toBe(true);
  });
});
