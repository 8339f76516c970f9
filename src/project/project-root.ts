/**
 * Where a project is: the nearest folder, from `start` upwards, holding d2.yaml (as git
 * searches for .git). Its own module, free of the manifest's parser, so that the launcher's
 * head start (cli/prefetch.ts) can find a project before d2's heavier modules load.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MANIFEST_FILE } from '../manifest/manifest-file.js';

/** The nearest folder, from `start` upwards, holding an entry called `name`. */
export function findUpwards(start: string, name: string): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    if (fs.existsSync(path.join(dir, name))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function findProjectRoot(start: string): string | undefined {
  return findUpwards(start, MANIFEST_FILE);
}
