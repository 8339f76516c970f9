import { describe, expect, it } from 'vitest';
import { checkRelativePath, displayPath, isOid, reservedName } from './safe-path.js';

describe('checkRelativePath', () => {
  it.each([
    ['a'],
    ['a.png'],
    ['shirt/t10k-00040.png'],
    ['a/b/c/d/e/f.png'],
    ['with space.png'],
    ['"quoted.png'],
    ['tab\there.png'],
    ['line\nbreak.png'],
    ['Icon\r'],
    ['..a'],
    ['a..'],
    ['...'],
    ['a/..b/c'],
    ['.hidden'],
    ['a/.gitignore'],
    ['.github/workflows/x.yml'],
    ['.gitx'],
    ['.d2x'],
    ['x.git'],
    ['git'],
    ['d2'],
    ['git~2'],
    ['ab:c.png'],
    ['a/C:x'],
    ['12:30.png'],
    ['é/日本語/😀.png'],
    ['-rf'],
    ['~/x'],
    ['%2e%2e/x'],
  ])('accepts %j', (p) => {
    expect(checkRelativePath(p)).toBeUndefined();
  });

  it.each([
    // empty
    ['', 'is empty'],
    // absolute
    ['/etc/passwd', 'is absolute'],
    ['/', 'is absolute'],
    ['//server/share/x', 'is absolute'],
    // drive letters
    ['C:\\x', 'contains a backslash'],
    ['C:/x', "starts with a drive letter ('C:')"],
    ['c:x', "starts with a drive letter ('c:')"],
    ['Z:', "starts with a drive letter ('Z:')"],
    ['a:b.png', "starts with a drive letter ('a:')"],
    // backslashes
    ['a\\b', 'contains a backslash'],
    ['..\\..\\x', 'contains a backslash'],
    ['\\\\server\\share', 'contains a backslash'],
    // NUL and other controls
    ['a\0b', 'contains a NUL character'],
    ['a.png\0.txt', 'contains a NUL character'],
    ['a\u001b[31mred', 'contains the control character U+001B'],
    ['a\u0007', 'contains the control character U+0007'],
    ['a\u007f', 'contains the control character U+007F'],
    ['a\u009b31m', 'contains the control character U+009B'],
    ['a\u0001', 'contains the control character U+0001'],
    // lone surrogates
    ['a\ud800', 'is not valid Unicode (a lone surrogate)'],
    ['a\udc00b', 'is not valid Unicode (a lone surrogate)'],
    // empty segments
    ['a//b', 'has an empty segment'],
    ['a/', 'has an empty segment'],
    // . and ..
    ['.', "has a '.' segment"],
    ['./a', "has a '.' segment"],
    ['a/./b', "has a '.' segment"],
    ['..', "has a '..' segment"],
    ['../x', "has a '..' segment"],
    ['../../../escape-proof.txt', "has a '..' segment"],
    ['a/../b', "has a '..' segment"],
    ['a/..', "has a '..' segment"],
    // .git and .d2, in every spelling
    ['.git', "has a '.git' segment"],
    ['.git/hooks/post-checkout', "has a '.git' segment"],
    ['a/.git/config', "has a '.git' segment"],
    ['.d2', "has a '.d2' segment"],
    ['.d2/objects/..', "has a '.d2' segment"],
    ['data/.d2/objects/ab/cd', "has a '.d2' segment"],
    ['.GIT/config', "read as '.git'"],
    ['.Git/config', "read as '.git'"],
    ['.D2/objects', "read as '.d2'"],
    ['.git /config', "read as '.git'"],
    ['.git./config', "read as '.git'"],
    ['.git . ./config', "read as '.git'"],
    ['.git::$INDEX_ALLOCATION/config', "read as '.git'"],
    ['.d2:stream', "read as '.d2'"],
    ['GIT~1/config', "read as '.git'"],
    ['git~1', "read as '.git'"],
    ['D2~1/objects', "read as '.d2'"],
    ['.g\u200cit/config', "read as '.git'"],
    ['.\u200dgit', "read as '.git'"],
    ['\ufeff.git', "read as '.git'"],
    ['.d\u206a2', "read as '.d2'"],
  ])('rejects %j: %s', (p, problem) => {
    expect(checkRelativePath(p)).toContain(problem);
  });

  it('gives the first problem found, characters before segments', () => {
    expect(checkRelativePath('../a\\b')).toMatch(/backslash/);
    expect(checkRelativePath('/a/../b')).toBe('is absolute');
  });
});

describe('reservedName', () => {
  it.each([
    ['.git', '.git'], ['.GIT', '.git'], ['.git...', '.git'], ['.git  ', '.git'], ['git~1', '.git'], ['GIT~1.', '.git'],
    ['.d2', '.d2'], ['.D2 ', '.d2'], ['d2~1', '.d2'], ['.g\u200eit', '.git'],
  ])('%j stands for %s', (segment, name) => {
    expect(reservedName(segment)).toBe(name);
  });

  it.each([['.gitignore'], ['.git-x'], ['git'], ['.gi'], ['x.git'], ['.d22'], ['d2'], ['git~10']])('%j is an ordinary name', (segment) => {
    expect(reservedName(segment)).toBeUndefined();
  });
});

describe('isOid', () => {
  const good = 'ab'.repeat(32);
  it.each([
    [good, true],
    ['0'.repeat(64), true],
    ['0123456789abcdef'.repeat(4), true],
    ['a'.repeat(63), false],
    ['a'.repeat(65), false],
    ['A'.repeat(64), false],
    [good.slice(0, 63) + 'G', false],
    [`${good.slice(0, 62)}/x`, false],
    ['../../x', false],
    [`../${'a'.repeat(61)}`, false],
    [`${good}\n`, false],
    [` ${good.slice(1)}`, false],
    ['', false],
    [undefined, false],
    [null, false],
    [42, false],
    [{ length: 64 }, false],
  ])('%j: %s', (s, ok) => {
    expect(isOid(s)).toBe(ok);
  });
});

describe('displayPath', () => {
  it('escapes control characters and cuts long values', () => {
    expect(displayPath('a\u001b[31mb')).toBe('a\\u001b[31mb');
    expect(displayPath('a\nb\tc\rd')).toBe('a\\nb\\tc\\rd');
    expect(displayPath('a\u009bb')).toBe('a\\u009bb');
    expect(displayPath('plain/path.png')).toBe('plain/path.png');
    expect(displayPath('x'.repeat(500))).toBe(`${'x'.repeat(200)}…`);
  });
});
