/**
 * Plain-text views of api results (what a person reads at a terminal). Each takes the api's
 * return value unchanged (the same data `--json` prints) and returns lines for stdout.
 */
import type { AddResult, CommitResult, FileChanges, FsckResult, InitResult, RestoreResult, StatusResult, SourceStatus } from '../../index.js';
import { formatBytes, plural, shortOid, wrapText, type Style } from './style.js';

export function renderInit(r: InitResult, s: Style): string {
  const made: string[] = [];
  if (r.created.manifest) made.push('d2.yaml');
  if (r.created.store) made.push('.d2/ (object store)');
  if (r.created.gitRepository) made.push('a git repository');
  if (r.created.gitignoreEntries.length) made.push('.gitignore entries');
  const head = made.length ? `Initialised d2 project in ${r.root}\n  created ${made.join(', ')}` : `Reinitialised existing d2 project in ${r.root}`;
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
    const labels = src.pool ? `${src.unlabelled} unlabelled (a pool to label later)${src.labelled ? `, ${src.labelled} labelled` : ''}` : `${src.labelled} labelled`;
    out.push(`${s.bold(src.source)}: ${plural(src.items, 'item')} (${formatBytes(src.bytes)}), ${labels}; ${changeSummary(src.changes)}`);
    out.push(s.dim(`  read ${plural(src.filesRead, 'file')}, stored ${plural(src.objectsWritten, 'new object')} (${formatBytes(src.bytesWritten)})${src.hiddenSkipped ? `, skipped ${src.hiddenSkipped} hidden` : ''}`));
    for (const w of src.warnings) for (const line of wrapText(`  warning: ${w}`)) out.push(s.yellow(line));
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
  // d2's files whose change the lines above do not already show (d2.lock, a hand-edited labels file…).
  const shown = new Set(staged.map((src) => src.source));
  const files = (r.d2Files ?? []).filter((f) => {
    const base = f.path.slice(f.path.lastIndexOf('/') + 1);
    if (base === 'd2.yaml' && r.manifestChanged) return false;
    const m = /(?:^|\/)d2\.sources\/([^/]+?)(?:\.labels\.csv|\.yaml)$/.exec(f.path);
    return !(m && shown.has(m[1]!));
  });
  if (staged.length || r.manifestChanged || files.length) {
    out.push('', 'Changes to be committed (d2 commit -m "…"):');
    if (r.manifestChanged) out.push(s.green(r.head ? '  d2.yaml: modified' : '  d2.yaml: new'));
    for (const f of files) out.push(s.green(`  ${f.path}: ${f.change === 'added' ? 'new' : f.change}`));
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
    if (unadded.some((src) => src.notAdded.deleted.length > 0)) {
      out.push(s.dim("  deleted files: 'd2 restore' brings them back from the local store ('d2 add --all' records the deletion)"));
    }
  }
  // Items without a label, per source: the pool 'd2 suggest' ranks (as 'd2 data' counts them).
  const pools = r.sources.filter((src) => (src.unlabelled ?? 0) > 0);
  if (pools.length) {
    out.push('', "Unlabelled items (not trained on; 'd2 suggest' ranks them for labelling):");
    for (const src of pools) {
      out.push(`  ${s.bold(src.source)}: ${src.unlabelled} of ${plural(src.items ?? 0, 'item')}${src.pool ? ' (a pool to label later)' : ''}`);
    }
  }
  const problems = r.sources.flatMap((src) => src.problems.map((p) => `${src.source}: ${p.message}`));
  if (problems.length) {
    out.push('', 'Problems:');
    for (const p of problems.slice(0, limit > 0 ? limit : undefined)) out.push(s.yellow(`  ${p}`));
    if (limit > 0 && problems.length > limit) out.push(`  … and ${problems.length - limit} more`);
  }
  const missing = r.sources.filter((src) => src.missingListing);
  if (missing.length) {
    out.push('', s.yellow(`Data not in the local store: ${missing.map((src) => src.source).join(', ')}`));
    out.push(s.yellow("  run 'd2 pull' to fetch it from the remote (a fresh clone has none yet)"));
  }
  out.push('', r.clean ? `nothing to commit: ${plural(r.filesChecked, 'file')} ${r.filesChecked === 1 ? 'matches' : 'match'} the last commit` : s.dim(`${plural(r.filesChecked, 'file')} checked, ${r.filesHashed} read`));
  return `${out.join('\n')}\n`;
}

export function renderCommit(r: CommitResult): string {
  const out = [`[${r.branch ?? 'detached'} ${shortOid(r.commit)}] ${plural(r.changed.length, 'file')} changed:`];
  for (const f of r.changed) out.push(`  ${f}`);
  const left = r.leftStaged ?? [];
  if (left.length) {
    out.push(`left out of the commit (staged with git, not d2's files; commit them with 'git commit'):`);
    for (const f of left.slice(0, 10)) out.push(`  ${f}`);
    if (left.length > 10) out.push(`  … and ${left.length - 10} more`);
  }
  return `${out.join('\n')}\n`;
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

export function renderRestore(r: RestoreResult, s: Style): string {
  const from = r.commit ? ` as ${shortOid(r.commit)} recorded them` : '';
  const out = [r.restored.length ? s.green(`restored ${plural(r.restored.length, 'file')}${from}`) : `nothing to restore${from}: every file is in place`];
  for (const f of r.restored.slice(0, 10)) out.push(s.dim(`  ${f.source}: ${f.path}`));
  if (r.restored.length > 10) out.push(s.dim(`  … and ${r.restored.length - 10} more`));
  if (r.keptModified.length) {
    out.push(s.yellow(`${plural(r.keptModified.length, 'file')} changed since and left as they are (--force replaces them), e.g. ${r.keptModified[0]!.source}: ${r.keptModified[0]!.path}`));
  }
  if (r.notInStore.length) out.push(s.yellow(`${plural(r.notInStore.length, 'file')} not in the local store: run 'd2 pull' to fetch them`));
  return `${out.join('\n')}\n`;
}
