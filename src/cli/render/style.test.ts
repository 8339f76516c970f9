/** Small text helpers of the terminal views: colour rules, wrapping at 100 columns, the "not added" warning. */
import { describe, expect, it } from 'vitest';
import { filesNotAddedWarning, styleFor, wrapText } from './style.js';
import { usageMessage } from '../main.js';
import { withoutHints } from '../context.js';

const tty = { write: () => true, isTTY: true };
const io = (env: Record<string, string>) => ({ stdout: tty, stderr: tty, env, cwd: '/' });

describe('terminal text', () => {
  it('colours a TTY unless NO_COLOR or FORCE_COLOR=0; never a pipe', () => {
    expect(styleFor(tty, io({})).red('x')).toBe('\u001b[31mx\u001b[39m');
    expect(styleFor(tty, io({ NO_COLOR: '1' })).red('x')).toBe('x');
    expect(styleFor(tty, io({ FORCE_COLOR: '0' })).red('x')).toBe('x');
    expect(styleFor({ write: () => true }, io({ FORCE_COLOR: '1' })).red('x')).toBe('x');
  });

  it('wraps at spaces within 100 columns, keeping a long word whole', () => {
    const text = `  warning: ${'word '.repeat(40)}${'x'.repeat(120)}`;
    const lines = wrapText(text);
    expect(lines.join(' ').replace(/\s+/g, ' ')).toBe(text.replace(/\s+/g, ' '));
    expect(lines.slice(0, -1).every((l) => l.length <= 100)).toBe(true);
    expect(lines.at(-1)).toBe(`    ${'x'.repeat(120)}`);
  });

  it('counts files not added yet in one line, shorter when sources are many', () => {
    expect(filesNotAddedWarning([])).toBeUndefined();
    expect(filesNotAddedWarning([{ source: 'images', added: 2, modified: 1, deleted: 0, renamed: 0 }]))
      .toBe("warning: 3 files not added yet (images: 2 new, 1 modified), not in the dataset: run 'd2 add --all'");
    const many = Array.from({ length: 6 }, (_, i) => ({ source: `source-${i}`, added: 1, modified: 0, deleted: 1, renamed: 0 }));
    expect(filesNotAddedWarning(many)).toBe("warning: 12 files not added yet, not in the dataset: run 'd2 add --all'");
  });

  it("says a commander usage error as one line, git's way, and --quiet drops only the hints", () => {
    expect(usageMessage("error: unknown command 'stauts'\n(Did you mean status?)")).toBe("unknown command 'stauts' (did you mean 'status'?)");
    expect(usageMessage("error: unknown option '--jsn'\n(Did you mean --json?)")).toBe("unknown option '--jsn' (did you mean '--json'?)");
    expect(usageMessage("error: missing required argument 'paths'")).toBe("missing required argument 'paths'");
    expect(withoutHints('images: 4 items\n\u001b[2mNext: d2 status\u001b[22m\n')).toBe('images: 4 items\n');
  });
});
