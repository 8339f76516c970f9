import { describe, expect, it } from 'vitest';
import { emptyRemotes, parseRemotes, serializeRemotes } from './remotes-file.js';

describe('d2.remotes.yaml', () => {
  it('round-trips, sorted, with only the keys set', () => {
    const r = emptyRemotes();
    r.remotes.share = { url: '/mnt/team/d2' };
    r.remotes.origin = { url: 's3://b/p', endpoint: 'http://127.0.0.1:9000', pathStyle: true };
    r.default = 'origin';
    const text = serializeRemotes(r);
    expect(text.indexOf('origin:')).toBeLessThan(text.indexOf('share:'));
    expect(text).not.toMatch(/region/);
    expect(parseRemotes(text)).toEqual({ remotes: r, problems: [] });
  });

  it('names the line of a misspelt key, and a default that is not a remote', () => {
    const bad = parseRemotes('format: 1\nremotes:\n  origin:\n    ulr: s3://b\n');
    expect(bad.remotes).toBeUndefined();
    expect(bad.problems.join('\n')).toMatch(/d2\.remotes\.yaml:4:5: .*ulr/);
    expect(parseRemotes('format: 1\ndefault: nope\nremotes:\n  origin:\n    url: s3://b\n').problems[0]).toMatch(/'nope', which is not among the remotes \(origin\)/);
    expect(parseRemotes('format: 1\nremotes:\n  "bad/name":\n    url: s3://b\n').problems[0]).toMatch(/remote name/);
  });
});
