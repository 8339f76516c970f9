/**
 * `.gitignore` entries d2 needs: the store (`/.d2/`) and the folder of every source, so raw
 * files never reach git. Appends only what is missing and keeps the user's lines untouched.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../util/atomic-write.js';

/** Returns the entries that were added. */
export function ensureGitignoreEntries(root: string, entries: readonly string[]): string[] {
  const file = path.join(root, '.gitignore');
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    // no .gitignore yet
  }
  const present = new Set(text.split(/\r?\n/).map((l) => l.trim()));
  const missing = entries.filter((e) => !present.has(e) && !present.has(e.replace(/\/$/, '')) && !present.has(e.replace(/^\//, '')));
  if (missing.length === 0) return [];
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  const header = text.includes('# d2:') ? '' : '# d2: the object store and raw data folders stay out of git\n';
  writeFileAtomicSync(file, `${text}${sep}${header}${missing.join('\n')}\n`);
  return missing;
}
