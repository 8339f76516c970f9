/**
 * Receiving one download attempt: a response body (or a file's stream) into a fresh sink.
 *
 * Invariants: the sink is opened only once the body is there, and aborted whenever the attempt
 * fails (cut connection, abort signal, short body), so a caller never keeps bytes of a failed
 * attempt; a body shorter than announced is a transient fault (code ETRUNCATED), never a
 * success; a sink that throws is not retried (its error is the caller's own).
 */
import type { Readable } from 'node:stream';
import { Unretryable } from './retry.js';
import type { Sink } from './types.js';

/** Stream `body` (`expected` bytes when known) into a sink from `openSink`; resolves with that sink. */
export async function receive(body: Readable | undefined, expected: number | undefined, openSink: () => Sink, signal: AbortSignal | undefined): Promise<Sink> {
  let sink: Sink;
  try {
    sink = openSink();
  } catch (e) {
    body?.destroy();
    throw new Unretryable(e);
  }
  const onAbort = (): void => void body?.destroy(Object.assign(new Error('interrupted'), { code: 'ABORT_ERR' }));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let received = 0;
    if (body) {
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        received += chunk.length;
        try {
          sink.write(chunk);
        } catch (e) {
          throw new Unretryable(e);
        }
      }
    }
    if (expected !== undefined && received !== expected) {
      throw Object.assign(new Error(`body ended after ${received} of ${expected} bytes`), { code: 'ETRUNCATED' });
    }
    return sink;
  } catch (e) {
    body?.destroy();
    sink.abort();
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

