/**
 * `d2 remote add|list|remove`: the project's remotes, kept in the committed `d2.remotes.yaml`
 * (manifest/remotes-file.ts) so a clone knows where its data is. Also opens a configured remote
 * for push, pull and fsck.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommonOptions } from '../core/progress.js';
import { InvalidArgument, ManifestInvalid } from '../errors/index.js';
import { emptyRemotes, parseRemotes, REMOTE_NAME, REMOTES_FILE, serializeRemotes, type RemoteEntry, type RemotesFile } from '../manifest/index.js';
import { configureSharing, findGitRoot, type RemoteSharing } from '../git/index.js';
import { parseRemoteUrl } from '../remote/index.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { openProject, withStoreLock, type Project } from '../project/project.js';
import { readRemotes, unknownRemote } from '../project/remotes.js';
import { withCaller } from './verb.js';

export interface RemoteInfo extends RemoteEntry {
  name: string;
  /** 's3' or 'folder'. */
  kind: 's3' | 'folder';
  default: boolean;
  /** `remoteAdd` only: git remotes given the refspecs that carry d2's notes and experiments now. */
  gitSharing?: RemoteSharing[];
}

export interface RemoteListResult {
  file: string;
  remotes: RemoteInfo[];
}

export interface RemoteAddOptions extends CommonOptions {
  name: string;
  url: string;
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
  /** Make it the default remote (the first remote added is the default anyway). */
  setDefault?: boolean;
  /** Replace a remote of that name. */
  force?: boolean;
  lockTimeoutMs?: number;
}

export interface RemoteRemoveOptions extends CommonOptions {
  name: string;
  lockTimeoutMs?: number;
}


function writeRemotes(project: Project, r: RemotesFile): void {
  writeFileAtomicSync(path.join(project.root, REMOTES_FILE), serializeRemotes(r));
}

function infoOf(r: RemotesFile, name: string, root: string): RemoteInfo {
  const e = r.remotes[name]!;
  return { name, ...e, kind: parseRemoteUrl(e.url, root).kind, default: r.default === name };
}

export async function remoteList(options: CommonOptions = {}): Promise<RemoteListResult> {
  return withCaller('d2.remoteList', async () => {
    const project = openProject(options.dir);
    const r = readRemotes(project);
    return { file: REMOTES_FILE, remotes: Object.keys(r.remotes).sort().map((n) => infoOf(r, n, project.root)) };
  });
}

export async function remoteAdd(options: RemoteAddOptions): Promise<RemoteInfo> {
  return withCaller('d2.remoteAdd', async () => {
    if (!REMOTE_NAME.test(options.name)) {
      throw new InvalidArgument(`'${options.name}' is not a valid remote name`, { data: { name: options.name }, hint: "use letters, digits, '.', '_' or '-', e.g. 'origin'" });
    }
    const parsed = parseRemoteUrl(options.url, path.resolve(options.dir ?? '.'));
    if (parsed.kind === 'folder' && (options.endpoint !== undefined || options.region !== undefined || options.pathStyle !== undefined)) {
      throw new InvalidArgument(`option 'endpoint', option 'region' and option 'pathStyle' are for S3 remotes, and '${options.url}' is a folder`, { hint: 'drop them, or give an s3://bucket/prefix URL' });
    }
    if (options.endpoint !== undefined && !/^https?:\/\/[^/]/.test(options.endpoint)) {
      throw new InvalidArgument(`endpoint '${options.endpoint}' is not an http(s) URL`, { hint: "e.g. option 'endpoint' http://127.0.0.1:9000" });
    }
    const project = openProject(options.dir);
    return withStoreLock(project, 'd2 remote add', options, async () => {
      const r = readRemotes(project);
      if (r.remotes[options.name] && !options.force) {
        throw new InvalidArgument(`remote '${options.name}' already exists (${r.remotes[options.name]!.url})`, { data: { name: options.name }, hint: `give another name, or replace it with 'd2 remote add --force ${options.name} ${options.url}'` });
      }
      r.remotes[options.name] = {
        url: options.url,
        ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
        ...(options.region !== undefined ? { region: options.region } : {}),
        ...(options.pathStyle !== undefined ? { pathStyle: options.pathStyle } : {}),
      };
      if (options.setDefault || r.default === undefined) r.default = options.name;
      writeRemotes(project, r);
      // An existing clone's git remotes get the refspecs that carry notes and experiments (docs/journal.md).
      const repoRoot = await findGitRoot(project.root);
      const gitSharing = repoRoot ? await configureSharing({ dir: repoRoot, cache: {} }) : [];
      return { ...infoOf(r, options.name, project.root), gitSharing: gitSharing.filter((g) => g.added.length) };
    });
  });
}

export async function remoteRemove(options: RemoteRemoveOptions): Promise<RemoteListResult> {
  return withCaller('d2.remoteRemove', async () => {
    const project = openProject(options.dir);
    return withStoreLock(project, 'd2 remote remove', options, async () => {
      const r = readRemotes(project);
      if (!r.remotes[options.name]) throw unknownRemote(r, options.name);
      delete r.remotes[options.name];
      if (r.default === options.name) {
        const rest = Object.keys(r.remotes).sort();
        if (rest.length === 1) r.default = rest[0];
        else delete r.default;
      }
      writeRemotes(project, r);
      return { file: REMOTES_FILE, remotes: Object.keys(r.remotes).sort().map((n) => infoOf(r, n, project.root)) };
    });
  });
}


