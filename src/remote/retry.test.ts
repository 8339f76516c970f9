import { describe, expect, it } from 'vitest';
import { D2Error, Interrupted, RemoteUnavailable } from '../errors/index.js';
import { causeCode, isTransientNetworkError, sleep, Unretryable, withRetry } from './retry.js';

const netError = (code: string, message = code): Error => Object.assign(new Error(message), { code });

function policy(signal?: AbortSignal) {
  return {
    delaysMs: [1, 2, 3],
    signal,
    isTransient: isTransientNetworkError,
    translate: (e: unknown, attempts: number) => new RemoteUnavailable(`failed after ${attempts}`, { data: { cause: causeCode(e), attempts }, cause: e }),
  };
}

describe('withRetry', () => {
  it('retries transient faults and returns the first success', async () => {
    let calls = 0;
    const out = await withRetry(async (n) => {
      calls++;
      if (n < 3) throw netError('ECONNRESET');
      return 'ok';
    }, policy());
    expect(out).toBe('ok');
    expect(calls).toBe(3);
  });

  it('makes 4 attempts at most, then translates the last fault', async () => {
    let calls = 0;
    const err = await withRetry(async () => {
      calls++;
      throw netError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1');
    }, policy()).catch((e: unknown) => e);
    expect(calls).toBe(4);
    expect(err).toBeInstanceOf(RemoteUnavailable);
    expect((err as D2Error).data).toEqual({ cause: 'ECONNREFUSED', attempts: 4 });
  });

  it('does not retry other faults, D2Errors or unretryable ones', async () => {
    for (const thrown of [netError('ENOENT'), new D2Error('x'), new Unretryable(netError('ECONNRESET'))]) {
      let calls = 0;
      const err = await withRetry(async () => {
        calls++;
        throw thrown;
      }, policy()).catch((e: unknown) => e);
      expect(calls).toBe(1);
      if (thrown instanceof Unretryable) expect(err).toBe(thrown.error);
      else if (thrown instanceof D2Error) expect(err).toBe(thrown);
      else expect(err).toBeInstanceOf(RemoteUnavailable);
    }
  });

  it('stops at once with Interrupted when the signal aborts during a wait', async () => {
    const ac = new AbortController();
    const slow = { ...policy(ac.signal), delaysMs: [60_000, 60_000, 60_000] };
    const started = Date.now();
    const p = withRetry(async () => {
      throw netError('ECONNRESET');
    }, slow);
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toBeInstanceOf(Interrupted);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports Interrupted, not the fault the abort provoked', async () => {
    const ac = new AbortController();
    const err = await withRetry(async () => {
      ac.abort();
      throw netError('ECONNRESET', 'aborted');
    }, policy(ac.signal)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Interrupted);
  });
});

describe('transient faults', () => {
  it.each([
    [netError('ECONNRESET'), true],
    [netError('EPIPE'), true],
    [netError('ETIMEDOUT'), true],
    [netError('ECONNREFUSED'), true],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), true],
    [new Error('socket hang up'), true],
    [Object.assign(new Error('timed out'), { name: 'TimeoutError' }), true],
    [new Error('outer', { cause: netError('ECONNRESET') }), true],
    [netError('ENOENT'), false],
    [netError('ENOTFOUND'), false],
    [new Error('bad'), false],
  ])('%s → %s', (e, transient) => {
    expect(isTransientNetworkError(e)).toBe(transient);
  });

  it('sleep rejects with Interrupted for an aborted signal', async () => {
    await expect(sleep(10, AbortSignal.abort())).rejects.toBeInstanceOf(Interrupted);
    await expect(sleep(1)).resolves.toBeUndefined();
  });
});
