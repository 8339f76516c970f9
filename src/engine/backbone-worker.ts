/**
 * The entry script of an embedding worker thread (engine/backbone.ts `openBackbone` with
 * `workers`): one engine instance holding the backbone, embedding the items it is sent.
 *
 * This module is an entry point, so unlike every other module it acts when loaded: it listens
 * on `parentPort`, and only when it runs as a worker thread.
 *
 * Invariants: the worker never prints and never exits by itself; it embeds each item on its own
 * with the same code as the main thread, so where an item is embedded does not change its
 * vector; a failure is an `error` reply.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { isD2Error } from '../errors/index.js';
import type { EngineRequest } from './engines.js';

export interface BackboneWorkerData {
  files: [string, Uint8Array][];
  layer: string;
  inputShape: number[];
  source: string;
  engine: EngineRequest;
}

export type BackboneWorkerReply =
  | { type: 'ready'; dims: number; engine: string }
  | { type: 'embedded'; id: number; vectors: Float32Array }
  | { type: 'error'; id?: number; message: string; code?: string; data?: Record<string, unknown>; hint?: string };

if (!isMainThread && parentPort) {
  const port = parentPort;
  const init = workerData as BackboneWorkerData;
  const fail = (e: unknown, id?: number): void => {
    const err = e as Error & { code?: string; data?: Record<string, unknown>; hint?: string };
    port.postMessage({
      type: 'error', ...(id !== undefined ? { id } : {}), message: err?.message ?? String(e),
      ...(isD2Error(e) ? { code: err.code, data: err.data, ...(err.hint !== undefined ? { hint: err.hint } : {}) } : {}),
    } satisfies BackboneWorkerReply);
  };
  (async () => {
    const { openBackbone } = await import('./backbone.js');
    const bb = await openBackbone(new Map(init.files), init.layer, init.inputShape, init.source, init.engine);
    let queue = Promise.resolve();
    port.on('message', (msg: { type: 'embed'; id: number; x: Float32Array } | { type: 'close' }) => {
      if (msg.type === 'close') {
        bb.dispose();
        port.close();
        return;
      }
      queue = queue.then(async () => {
        try {
          const vectors = await bb.embed(msg.x);
          port.postMessage({ type: 'embedded', id: msg.id, vectors } satisfies BackboneWorkerReply, [vectors.buffer as ArrayBuffer]);
        } catch (e) {
          fail(e, msg.id);
        }
      });
    });
    port.postMessage({ type: 'ready', dims: bb.dims, engine: bb.engine } satisfies BackboneWorkerReply);
  })().catch((e: unknown) => fail(e));
}
