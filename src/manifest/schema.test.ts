import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../testing/index.js';
import { manifestJsonSchema } from './schema.js';

describe('docs/d2.schema.json', () => {
  it('is generated from the zod schema (update with: npx vitest run src/manifest/schema.test.ts -u)', async () => {
    await expect(`${JSON.stringify(manifestJsonSchema(), null, 2)}\n`).toMatchFileSnapshot(path.join(REPO_ROOT, 'docs', 'd2.schema.json'));
  });
});
