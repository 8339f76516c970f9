/**
 * Colour and small formatting helpers for terminal text. Colour only when the target stream is
 * a TTY and NO_COLOR is unset (https://no-color.org); otherwise every helper is the identity.
 */
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

export function styleFor(stream: Writable, io: CliIO): Style {
  const noColor = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '';
  return stream.isTTY && !noColor && io.env.TERM !== 'dumb' ? COLOUR : PLAIN;
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

export function plural(n: number, word: string, words = `${word}s`): string {
  return `${n} ${n === 1 ? word : words}`;
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
