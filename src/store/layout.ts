/**
 * The names of `.d2/`: the one place a path inside the store folder is spelt (the object
 * shards live in object-store.ts, the notes of `state/` in state-files.ts, both built on
 * these). Light on purpose: the launcher's head start imports it before d2 loads.
 */
import path from 'node:path';

export const STORE_DIR = '.d2';

/** `.d2/` of a project. */
export function storeDirOf(projectRoot: string): string {
  return path.join(projectRoot, STORE_DIR);
}

/** `.d2/state/` of a project. */
export function stateDirOf(projectRoot: string): string {
  return path.join(projectRoot, STORE_DIR, 'state');
}

/** `.d2/format`, the store's format marker. */
export function formatFileOf(projectRoot: string): string {
  return path.join(projectRoot, STORE_DIR, 'format');
}
