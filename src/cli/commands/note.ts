/**
 * `d2 note [rev] [-m TEXT] [--append|--edit|--remove]`: the note of a commit (git notes under
 * refs/notes/d2). `--edit` opens the editor git would ($GIT_EDITOR, $VISUAL, $EDITOR, else vi)
 * on the current note; the CLI does that, the library receives the text.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { InvalidArgument } from '../../index.js';
import { action, examples, type Runtime } from '../action.js';
import type { CommandContext } from '../context.js';
import { renderNote } from '../render/journal.js';

interface NoteFlags {
  message?: string[];
  append?: boolean;
  edit?: boolean;
  remove?: boolean;
}

/** Run the user's editor on `text`; returns what was saved, without '#' comment lines. */
function editText(ctx: CommandContext, text: string, commit: string): string {
  const env = ctx.io.env;
  const editor = env.GIT_EDITOR || env.VISUAL || env.EDITOR || 'vi';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'd2-note-'));
  const file = path.join(dir, 'NOTE_EDITMSG');
  try {
    fs.writeFileSync(file, `${text}${text ? '\n' : ''}\n# Write the note of commit ${commit.slice(0, 7)}. Lines starting with '#' are dropped;\n# an empty note leaves it unchanged.\n`);
    // as git does: the editor string is run by the shell, with the file as its argument
    const r = spawnSync('sh', ['-c', `${editor} "$@"`, editor, file], { stdio: 'inherit', env });
    if (r.status !== 0) throw new InvalidArgument(`the editor '${editor}' failed${r.status !== null ? ` (exit code ${r.status})` : ''}: the note is unchanged`);
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => !l.startsWith('#')).join('\n').trim();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function registerNote(program: Command, rt: Runtime): void {
  program
    .command('note')
    .description('show, add, append to, edit or remove the note of a commit (what was tried, what was learned)')
    .argument('[rev]', 'the commit (default HEAD)')
    .option('-m, --message <text>', 'the note (several -m make paragraphs)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--append', 'add the -m text to the note as a new paragraph')
    .option('--edit', 'edit the note in your editor (or replace it with the -m text)')
    .option('--remove', 'remove the note')
    .addHelpText('after', `${examples(
      '$ d2 note -m "thorough preset: +2 points; shirts still confused with tops"',
      '$ d2 note HEAD~2 --append -m "the drop came from the new coats, see d2 diff HEAD~3 HEAD~2"',
      '$ d2 note --edit',
      '$ d2 note HEAD~1',
      '$ d2 note HEAD~1 --remove',
    )}
Notes are git notes under refs/notes/d2: they change no commit, 'd2 log' shows them, and
'git push' / 'git fetch' carry them once d2 has configured the remote (d2 init, d2 remote add and
every note do it). See docs/journal.md.
`)
    .action(action<NoteFlags>(rt, async (ctx, [rev], o) => {
      if (o.remove && (o.message || o.append || o.edit)) throw new InvalidArgument('--remove takes no other option');
      if (o.append && o.edit) throw new InvalidArgument('give --append or --edit, not both');
      if (o.append && !o.message) throw new InvalidArgument('--append needs the text: -m "…"');
      let message = o.message?.join('\n\n');
      let replace = false;
      if (o.edit) {
        replace = true;
        if (message === undefined) {
          const shown = await ctx.api.note({ dir: ctx.flags.dir, ...(rev !== undefined ? { rev } : {}) });
          const edited = editText(ctx, shown.note ?? '', shown.commit);
          if (!edited) return ctx.emit('note', { ...shown, action: 'unchanged' as const }, (r) => renderNote(r, ctx.style));
          message = edited;
        }
      }
      const result = await ctx.api.note({
        dir: ctx.flags.dir, env: ctx.io.env,
        ...(rev !== undefined ? { rev } : {}),
        ...(message !== undefined ? { message } : {}),
        ...(o.append ? { append: true } : {}),
        ...(replace ? { replace: true } : {}),
        ...(o.remove ? { remove: true } : {}),
      });
      await ctx.emit('note', result, (r) => renderNote(r, ctx.style));
    }));
}
