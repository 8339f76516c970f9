import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // e2e tests spawn bin/d2 (the compiled CLI): `npm test` builds first.
    pool: 'forks',
    tags: [
      { name: 'slow', description: 'end-to-end: spawns bin/d2 and git (deselect with --tags-filter="!slow")' },
      { name: 'gpu', description: 'needs @tensorflow/tfjs-node-gpu and a visible GPU' },
    ],
  },
});
