/**
 * The one helper every verb runs through: stamp the caller on D2Errors (isomorphic-git's
 * `caller`), open the project, and — for verbs that write to the store — take the store lock,
 * reporting the wait as a `lock` progress event, and release it however the body ends.
 *
 * Invariants: a verb that writes holds `.d2/lock` for its whole body; the store folders exist
 * before the body runs (a fresh `git clone` has no `.d2/`: it is created on first use); the
 * lock is released on success, error and abort alike.
 */
import type { CommonOptions } from '../core/progress.js';
import { D2Error } from '../errors/index.js';
import { openProject, withStoreLock, type Project } from '../project/project.js';

/** Run an api body, stamping D2Errors with the api function's name. */
export async function withCaller<T>(caller: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof D2Error && e.caller === undefined) e.caller = caller;
    throw e;
  }
}

export interface VerbOptions extends CommonOptions {
  lockTimeoutMs?: number;
}

/**
 * Run a verb over its project. With `lock`, the store lock is held (named `command` for
 * whoever waits on it) and the store folders are made.
 */
export async function runVerb<T>(
  caller: string,
  options: VerbOptions,
  spec: { lock?: string },
  body: (project: Project) => Promise<T>,
): Promise<T> {
  return withCaller(caller, async () => {
    const project = openProject(options.dir);
    if (!spec.lock) return body(project);
    return withStoreLock(project, spec.lock, options, () => body(project));
  });
}
