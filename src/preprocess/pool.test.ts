/**
 * The worker pool: same results as the calling thread, in input order, bad items reported
 * without stopping the stream, bounded read-ahead, clean shutdown, and no hang when a worker
 * dies.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Interrupted, InvalidArgument, ItemInvalid } from '../errors/index.js';
import { FIXTURE_IMAGES, REPO_ROOT, tempDir } from '../testing/index.js';
import { createImagePool, type PoolItem } from './pool.js';
import { preprocessImage, preprocessImageToFloat } from './preprocess-image.js';
import type { ImageConfig } from './types.js';

/**
 * Workers run compiled JavaScript, and vitest runs these tests from TypeScript sources: so
 * the modules a worker loads are transpiled into a temporary tree (node_modules linked in).
 */
function compileWorker(): { url: URL; root: string } {
  const root = tempDir('d2-pool-test-');
  for (const dir of ['preprocess', 'errors', 'util']) {
    const from = path.join(REPO_ROOT, 'src', dir);
    fs.mkdirSync(path.join(root, 'src', dir), { recursive: true });
    for (const f of fs.readdirSync(from).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))) {
      const { outputText } = ts.transpileModule(fs.readFileSync(path.join(from, f), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      });
      fs.writeFileSync(path.join(root, 'src', dir, f.replace(/\.ts$/, '.js')), outputText);
    }
  }
  fs.writeFileSync(path.join(root, 'package.json'), '{"type":"module"}');
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  return { url: pathToFileURL(path.join(root, 'src', 'preprocess', 'image-worker.js')), root };
}

let worker: { url: URL; root: string };
beforeAll(() => {
  worker = compileWorker();
});
afterAll(() => {
  fs.rmSync(worker.root, { recursive: true, force: true });
});

const config: ImageConfig = {
  steps: [{ resize: { width: 32, height: 32, fit: 'fill', kernel: 'bilinear', background: 0 } }, { normalize: { mean: 0.286, std: 0.353 } }],
  maxPixels: 1_000_000,
};

async function mixedItems(): Promise<PoolItem[]> {
  const files = fs.readdirSync(FIXTURE_IMAGES, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.png')).sort().slice(0, 150);
  const items: PoolItem[] = files.map((f) => ({ key: f, bytes: new Uint8Array(fs.readFileSync(path.join(FIXTURE_IMAGES, f))) }));
  const rgb = Buffer.from(Array.from({ length: 40 * 30 * 3 }, (_, i) => (i * 13) & 255));
  const jpeg = await sharp(rgb, { raw: { width: 40, height: 30, channels: 3 } }).jpeg().toBuffer();
  // Bad items and sharp-path items spread through the stream.
  items.splice(3, 0, { key: 'empty', bytes: new Uint8Array(0) });
  items.splice(70, 0, { key: 'photo.jpg', bytes: new Uint8Array(jpeg) });
  items.splice(71, 0, { key: 'notes.txt', bytes: new TextEncoder().encode('not an image') });
  items.push({ key: 'truncated.jpg', bytes: new Uint8Array(jpeg.subarray(0, 200)) });
  return items;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('createImagePool', () => {
  it('gives, in input order, exactly what preprocessImage gives in the calling thread', async () => {
    const items = await mixedItems();
    const pool = createImagePool({ workers: 2, batchSize: 16, workerUrl: worker.url });
    try {
      const pixels = await collect(pool.process(items, config));
      const floats = await collect(pool.processToFloat(items, config));
      expect(pixels.map((r) => r.key)).toEqual(items.map((i) => i.key));
      expect(floats.map((r) => r.key)).toEqual(items.map((i) => i.key));
      for (let i = 0; i < items.length; i++) {
        const item = items[i]!;
        const [p, f] = [pixels[i]!, floats[i]!];
        let expected;
        try {
          expected = await preprocessImage(item.bytes, config);
        } catch (e) {
          expect(p.error, item.key).toBeInstanceOf(ItemInvalid);
          expect(p.error!.data, item.key).toEqual((e as ItemInvalid).data);
          expect(f.error?.code, item.key).toBe('ItemInvalid');
          continue;
        }
        expect(p.result, item.key).toBeDefined();
        expect(Buffer.from(p.result!.pixels).equals(Buffer.from(expected.pixels)), item.key).toBe(true);
        const expectedFloat = await preprocessImageToFloat(item.bytes, config);
        expect(Buffer.from(f.result!.data.buffer, f.result!.data.byteOffset, f.result!.data.byteLength)
          .equals(Buffer.from(expectedFloat.data.buffer)), item.key).toBe(true);
      }
      expect(pixels.filter((r) => r.error).map((r) => [r.key, r.error!.data['reason']])).toEqual([
        ['empty', 'empty'], ['notes.txt', 'not-an-image'], ['truncated.jpg', 'truncated'],
      ]);
    } finally {
      await pool.close();
    }
  });

  it('gives the same results with no worker threads (workers: 0)', async () => {
    const items = (await mixedItems()).slice(0, 80);
    const inThreads = createImagePool({ workers: 2, batchSize: 7, workerUrl: worker.url });
    const inline = createImagePool({ workers: 0 });
    try {
      const a = await collect(inThreads.processToFloat(items, config));
      const b = await collect(inline.processToFloat(items, config));
      expect(a.map((r) => r.key)).toEqual(b.map((r) => r.key));
      for (let i = 0; i < a.length; i++) {
        if (b[i]!.error) expect(a[i]!.error?.data).toEqual(b[i]!.error!.data);
        else expect([...a[i]!.result!.data]).toEqual([...b[i]!.result!.data]);
      }
    } finally {
      await Promise.all([inThreads.close(), inline.close()]);
    }
  });

  it('gives large results their own buffers, with the same values', async () => {
    const items = (await mixedItems()).slice(0, 3);
    const big: ImageConfig = { steps: [{ resize: { width: 700, height: 700, fit: 'fill', kernel: 'bicubic', background: 0 } }, { channels: 3 }], maxPixels: 1_000_000 };
    const pool = createImagePool({ workers: 1, workerUrl: worker.url });
    try {
      for await (const r of pool.process(items, big)) {
        const expected = await preprocessImage(items.find((i) => i.key === r.key)!.bytes, big);
        expect(r.result!.pixels.byteLength).toBe(700 * 700 * 3);
        expect(r.result!.pixels.buffer.byteLength).toBe(r.result!.pixels.byteLength);
        expect(Buffer.from(r.result!.pixels).equals(Buffer.from(expected.pixels))).toBe(true);
      }
    } finally {
      await pool.close();
    }
  });

  it('reads ahead a bounded number of items and stops reading when the consumer stops', async () => {
    const png = (await mixedItems())[0]!.bytes;
    let pulled = 0;
    let returned = false;
    function* endless(): Generator<PoolItem> {
      try {
        for (let i = 0; ; i++) {
          pulled++;
          yield { key: String(i), bytes: png };
        }
      } finally {
        returned = true;
      }
    }
    const pool = createImagePool({ workers: 2, batchSize: 10, workerUrl: worker.url });
    try {
      let seen = 0;
      for await (const r of pool.process(endless(), config)) {
        expect(r.key).toBe(String(seen));
        if (++seen === 25) break;
      }
      // at most 2 batches per worker in flight, plus the batch being read
      expect(pulled).toBeLessThanOrEqual(25 + 2 * 2 * 10 + 10);
      expect(returned).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('refuses a bad configuration once, before reading any item', async () => {
    const pool = createImagePool({ workers: 0 });
    let pulled = 0;
    function* items(): Generator<PoolItem> {
      pulled++;
      yield { key: 'a', bytes: new Uint8Array(1) };
    }
    await expect(collect(pool.process(items(), { steps: [{ normalize: { mean: 0, std: 0 } }], maxPixels: 10 }))).rejects.toThrow(InvalidArgument);
    expect(pulled).toBe(0);
  });

  it('ends the stream with Interrupted when the signal is aborted', async () => {
    const items = await mixedItems();
    const pool = createImagePool({ workers: 2, batchSize: 8, workerUrl: worker.url });
    const controller = new AbortController();
    let seen = 0;
    try {
      await expect((async () => {
        for await (const _ of pool.process(items, config, { signal: controller.signal })) if (++seen === 10) controller.abort();
      })()).rejects.toThrow(Interrupted);
      expect(seen).toBeLessThan(items.length);
    } finally {
      await pool.close();
    }
  });

  it('fails the stream, without hanging, when a worker cannot start', async () => {
    const broken = path.join(worker.root, 'broken-worker.js');
    fs.writeFileSync(broken, "throw new Error('boom');\n");
    const pool = createImagePool({ workers: 2, workerUrl: pathToFileURL(broken) });
    try {
      await expect(collect(pool.process((await mixedItems()).slice(0, 5), config))).rejects.toThrow(/image worker crashed: boom/);
    } finally {
      await pool.close();
    }
  });

  it('ends a running stream when the pool is closed, without starting new workers', async () => {
    const items = await mixedItems();
    const pool = createImagePool({ workers: 2, batchSize: 8, workerUrl: worker.url });
    let seen = 0;
    await expect((async () => {
      for await (const _ of pool.process(items, config)) if (++seen === 5) await pool.close();
    })()).rejects.toThrow(/closed/);
    expect(seen).toBeLessThan(items.length);
  });

  it('is closed for good after close()', async () => {
    const pool = createImagePool({ workers: 1, workerUrl: worker.url });
    await collect(pool.process((await mixedItems()).slice(0, 3), config));
    await pool.close();
    await expect(collect(pool.process([], config))).rejects.toThrow(InvalidArgument);
  });
});
