/**
 * The project's configured remotes: `d2.remotes.yaml` (committed; manifest/remotes-file.ts
 * parses it) read and validated, and a remote opened by name (or the default one) through the
 * remote adapter. push, pull and fsck open their remote here.
 *
 * Invariant: the file is untrusted input (it comes with a clone): it is parsed by its format's
 * parser and a damaged one is ManifestInvalid naming the file, never a partial value.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgument, ManifestInvalid } from '../errors/index.js';
import { emptyRemotes, parseRemotes, REMOTES_FILE, type RemotesFile } from '../manifest/index.js';
import { openRemote as openTransport, type Remote } from '../remote/index.js';
import type { Project } from './project.js';

export function readRemotes(project: Project): RemotesFile {
  const file = path.join(project.root, REMOTES_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyRemotes();
    throw e;
  }
  const { remotes, problems } = parseRemotes(text);
  if (!remotes) {
    throw new ManifestInvalid(problems.length > 1 ? `${problems[0]} (and ${problems.length - 1} more)` : problems[0]!, {
      data: { file: REMOTES_FILE, issues: problems },
      hint: `fix ${REMOTES_FILE} by hand, or remove it and add the remotes again with 'd2 remote add' (docs/remotes.md)`,
    });
  }
  return remotes;
}

/** The error for a remote name the file does not have. */
export function unknownRemote(r: RemotesFile, name: string): InvalidArgument {
  const known = Object.keys(r.remotes).sort();
  return new InvalidArgument(`no remote named '${name}'`, {
    data: { name, known },
    hint: known.length ? `known remotes: ${known.join(', ')}` : "add one with 'd2 remote add origin s3://bucket/prefix' (or a shared folder path)",
  });
}

/** The remote `name` names, or the default one. */
export function openConfiguredRemote(project: Project, name?: string): Remote {
  const r = readRemotes(project);
  const chosen = name ?? r.default ?? (Object.keys(r.remotes).length === 1 ? Object.keys(r.remotes)[0] : undefined);
  if (chosen === undefined) {
    const known = Object.keys(r.remotes).sort();
    throw new InvalidArgument(known.length ? "no default remote: name one with option 'remote'" : `no remote configured (${REMOTES_FILE} has none)`, {
      data: { known },
      hint: known.length ? `known remotes: ${known.join(', ')}; or set one with 'd2 remote add --default'` : "add one with 'd2 remote add origin s3://bucket/prefix' (or a shared folder path)",
    });
  }
  const e = r.remotes[chosen];
  if (!e) throw unknownRemote(r, chosen);
  return openTransport({ name: chosen, ...e }, project.root);
}
