/**
 * Colour and small formatting helpers for terminal text. Colour only when the target stream is
 * a TTY, NO_COLOR is unset (https://no-color.org) and FORCE_COLOR is not 0; otherwise every
 * helper is the identity.
 */
import type { FilesNotAdded } from '../../index.js';
import type { CliIO, Writable } from '../io.js';

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const wrap = (open: number, close: number) => (s: string): string => `\u001b[${open}m${s}\u001b[${close}m`;

const COLOUR: Style = { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), cyan: wrap(36, 39) };
const PLAIN: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, green: (s) => s, yellow: (s) => s, cyan: (s) => s };

/**
 * Colour or not for a stream: a TTY that is not a dumb terminal gets colour, unless NO_COLOR
 * is set (https://no-color.org) or FORCE_COLOR is 0 or false (the convention of Node and
 * chalk, which Ink follows too). A pipe never gets colour.
 */
export function styleFor(stream: Writable, io: CliIO): Style {
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '') return PLAIN;
  if (io.env.FORCE_COLOR === '0' || io.env.FORCE_COLOR === 'false') return PLAIN;
  return stream.isTTY && io.env.TERM !== 'dumb' ? COLOUR : PLAIN;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/**
 * Wrap `text` at spaces into lines of at most `width` columns (output fits 100 columns); lines
 * after the first start with `indent`. A word longer than a line (a long path) stays whole.
 */
export function wrapText(text: string, width = 100, indent = '    '): string[] {
  const lines: string[] = [];
  const lead = /^ */.exec(text)![0];
  let cur = lead;
  for (const word of text.slice(lead.length).split(' ')) {
    const next = cur.trim() === '' ? `${cur}${word}` : `${cur} ${word}`;
    if (next.length > width && cur.trim() !== '') {
      lines.push(cur);
      cur = `${indent}${word}`;
    } else {
      cur = next;
    }
  }
  lines.push(cur);
  return lines;
}

export function plural(n: number, word: string, words = `${word}s`): string {
  return `${n} ${n === 1 ? word : words}`;
}

/** A backbone's source for a line of text: `build:<oid>` (another d2 build) shortened as an oid is. */
export function backboneName(source: string): string {
  return /^build:[0-9a-f]{64}$/.test(source) ? `build:${shortOid(source.slice(6))}` : source;
}

export function shortOid(oid: string): string {
  return oid.slice(0, 7);
}

/** A path cut to `n` columns in its middle ('img/a-long…/nested/t10k-00018.png'): both its start and its file name stay. */
export function fitPath(p: string, n: number): string {
  const chars = [...p];
  if (chars.length <= n) return p;
  if (n <= 1) return '…';
  const tail = Math.ceil((n - 1) * 0.6);
  return `${chars.slice(0, n - 1 - tail).join('')}…${chars.slice(chars.length - tail).join('')}`;
}

/**
 * The working tree's files never added, as one warning (shared by data, build and diff), or
 * undefined when there are none: "3 files not added yet (images: 2 new, 1 modified): …".
 */
export function filesNotAddedWarning(list: readonly FilesNotAdded[] | undefined): string | undefined {
  if (!list?.length) return undefined;
  const n = list.reduce((a, f) => a + f.added + f.modified + f.deleted + f.renamed, 0);
  const per = list.map((f) => {
    const parts = [f.added && `${f.added} new`, f.modified && `${f.modified} modified`, f.deleted && `${f.deleted} deleted`, f.renamed && `${f.renamed} moved`].filter(Boolean);
    return `${f.source}: ${parts.join(', ')}`;
  });
  const line = `warning: ${plural(n, 'file')} not added yet (${per.join('; ')}), not in the dataset: run 'd2 add --all'`;
  return line.length <= 100 ? line : `warning: ${plural(n, 'file')} not added yet, not in the dataset: run 'd2 add --all'`;
}
