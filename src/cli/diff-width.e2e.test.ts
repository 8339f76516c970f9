/**
 * End-to-end: `d2 diff`'s text view fits 100 columns whatever the data's names — long class
 * names, deep paths — with paths cut in their middle (start and file name kept).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURE_IMAGES, lastJson, runD2, tempDir } from '../testing/index.js';

async function ok(args: string[], cwd: string): Promise<any> {
  const r = await runD2([...args, '--json'], { cwd });
  expect(r.exitCode, `d2 ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
  return lastJson(r.stdout).data;
}

describe('d2 diff text view', () => {
  it('keeps every line within 100 columns with long class names and deep paths', async () => {
    const dir = tempDir('d2-diff-width-');
    await ok(['init'], dir);
    const deep = 'a-deeply-nested-folder-of-product-photos/taken-on-the-second-production-line/batch-2026-12';
    const long = (c: string) => `${c}-as-labelled-by-the-quality-team-in-the-first-review-round`;
    const rows: string[] = ['path,label'];
    for (const cls of ['bag', 'coat', 'sandal']) {
      const files = fs.readdirSync(path.join(FIXTURE_IMAGES, cls)).sort().slice(0, 14);
      for (const f of files) {
        const rel = `${deep}/${cls}-${f}`;
        fs.mkdirSync(path.join(dir, 'img', path.dirname(rel)), { recursive: true });
        fs.copyFileSync(path.join(FIXTURE_IMAGES, cls, f), path.join(dir, 'img', rel));
        rows.push(`${rel},${long(cls)}`);
      }
    }
    fs.writeFileSync(path.join(dir, 'labels.csv'), `${rows.join('\n')}\n`);
    await ok(['add', 'img', '--labels', 'labels.csv'], dir);
    fs.appendFileSync(path.join(dir, 'd2.yaml'), '\nmodel:\n  preset: fast\n  seed: 5\n');
    await ok(['build'], dir);
    await ok(['commit', '-m', 'first'], dir);
    // relabel every bag as a coat: 14 one-line changes
    const csv = path.join(dir, 'd2.sources', 'img.labels.csv');
    fs.writeFileSync(csv, fs.readFileSync(csv, 'utf8').replaceAll(`,${long('bag')}`, `,${long('coat')}`));
    await ok(['build'], dir);
    await ok(['commit', '-m', 'relabel'], dir);
    for (const args of [['diff', 'HEAD~1', 'HEAD'], ['diff', 'HEAD~1', 'HEAD', '--limit', '0']]) {
      const r = await runD2(args, { cwd: dir });
      expect(r.exitCode, r.stderr).toBe(0);
      const lines = r.stdout.split('\n');
      expect(lines.some((l) => l.includes('relabelled'))).toBe(true);
      for (const l of lines) expect([...l].length, l).toBeLessThanOrEqual(100);
      // a cut path keeps its file name
      expect(r.stdout).toMatch(/…[^\s]*\.png/);
    }
  });
});
