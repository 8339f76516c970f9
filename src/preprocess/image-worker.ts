/**
 * The entry script of a pool worker thread (see pool.ts): receives batch requests, answers
 * each with exactly one message, the batch's results or a `fatal` report.
 *
 * This module is an entry point, so unlike every other module it acts when loaded: it listens
 * on `parentPort`, and only when it runs as a worker thread.
 *
 * Invariant: the worker never exits by itself and never prints; a bug in one batch is reported
 * for that batch and the worker stays usable.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { type BatchRequest, runBatch } from './batch.js';

export interface FatalReport {
  id: number;
  fatal: { message: string; stack?: string };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (req: BatchRequest) => {
    runBatch(req).then(
      (res) => port.postMessage(res, [res.data, res.table.buffer as ArrayBuffer]),
      (e: unknown) => {
        const report: FatalReport = {
          id: req.id,
          fatal: e instanceof Error ? { message: e.message, ...(e.stack !== undefined ? { stack: e.stack } : {}) } : { message: String(e) },
        };
        port.postMessage(report);
      },
    );
  });
}
