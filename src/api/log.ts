/**
 * `d2 log`: the research journal — the commits of the project, newest first, each with the data
 * change in one phrase, the headline metrics of its d2.lock and their change from the previous
 * build, the model tests it broke, and its note (project/journal.ts computes the entries).
 */
import type { CommonOptions } from '../core/progress.js';
import { RevisionReader } from '../project/revision.js';
import { readJournal, type BuildState, type JournalEntry } from '../project/journal.js';
import { runVerb } from './verb.js';

export type { BuildState };
export type { DataChange, Headline, HeadlineDelta, ModelTestsSummary } from '../core/journal.js';

export interface LogOptions extends CommonOptions {
  /** Start from this revision (default HEAD). */
  rev?: string;
  /** At most this many commits. */
  limit?: number;
  /**
   * Count relabels per commit (default true). It reads every changed labels file; `false`
   * (what `d2 log --metrics` does, which does not show them) leaves `change.relabels` null.
   */
  relabels?: boolean;
}

/** One commit of the journal. */
export type LogEntry = JournalEntry;

export interface LogResult {
  commits: LogEntry[];
}

/**
 * The journal of the project's commits, newest first.
 *
 * @example
 * for (const c of (await log({ dir: 'my-dataset', limit: 10 })).commits) {
 *   console.log(c.commit.slice(0, 7), c.change.summary, c.headline?.accuracy, c.delta?.accuracy, c.note);
 * }
 */
export async function log(options: LogOptions = {}): Promise<LogResult> {
  return runVerb('d2.log', options, {}, async (project) => {
    const reader = await RevisionReader.open(project);
    const ref = options.rev === undefined ? undefined : await reader.resolve(options.rev);
    const commits = await readJournal(reader, {
      ...(ref !== undefined ? { ref } : {}),
      ...(options.limit ? { limit: options.limit } : {}),
      ...(options.relabels === false ? { relabels: false } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { commits };
  });
}
