/**
 * `d2 log`: the commits of the project, newest first, each with what d2 recorded in it (items
 * per source; later, the build's headline metrics from d2.lock).
 */
import type { CommonOptions } from '../core/progress.js';
import { listFilesAtCommit, logCommits, openGitRepo, readFileAtCommit, resolveRev } from '../git/index.js';
import { LOCK_FILE, parseLock, SOURCES_DIR, type Lock } from '../manifest/index.js';
import { relativePosix } from '../util/paths.js';
import { openProject } from '../project/project.js';
import { parseSnapshotText } from '../project/sources.js';
import { withCaller } from './verb.js';

export interface LogOptions extends CommonOptions {
  /** Start from this revision (default HEAD). */
  rev?: string;
  /** At most this many commits. */
  limit?: number;
}

export interface LogEntry {
  commit: string;
  message: string;
  author: { name: string; email: string };
  time: string;
  parents: string[];
  /** Items per source recorded in this commit. */
  sources: Record<string, { items: number; bytes: number; labelled: number }>;
  /** The model recorded in this commit's d2.lock (null when the commit has none). */
  model: { oid: string; preset: string; engine: string; metrics: Lock['metrics'] } | null;
}

export interface LogResult {
  commits: LogEntry[];
}

export async function log(options: LogOptions = {}): Promise<LogResult> {
  return withCaller('d2.log', async () => {
    const project = openProject(options.dir);
    const repo = await openGitRepo(project.root);
    const ref = options.rev === undefined ? undefined : await resolveRev(repo, options.rev);
    const commits = await logCommits(repo, { ref, depth: options.limit });
    const prefix = relativePosix(repo.dir, project.root);
    const dir = prefix === '.' ? SOURCES_DIR : `${prefix}/${SOURCES_DIR}`;
    const out: LogEntry[] = [];
    for (const c of commits) {
      const sources: LogEntry['sources'] = {};
      for (const file of await listFilesAtCommit(repo, c.oid, dir)) {
        if (!file.endsWith('.yaml')) continue;
        const text = await readFileAtCommit(repo, c.oid, file);
        if (text === undefined) continue;
        try {
          const s = parseSnapshotText(text, file);
          sources[s.source] = { items: s.items, bytes: s.bytes, labelled: s.labelled };
        } catch {
          // an old or damaged snapshot does not hide the commit from the log
        }
      }
      const lockText = await readFileAtCommit(repo, c.oid, prefix === '.' ? LOCK_FILE : `${prefix}/${LOCK_FILE}`);
      const lock = lockText === undefined ? undefined : parseLock(lockText).lock;
      const model = lock ? { oid: lock.model.oid, preset: lock.model.preset, engine: lock.model.engine, metrics: lock.metrics } : null;
      out.push({ commit: c.oid, message: c.message, author: { name: c.author.name, email: c.author.email }, time: c.author.time, parents: c.parents, sources, model });
    }
    return { commits: out };
  });
}
