import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as d2 from '../index.js';
import { REPO_ROOT } from '../testing/index.js';
import { D2Error, errorClasses } from './index.js';

describe('errors', () => {
  it.each(errorClasses.map((c) => [c.code, c] as const))('%s: code equals the class name and is exported by the library', (code, cls) => {
    expect(cls.name).toBe(code);
    expect((d2 as Record<string, unknown>)[code]).toBe(cls);
    const e = new cls('something failed', { data: { x: 1 }, hint: 'do this' });
    expect(e).toBeInstanceOf(D2Error);
    expect(e.code).toBe(code);
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code, message: 'something failed', data: { x: 1 }, hint: 'do this' });
  });

  it('lists every D2Error subclass the library exports', () => {
    const exported = Object.values(d2).filter((v) => typeof v === 'function' && v.prototype instanceof D2Error);
    expect(new Set(exported)).toEqual(new Set(errorClasses));
  });

  it('documents every code in docs/errors.md', () => {
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'errors.md'), 'utf8');
    const missing = errorClasses.map((c) => c.code).filter((code) => !doc.includes(`| \`${code}\` |`));
    expect(missing).toEqual([]);
  });
});
