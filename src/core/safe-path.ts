/**
 * What d2 accepts as a path or an object id when it comes from a committed file, a clone or a
 * remote (docs/security.md). Every parser of such a file checks its paths and oids here, and the
 * store checks oids again before it names a file, so a crafted value never becomes a file name
 * outside the folder it belongs to.
 *
 * It lives in core, not util, because it is domain knowledge: `.d2` is the store's folder and an
 * oid is d2's object id (a SHA-256 in lower-case hex). Pure: strings in, a verdict out.
 *
 * Invariants:
 * - `checkRelativePath(p) === undefined` implies that joining `p` below a folder names an entry
 *   inside that folder, on POSIX and on Windows: `p` is relative, has no drive letter, no
 *   backslash, no empty, `.` or `..` segment, and no NUL.
 * - No accepted path names `.git` or `.d2` in any spelling a filesystem may fold to it: case
 *   (`.GIT`), trailing dots and spaces and NTFS streams (`.git .`, `.git::$INDEX_ALLOCATION`),
 *   8.3 short names (`GIT~1`), and code points HFS+ ignores (`.g\u200cit`) — git's own rules
 *   (verify_path, is_ntfs_dotgit, is_hfs_dotgit).
 * - No accepted path holds a C0 or C1 control character other than TAB, LF and CR, so a path
 *   printed to a terminal cannot carry an escape sequence. TAB, LF and CR stay allowed on
 *   purpose: the listing, dataset and prediction formats write such paths as JSON strings
 *   (docs/store-format.md), and real folders have them (macOS's `Icon\r`); rejecting them here
 *   would make d2 refuse to read listings it wrote itself. Printing them safely is the
 *   renderer's job (`displayPath` below).
 * - `isOid(s)` holds exactly for 64 lower-case hex digits: an oid never holds a separator, a
 *   dot or an upper-case letter, so `objects/<oid[0:2]>/<oid[2:]>` is always inside `objects/`
 *   and names one file on case-insensitive filesystems too.
 */

/** An object id: the SHA-256 of the content, in lower-case hex. */
export const OID_PATTERN = /^[0-9a-f]{64}$/;

export function isOid(s: unknown): s is string {
  return typeof s === 'string' && s.length === 64 && OID_PATTERN.test(s);
}

/**
 * Folder names no accepted path may contain: git's repository and d2's store (STORE_DIR in
 * store/object-store.ts; a store test checks they agree). Compared after folding, see below.
 */
export const RESERVED_NAMES = ['.git', '.d2'] as const;

/** Code points HFS+ ignores in file names, so `.g\u200dit` is `.git` there (git's next_hfs_char). */
const HFS_IGNORED = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/**
 * `.git` or `.d2` as some filesystem may see `segment`: case folded, HFS+-ignored code points
 * dropped, trailing dots and spaces and an NTFS stream suffix (`:…`) cut, and the 8.3 short
 * names `git~1` / `d2~1`. Returns the reserved name it stands for, or undefined.
 */
export function reservedName(segment: string): string | undefined {
  // Fast exit: every reserved spelling contains a 'g' or 'd' in the first few characters.
  if (!/[gGdD]/.test(segment)) return undefined;
  const folded = segment.replace(HFS_IGNORED, '').toLowerCase();
  const m = /^(\.git|\.d2|git~1|d2~1)[. ]*(?::.*)?$/s.exec(folded);
  if (!m) return undefined;
  return m[1] === 'git~1' ? '.git' : m[1] === 'd2~1' ? '.d2' : m[1];
}

function hex4(c: number): string {
  return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * The problem with the characters of `p`, or undefined: NUL, a control character other than
 * TAB, LF and CR, a lone surrogate, and (with `noBackslash`) a backslash. For paths that may be
 * absolute (an external source the user declared), which `checkRelativePath` would refuse.
 */
export function checkPathCharacters(p: string, noBackslash = false): string | undefined {
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      if (c === 0) return 'contains a NUL character';
      if (c !== 0x09 && c !== 0x0a && c !== 0x0d) return `contains the control character ${hex4(c)}`;
    } else if (c === 0x5c) {
      if (noBackslash) return "contains a backslash (d2 paths use '/')";
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = p.charCodeAt(i + 1);
      if (c >= 0xdc00 || !(next >= 0xdc00 && next <= 0xdfff)) return 'is not valid Unicode (a lone surrogate)';
      i++;
    }
  }
  return undefined;
}

/**
 * True when `p` names something outside the folder it is relative to: absolute (POSIX or a
 * drive letter) or with a '..' segment. Backslashes count as separators here, so a Windows
 * spelling is judged as Windows would.
 */
export function leadsOutside(p: string): boolean {
  const s = p.replace(/\\/g, '/');
  return s.startsWith('/') || /^[A-Za-z]:/.test(s) || s.split('/').includes('..');
}

/**
 * The problem with `p` as a relative POSIX path d2 may join below a folder, or undefined when
 * it is safe. The text completes "unsafe path 'p': …", e.g. "has a '..' segment".
 */
export function checkRelativePath(p: string): string | undefined {
  if (typeof p !== 'string') return 'is not a string';
  if (p.length === 0) return 'is empty';
  const chars = checkPathCharacters(p, true);
  if (chars !== undefined) return chars;
  if (p.charCodeAt(0) === 0x2f) return 'is absolute';
  if (/^[A-Za-z]:/.test(p)) return `starts with a drive letter ('${p.slice(0, 2)}')`;
  let start = 0;
  for (;;) {
    const slash = p.indexOf('/', start);
    const end = slash < 0 ? p.length : slash;
    const segment = p.slice(start, end);
    if (segment === '') return "has an empty segment ('//' or a '/' at the end)";
    if (segment === '.') return "has a '.' segment";
    if (segment === '..') return "has a '..' segment";
    const reserved = reservedName(segment);
    if (reserved !== undefined) {
      return segment === reserved ? `has a '${reserved}' segment` : `has a segment '${displayPath(segment)}' that some filesystems read as '${reserved}'`;
    }
    if (slash < 0) return undefined;
    start = slash + 1;
  }
}

/**
 * `p` made safe to print in a message: control characters are escaped as in JSON (`\n`,
 * `\u001b`), so a crafted name cannot move the cursor or recolour a terminal, and a very long
 * value is cut (an attacker chooses its length).
 */
export function displayPath(p: string, max = 200): string {
  const s = typeof p === 'string' ? p : String(p);
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  return cut.replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}
