import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // e2e tests spawn bin/d2 (the compiled CLI): `npm test` builds first.
    pool: 'forks',
    // s3rver (the S3 server of the remote tests, run in the test process) encrypts listing
    // continuation tokens with DES, which OpenSSL 3 only offers through its legacy provider.
    execArgv: ['--openssl-legacy-provider'],
    tags: [
      { name: 'slow', description: 'end-to-end: spawns bin/d2 and git (deselect with --tags-filter="!slow")' },
      { name: 'gpu', description: 'needs @tensorflow/tfjs-node-gpu and a visible GPU' },
    ],
  },
});
