/**
 * The library as a user imports it: by package name ('d2'), not by relative path.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyFixtureImages, tempDir } from '../testing/index.js';

describe("import { … } from 'd2'", () => {
  it('runs init, add, status, commit, log, fsck and reports progress', async () => {
    const d2 = await import('d2');
    const dir = path.join(tempDir(), 'proj');
    const init = await d2.init({ dir });
    expect(init.created).toMatchObject({ manifest: true, store: true, gitRepository: true });
    copyFixtureImages(path.join(dir, 'img'), { perClass: 2, classes: 2 });
    const phases = new Set<string>();
    const added = await d2.add({ dir, paths: ['img'], labels: 'dirname', onProgress: (e) => phases.add(e.phase) });
    expect(added.sources[0]).toMatchObject({ source: 'img', items: 4, labelled: 4 });
    expect([...phases]).toEqual(expect.arrayContaining(['walk', 'hash', 'flush']));
    const st = await d2.status({ dir });
    expect(st.sources[0]!.staged.files.added).toHaveLength(4);
    const c = await d2.commit({ dir, message: 'four images', env: { GIT_AUTHOR_NAME: 'lib', GIT_AUTHOR_EMAIL: 'lib@example.invalid' } });
    expect(c.commit).toMatch(/^[0-9a-f]{40}$/);
    expect((await d2.log({ dir })).commits[0]!.message).toBe('four images');
    expect((await d2.fsck({ dir })).ok).toBe(true);
    expect(fs.existsSync(path.join(dir, '.d2', 'lock'))).toBe(false);
  });

  it('throws typed errors with stable codes', async () => {
    const d2 = await import('d2');
    const err = await d2.status({ dir: tempDir() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(d2.NotAProject);
    expect(err).toMatchObject({ code: 'NotAProject', caller: 'd2.status' });
  });

  it('refuses options it does not know, and a string where a list goes, before touching the project', async () => {
    const d2 = await import('d2');
    const dir = tempDir();
    await expect(d2.build({ dir, preset: 'fast' } as never)).rejects.toMatchObject({
      code: 'InvalidArgument', caller: 'd2.build', message: "unknown option 'preset'", hint: expect.stringContaining("'model.preset'"),
    });
    await expect(d2.data({ dir, revv: 'HEAD' } as never)).rejects.toMatchObject({ code: 'InvalidArgument', message: "unknown option 'revv' (did you mean 'rev'?)" });
    await expect(d2.add({ dir, paths: 'photos' } as never)).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining("option 'paths' must be a list of strings: [\"photos\"]") });
    await expect(d2.status({ dir, sources: 'img' } as never)).rejects.toMatchObject({ code: 'InvalidArgument' });
    // an option set to undefined is the same as leaving it out
    await expect(d2.status({ dir, sources: undefined, nothing: undefined } as never)).rejects.toMatchObject({ code: 'NotAProject' });
  });
});
