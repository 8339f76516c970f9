import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidArgument } from '../errors/index.js';
import { formatLocation, parseRemoteUrl } from './url.js';

describe('parseRemoteUrl', () => {
  it.each([
    ['s3://team-data', { kind: 's3', bucket: 'team-data', prefix: '' }],
    ['s3://team-data/', { kind: 's3', bucket: 'team-data', prefix: '' }],
    ['s3://team-data/fashion', { kind: 's3', bucket: 'team-data', prefix: 'fashion' }],
    ['s3://team.data-1/a/b/c/', { kind: 's3', bucket: 'team.data-1', prefix: 'a/b/c' }],
    ['S3://abc/x', { kind: 's3', bucket: 'abc', prefix: 'x' }],
    ['/mnt/team/d2', { kind: 'folder', path: '/mnt/team/d2' }],
    ['/mnt/team/../d2/', { kind: 'folder', path: '/mnt/d2' }],
    ['file:///mnt/team/d2', { kind: 'folder', path: '/mnt/team/d2' }],
    ['file:///mnt/with%20space', { kind: 'folder', path: '/mnt/with space' }],
  ])('%s', (url, expected) => {
    expect(parseRemoteUrl(url)).toEqual(expected);
  });

  it('resolves a relative folder against the project root, and keeps it relative without one', () => {
    expect(parseRemoteUrl('../shared/d2', '/work/proj')).toEqual({ kind: 'folder', path: '/work/shared/d2' });
    expect(parseRemoteUrl('remote', '/work/proj')).toEqual({ kind: 'folder', path: path.resolve('/work/proj', 'remote') });
    expect(parseRemoteUrl('./remote/')).toEqual({ kind: 'folder', path: 'remote/' });
  });

  it.each([
    ['', 'is empty'],
    ['   ', 'is empty'],
    [' /mnt/x', 'spaces'],
    ['http://example.com/bucket', "scheme 'http:'"],
    ['https://s3.amazonaws.com/bucket', "scheme 'https:'"],
    ['gs://bucket/prefix', "scheme 'gs:'"],
    ['s3:bucket', "does not start with 's3://'"],
    ['s3://', 'names no bucket'],
    ['s3:///prefix', 'names no bucket'],
    ['s3://ab', 'not 3 to 63 characters'],
    [`s3://${'a'.repeat(64)}`, 'not 3 to 63 characters'],
    ['s3://Team-Data', 'lower-case'],
    ['s3://team_data', 'lower-case'],
    ['s3://-team', 'lower-case'],
    ['s3://team..data', 'two adjacent periods'],
    ['s3://192.168.1.10', 'IP address'],
    ['s3://team//x', 'empty'],
    ['s3://team/a//b', 'empty'],
    ['s3://team/a/../b', "'..'"],
    ['s3://team/a?versionId=1', "'?'"],
    ['file://host/share', 'not a valid file URL'],
  ])('refuses %j (%s)', (url, why) => {
    let err: unknown;
    try {
      parseRemoteUrl(url);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidArgument);
    const e = err as InvalidArgument;
    expect(e.message).toContain(why);
    expect(e.message).toContain(`'${url}'`);
    expect(e.message).not.toMatch(/\.$/);
    expect(e.data).toEqual({ url });
    expect(e.hint).toContain('s3://bucket/prefix');
    expect(e.hint).toContain('file:///');
  });

  it('formats locations for messages', () => {
    expect(formatLocation(parseRemoteUrl('s3://team-data/fashion/'))).toBe('s3://team-data/fashion');
    expect(formatLocation(parseRemoteUrl('s3://team-data'))).toBe('s3://team-data');
    expect(formatLocation(parseRemoteUrl('rel', '/p'))).toBe('/p/rel');
  });
});
