/**
 * Retrying transient faults, shared by both remotes.
 *
 * Invariants:
 * - An operation runs at most `delaysMs.length + 1` times (default 4: waits of 0.2, 0.8 and
 *   2 s), so a remote that is down fails in bounded time (about 3 s plus the attempts).
 * - Only faults the classifier calls transient are retried; the rest fail at once.
 * - An aborted signal wins over everything: the wait between attempts ends at once and the
 *   operation rejects with Interrupted, whatever error the abort provoked underneath.
 * - What finally fails is translated into a D2Error by the caller's `translate`, which keeps
 *   the original error as `cause`.
 */
import { D2Error, throwIfAborted } from '../errors/index.js';

export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [200, 800, 2000];

/** Network faults worth another attempt: the next connection may well succeed. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH',
  'ENETDOWN', 'EAI_AGAIN', 'ESOCKETTIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET',
  // Set by the remotes when a body ended before its announced length.
  'ETRUNCATED',
]);

/** The most specific code an error carries: a system code (ECONNRESET), an S3 code, or its name. */
export function causeCode(e: unknown): string {
  if (e === null || typeof e !== 'object') return String(e);
  const o = e as { code?: unknown; Code?: unknown; name?: unknown };
  if (typeof o.code === 'string' && o.code !== '') return o.code;
  if (typeof o.Code === 'string' && o.Code !== '') return o.Code;
  return typeof o.name === 'string' ? o.name : 'Error';
}

/** True for connection-level faults: reset, refused, timed out, hung up, cut short. */
export function isTransientNetworkError(e: unknown): boolean {
  if (e === null || typeof e !== 'object') return false;
  const o = e as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
  if (typeof o.code === 'string' && TRANSIENT_CODES.has(o.code)) return true;
  if (o.name === 'TimeoutError') return true;
  if (typeof o.message === 'string' && /^(socket hang up|aborted)$/.test(o.message)) return true;
  return o.cause !== undefined && o.cause !== e && isTransientNetworkError(o.cause);
}

/**
 * Wraps a failure that must not be retried nor translated (a sink that cannot write, a local
 * file that cannot be read): `withRetry` throws the wrapped error as it is.
 */
export class Unretryable {
  constructor(readonly error: unknown) {}
}

export interface RetryPolicy {
  delaysMs: readonly number[];
  signal?: AbortSignal | undefined;
  isTransient(e: unknown): boolean;
  /** Turn the final failure into the error to throw (`attempts` made so far). */
  translate(e: unknown, attempts: number): unknown;
}

/** Resolve after `ms`, or reject with Interrupted as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const interrupted = (): boolean => {
      try {
        throwIfAborted(signal);
        return false;
      } catch (e) {
        reject(e);
        return true;
      }
    };
    if (interrupted()) return;
    const onAbort = (): void => {
      clearTimeout(timer);
      interrupted();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Run `attempt` until it succeeds, fails for good, or the signal aborts. */
export async function withRetry<T>(attempt: (n: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let n = 1; ; n++) {
    throwIfAborted(policy.signal);
    try {
      return await attempt(n);
    } catch (e) {
      throwIfAborted(policy.signal);
      if (e instanceof Unretryable) throw e.error;
      if (e instanceof D2Error) throw e;
      if (!policy.isTransient(e) || n > policy.delaysMs.length) throw policy.translate(e, n);
    }
    await sleep(policy.delaysMs[n - 1]!, policy.signal);
  }
}
