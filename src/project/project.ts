/**
 * Opening a project: find its root (the folder holding d2.yaml, searched upwards like git
 * searches for .git), load and validate the manifest, and open its store. Every api verb but
 * `init` starts here (through api/verb.ts).
 *
 * Invariant: `root` is the real path of the folder holding d2.yaml; every path d2 writes is
 * inside it (or inside its `.d2/` store).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ManifestInvalid, NotAProject } from '../errors/index.js';
import { formatIssue, MANIFEST_FILE, parseManifest, type Manifest } from '../manifest/index.js';
import type { CommonOptions } from '../core/progress.js';
import { acquireLock, describeHolder, ObjectStore } from '../store/index.js';
import { findProjectRoot } from './project-root.js';

export { findProjectRoot };

export interface Project {
  /** Absolute, real path of the folder holding d2.yaml. */
  root: string;
  manifest: Manifest;
  manifestText: string;
  store: ObjectStore;
}

/** Parse manifest text or throw ManifestInvalid listing every problem with its position. */
export function loadManifest(text: string, file = MANIFEST_FILE): Manifest {
  const { manifest, issues } = parseManifest(text);
  if (manifest) return manifest;
  const lines = issues.map((i) => formatIssue(file, i));
  throw new ManifestInvalid(lines.length > 1 ? `${lines[0]} (and ${lines.length - 1} more)` : lines[0]!, {
    data: { file, issues: issues.map((i) => ({ file, ...i })) },
    hint: `fix ${file} (every key is described in docs/manifest.md)`,
  });
}

export function openProject(dir = '.'): Project {
  const root = findProjectRoot(dir);
  if (!root) {
    throw new NotAProject(`not a d2 project (or any parent up to the filesystem root): no '${MANIFEST_FILE}' in '${path.resolve(dir)}'`, {
      hint: "run 'd2 init' to start one here",
    });
  }
  const real = fs.realpathSync(root);
  const manifestText = fs.readFileSync(path.join(real, MANIFEST_FILE), 'utf8');
  const manifest = loadManifest(manifestText);
  const store = new ObjectStore(real);
  store.checkFormat();
  return { root: real, manifest, manifestText, store };
}

/**
 * Run `body` holding the store lock (`.d2/lock`, named `command` for whoever waits on it; the
 * wait is reported as a `lock` progress event), with the store folders made. The lock is
 * released however the body ends.
 */
export async function withStoreLock<T>(project: Project, command: string, options: CommonOptions & { lockTimeoutMs?: number | undefined }, body: () => Promise<T>): Promise<T> {
  // A fresh clone has no .d2/: the store is made on first use (idempotent, atomic).
  project.store.init();
  const lock = await acquireLock(project.store.dir, {
    command,
    timeoutMs: options.lockTimeoutMs,
    signal: options.signal,
    onWait: (holder) => options.onProgress?.({ phase: 'lock', loaded: 0, detail: { waitingFor: describeHolder(holder) } }),
  });
  try {
    return await body();
  } finally {
    lock.release();
  }
}
