/**
 * The time budget: the expected time left that the progress shows after each epoch, and the
 * budget kept on a machine slower than it assumed (a budget shorter than an epoch: the epoch
 * stops at a batch boundary, is evaluated, and its record says how many batches it trained).
 */
import { describe, expect, it } from 'vitest';
import { timeLeft, train, type EpochEvent } from './train.js';

describe('timeLeft', () => {
  it('is the epochs left at the pace so far when there is no budget', () => {
    expect(timeLeft(9, 60, 60, undefined)).toBe(540);
  });

  it('counts only the epochs the budget lets start, and never passes the budget', () => {
    // 10 minutes, 1 epoch of 60 s done: epochs 2..10 fit exactly.
    expect(timeLeft(9, 60, 60, 600)).toBe(540);
    // 5 minutes: 4 more epochs start (each while elapsed + 60 ≤ 300), not 9.
    expect(timeLeft(9, 60, 60, 300)).toBe(240);
    // 100 s: another epoch would pass it: none left.
    expect(timeLeft(9, 60, 60, 100)).toBe(0);
    // Already past the budget.
    expect(timeLeft(9, 60, 400, 300)).toBe(0);
  });
});

describe('time budget', () => {
  const images = (n: number, seed: number) => {
    const x = new Float32Array(n * 64);
    for (let i = 0; i < x.length; i++) x[i] = ((i * 7 + seed) % 13) / 13;
    return { x, y: Int32Array.from({ length: n }, (_, i) => i % 2), shape: [8, 8, 1] };
  };

  it('a budget shorter than one epoch (a slow machine) ends the first epoch within it, evaluated', async () => {
    // Given 3,200 items (50 batches an epoch) and a budget of a millisecond, far less than a
    // batch takes: the first batch always trains, then the budget stops the epoch.
    const events: EpochEvent[] = [];
    const r = await train({
      train: images(3200, 1), validation: images(64, 2), numClasses: 2, seed: 1, preset: 'fast', engine: 'wasm', workers: 0,
      timeBudgetSeconds: 0.001, onEpoch: (e) => void events.push(e),
    });
    expect(r.stoppedBy).toBe('timeBudget');
    expect(r.epochs).toBe(1);
    const cut = r.history[0]!.batches!;
    expect(cut.of).toBe(50);
    expect(cut.done).toBeGreaterThanOrEqual(1);
    expect(cut.done).toBeLessThan(50);
    expect(r.history[0]!.valAccuracy).not.toBeNull();
    expect(Number.isFinite(r.history[0]!.loss)).toBe(true);
    expect(events).toHaveLength(1);
    expect(events[0]!.etaSeconds).toBe(0);
  });

  it('a budget that fits the epochs changes nothing: same model as without a budget', async () => {
    const options = { train: images(256, 3), validation: images(64, 4), numClasses: 2, seed: 5, preset: 'fast' as const, engine: 'wasm' as const, workers: 0, maxEpochs: 2 };
    const events: EpochEvent[] = [];
    const free = await train(options);
    const budgeted = await train({ ...options, timeBudgetSeconds: 3600, onEpoch: (e) => void events.push(e) });
    expect(budgeted.stoppedBy).toBe(free.stoppedBy);
    expect(Buffer.from(budgeted.model).equals(Buffer.from(free.model))).toBe(true);
    expect(budgeted.history.every((h) => h.batches === undefined)).toBe(true);
    // After the first epoch: the time left and the expected duration, one epoch's worth.
    expect(events[0]!.etaSeconds).toBeGreaterThan(0);
    expect(events[0]!.expectedSeconds).toBeGreaterThan(events[0]!.etaSeconds);
  });
});
