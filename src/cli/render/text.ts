/**
 * Plain-text views of api results (what a person reads at a terminal). Each takes the api's
 * return value unchanged (the same data `--json` prints) and returns lines for stdout.
 */
import type { AddResult, CommitResult, FileChanges, FsckResult, InitResult, StatusResult, SourceStatus } from '../../index.js';
import { formatBytes, plural, shortOid, type Style } from './style.js';

export function renderInit(r: InitResult, s: Style): string {
  const made: string[] = [];
  if (r.created.manifest) made.push('d2.yaml');
  if (r.created.store) made.push('.d2/ (object store)');
  if (r.created.gitRepository) made.push('a git repository');
  if (r.created.gitignoreEntries.length) made.push('.gitignore entries');
  const head = made.length ? `Initialised d2 project in ${r.root} (created ${made.join(', ')})` : `Reinitialised existing d2 project in ${r.root}`;
  return `${head}\n${s.dim("Next: d2 add <folder> --labels dirname")}\n`;
}

function changeSummary(c: { added: number; modified: number; deleted: number; renamed: number; relabelled?: number }): string {
  const parts: string[] = [];
  if (c.added) parts.push(`${c.added} new`);
  if (c.modified) parts.push(`${c.modified} modified`);
  if (c.deleted) parts.push(`${c.deleted} deleted`);
  if (c.renamed) parts.push(`${c.renamed} renamed`);
  if (c.relabelled) parts.push(`${c.relabelled} relabelled`);
  return parts.length ? parts.join(', ') : 'no changes';
}

export function renderAdd(r: AddResult, s: Style): string {
  const out: string[] = [];
  for (const src of r.sources) {
    out.push(`${s.bold(src.source)}: ${plural(src.items, 'item')} (${formatBytes(src.bytes)}), ${src.labelled} labelled; ${changeSummary(src.changes)}`);
    out.push(s.dim(`  read ${plural(src.filesRead, 'file')}, stored ${plural(src.objectsWritten, 'new object')} (${formatBytes(src.bytesWritten)})${src.hiddenSkipped ? `, skipped ${src.hiddenSkipped} hidden` : ''}`));
    for (const w of src.warnings) out.push(s.yellow(`  warning: ${w}`));
  }
  if (r.manifestUpdated) out.push(s.dim('updated d2.yaml'));
  return `${out.join('\n')}\n${s.dim("Next: d2 status, then d2 commit -m \"…\"")}\n`;
}

function listPaths(out: string[], label: string, paths: readonly string[], limit: number, colour: (x: string) => string): void {
  const shown = limit > 0 ? paths.slice(0, limit) : paths;
  for (const p of shown) out.push(colour(`    ${label.padEnd(11)} ${p}`));
  if (shown.length < paths.length) out.push(`    … and ${paths.length - shown.length} more ${label.replace(/:$/, '')} (--limit 0 shows all)`);
}

function fileLines(out: string[], f: FileChanges, limit: number, s: Style, colourNew: (x: string) => string): void {
  listPaths(out, 'new:', f.added, limit, colourNew);
  listPaths(out, 'modified:', f.modified, limit, s.yellow);
  listPaths(out, 'deleted:', f.deleted, limit, s.red);
  listPaths(out, 'renamed:', f.renamed.map((r) => `${r.from} → ${r.to}`), limit, s.cyan);
}

function counts(f: FileChanges): { added: number; modified: number; deleted: number; renamed: number } {
  return { added: f.added.length, modified: f.modified.length, deleted: f.deleted.length, renamed: f.renamed.length };
}

function hasStaged(src: SourceStatus): boolean {
  const f = src.staged.files;
  return f.added.length + f.modified.length + f.deleted.length + f.renamed.length + src.staged.relabels.length > 0;
}

function hasUnadded(src: SourceStatus): boolean {
  const f = src.notAdded;
  return f.added.length + f.modified.length + f.deleted.length + f.renamed.length + src.notAddedRelabels.length > 0 || src.state === 'untracked';
}

export function renderStatus(r: StatusResult, s: Style, limit: number): string {
  const out: string[] = [];
  out.push(r.head ? `On branch ${r.branch ?? '(detached)'} at ${shortOid(r.head)}` : `On branch ${r.branch ?? 'main'}: no commits yet`);
  const staged = r.sources.filter(hasStaged);
  if (staged.length || r.manifestChanged) {
    out.push('', 'Changes to be committed (d2 commit -m "…"):');
    if (r.manifestChanged) out.push(s.green(r.head ? '  d2.yaml: modified' : '  d2.yaml: new'));
    for (const src of staged) {
      out.push(`  ${s.bold(src.source)}${src.state === 'new' ? ' (new source)' : src.state === 'removed' ? ' (removed source)' : ''}: ${changeSummary({ ...counts(src.staged.files), relabelled: src.staged.relabels.length })}`);
      fileLines(out, src.staged.files, limit, s, s.green);
      listPaths(out, 'relabelled:', src.staged.relabels.map((l) => `${l.path}  ${l.from ?? '(none)'} → ${l.to ?? '(none)'}${l.previousPath ? ` (moved from ${l.previousPath})` : ''}`), limit, s.cyan);
    }
  }
  const unadded = r.sources.filter(hasUnadded);
  if (unadded.length) {
    out.push('', "Not added yet (d2 add <folder>, or d2 add --all):");
    for (const src of unadded) {
      if (src.state === 'untracked') {
        out.push(`  ${s.bold(src.source)}: declared in d2.yaml, never added`);
        continue;
      }
      out.push(`  ${s.bold(src.source)}: ${changeSummary({ ...counts(src.notAdded), relabelled: src.notAddedRelabels.length })}`);
      fileLines(out, src.notAdded, limit, s, s.red);
      listPaths(out, 'relabelled:', src.notAddedRelabels.map((l) => `${l.path}  ${l.from ?? '(none)'} → ${l.to ?? '(none)'}`), limit, s.cyan);
    }
  }
  const problems = r.sources.flatMap((src) => src.problems.map((p) => `${src.source}: ${p.message}`));
  if (problems.length) {
    out.push('', 'Problems:');
    for (const p of problems.slice(0, limit > 0 ? limit : undefined)) out.push(s.yellow(`  ${p}`));
    if (limit > 0 && problems.length > limit) out.push(`  … and ${problems.length - limit} more`);
  }
  for (const src of r.sources) {
    if (src.missingListing) out.push(s.yellow(`warning: the listing of '${src.source}' in the last commit is not in the local store`));
  }
  out.push('', r.clean ? `nothing to commit: ${plural(r.filesChecked, 'file')} match the last commit` : s.dim(`${plural(r.filesChecked, 'file')} checked, ${r.filesHashed} read`));
  return `${out.join('\n')}\n`;
}

export function renderCommit(r: CommitResult): string {
  return `[${r.branch ?? 'detached'} ${shortOid(r.commit)}] ${plural(r.changed.length, 'file')} changed: ${r.changed.join(', ')}\n`;
}

export function renderFsck(r: FsckResult, s: Style): string {
  const out: string[] = [];
  out.push(`checked ${plural(r.objects, 'object')} (${formatBytes(r.bytes)})`);
  for (const p of r.problems) out.push(s.red(`${p.problem}: ${p.oid} ${p.detail}${p.referencedBy ? ` (${p.referencedBy})` : ''}`));
  for (const st of r.strays) out.push(s.yellow(`stray file: .d2/${st}`));
  if (r.quarantined.length) out.push(`moved ${plural(r.quarantined.length, 'damaged object')} to .d2/quarantine/${r.repaired.length ? '' : "; run 'd2 add --all' to store them again (or configure a remote and run 'd2 fsck --repair')"}`);
  if (r.repaired.length) out.push(s.green(`fetched good copies of ${plural(r.repaired.length, 'object')} from the remote`));
  if (r.absentModels) out.push(s.dim(`${plural(r.absentModels, 'model object')} named by d2.lock files are not here (not a fault: 'd2 pull --with-models' or 'd2 build' makes them)`));
  const left = r.problems.filter((p) => !r.repaired.includes(p.oid)).length;
  out.push(r.ok ? s.green(`ok (${plural(r.revisions, 'revision')} checked)`) : s.red(`${plural(left, 'problem')} found`));
  return `${out.join('\n')}\n`;
}
