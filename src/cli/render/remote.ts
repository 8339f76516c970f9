/** Text views of the remote commands' results: remote list, push, pull, gc. */
import type { GcResult, PullResult, PushResult, RemoteInfo, RemoteListResult } from '../../index.js';
import { formatBytes, plural, type Style } from './style.js';

function remoteLine(r: RemoteInfo, s: Style): string {
  const extra = [r.endpoint && `endpoint ${r.endpoint}`, r.region && `region ${r.region}`, r.pathStyle !== undefined && `path-style ${r.pathStyle}`].filter(Boolean);
  return `${r.default ? s.green('*') : ' '} ${s.bold(r.name)}  ${r.url}${extra.length ? s.dim(`  (${extra.join(', ')})`) : ''}`;
}

export function renderRemoteList(r: RemoteListResult, s: Style): string {
  if (!r.remotes.length) return `${s.dim("no remotes: add one with 'd2 remote add origin s3://bucket/prefix' (or a shared folder path)")}\n`;
  return `${r.remotes.map((x) => remoteLine(x, s)).join('\n')}\n`;
}

export function renderRemoteAdded(r: RemoteInfo, s: Style): string {
  return `${remoteLine(r, s)}\n${s.dim(`recorded in d2.remotes.yaml: 'd2 commit' shares it with clones; credentials stay in your environment`)}\n`;
}

function rate(n: number, seconds: number): string {
  return seconds > 0 && n > 0 ? `, ${Math.round(n / seconds).toLocaleString('en-US')} objects/s` : '';
}

export function renderPush(r: PushResult, s: Style): string {
  const lines = [
    `${r.uploaded ? s.green(`pushed ${plural(r.uploaded, 'object')} (${formatBytes(r.bytes)})`) : 'nothing to push'} to '${r.remote}' (${r.location}) in ${r.seconds.toFixed(1)} s${rate(r.uploaded, r.seconds)}`,
    s.dim(`${plural(r.revisions, 'revision')} need ${plural(r.needed, 'object')} this store has; already on the remote: ${r.present.toLocaleString('en-US')}`),
  ];
  if (r.notBuiltHere) lines.push(s.dim(`${plural(r.notBuiltHere, 'model object')} named by d2.lock files were never built here (nothing to send)`));
  return `${lines.join('\n')}\n`;
}

export function renderPull(r: PullResult, s: Style): string {
  const lines = [
    `${r.fetched ? s.green(`fetched ${plural(r.fetched, 'object')} (${formatBytes(r.bytes)})`) : 'nothing to fetch'} from '${r.remote}' (${r.location}) in ${r.seconds.toFixed(1)} s${rate(r.fetched, r.seconds)}`,
    s.dim(`${plural(r.revisions, 'revision')} need ${plural(r.needed, 'object')}; already here: ${r.present.toLocaleString('en-US')}`),
  ];
  if (r.builds) lines.push(`${plural(r.builds, 'build')} ready to reuse (d2 build will not train them again)`);
  if (r.restored) lines.push(`restored ${plural(r.restored, 'working file')}`);
  if (r.keptModified) lines.push(s.yellow(`${plural(r.keptModified, 'working file')} differ from the commit and were left as they are (see d2 status)`));
  return `${lines.join('\n')}\n`;
}

export function renderGc(r: GcResult, s: Style): string {
  const lines = [`${plural(r.objects, 'object')} in the store; ${r.referenced.toLocaleString('en-US')} referenced by ${plural(r.revisions, 'revision')} (working tree included)`];
  if (!r.unreferenced) lines.push(s.green('nothing to collect'));
  else if (r.dryRun) lines.push(`${plural(r.unreferenced, 'unreferenced object')} (${formatBytes(r.unreferencedBytes)}) would be deleted: run 'd2 gc --prune'`);
  else lines.push(s.green(`deleted ${plural(r.deleted, 'object')} (${formatBytes(r.deletedBytes)})`) + (r.pointersCleaned ? s.dim(`; ${plural(r.pointersCleaned, 'cache pointer')} cleaned`) : ''));
  return `${lines.join('\n')}\n`;
}
