/**
 * The one helper every verb runs through: stamp the caller on D2Errors (isomorphic-git's
 * `caller`), open the project, and — for verbs that write to the store — take the store lock,
 * reporting the wait as a `lock` progress event, and release it however the body ends.
 *
 * It also checks a verb's options as a script passes them: an unknown option (a typo, or a
 * setting that lives in d2.yaml) is an error, not silently ignored.
 *
 * Invariants: a verb that writes holds `.d2/lock` for its whole body; the store folders exist
 * before the body runs (a fresh `git clone` has no `.d2/`: it is created on first use); the
 * lock is released on success, error and abort alike.
 */
import type { CommonOptions } from '../core/progress.js';
import { D2Error, InvalidArgument } from '../errors/index.js';
import { editDistance } from '../util/edit-distance.js';
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
 * Run a verb over its project. With `options`, the caller's options are checked first
 * (`checkOptions`); with `lock`, the store lock is held (named `command` for whoever waits on
 * it) and the store folders are made.
 */
export async function runVerb<T, O extends VerbOptions>(
  caller: string,
  options: O,
  spec: { lock?: string; options?: Record<keyof O, true>; lists?: readonly (keyof O)[] },
  body: (project: Project) => Promise<T>,
): Promise<T> {
  return withCaller(caller, async () => {
    if (spec.options) checkOptions(options, spec.options, spec.lists ?? []);
    const project = openProject(options.dir);
    if (!spec.lock) return body(project);
    return withStoreLock(project, spec.lock, options, () => body(project));
  });
}

/** Settings that live in d2.yaml, not in options: where to set each instead. */
const IN_MANIFEST: Record<string, string> = {
  preset: 'model.preset', seed: 'model.seed', timeBudget: 'model.timeBudget', split: 'dataset.split',
  labelMap: 'dataset.labelMap', filter: 'dataset.filter', allowLeakage: 'dataset.allowLeakage', preprocess: 'preprocess',
};

/**
 * Check a verb's options: every key must be one the verb knows (`known`: a record over its
 * options type, so the compiler keeps it complete); `paths`-like options must be lists.
 */
export function checkOptions<T extends object>(options: T | undefined, known: Record<keyof T, true>, lists: readonly (keyof T)[] = []): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object') throw new InvalidArgument(`options must be an object, not ${typeof options}`);
  const names = Object.keys(known);
  for (const key of Object.keys(options)) {
    if (Object.prototype.hasOwnProperty.call(known, key) || (options as Record<string, unknown>)[key] === undefined) continue;
    const where = IN_MANIFEST[key];
    const close = names.filter((n) => editDistance(n.toLowerCase(), key.toLowerCase()) <= 2).sort((a, b) => editDistance(a, key) - editDistance(b, key))[0];
    throw new InvalidArgument(`unknown option '${key}'${close ? ` (did you mean '${close}'?)` : ''}`, {
      data: { option: key, known: names },
      hint: where ? `'${key}' is set in d2.yaml ('${where}'), so that every build of a commit uses it` : `known options: ${names.join(', ')}`,
    });
  }
  for (const key of lists) {
    const v = (options as Record<string, unknown>)[key as string];
    if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) {
      throw new InvalidArgument(`option '${String(key)}' must be a list of strings${typeof v === 'string' ? `: [${JSON.stringify(v)}], not ${JSON.stringify(v)}` : ''}`, { data: { option: key } });
    }
  }
}

/** The options every verb takes (CommonOptions), as a `checkOptions` record. */
export const COMMON_OPTIONS = { dir: true, onProgress: true, signal: true } as const;
