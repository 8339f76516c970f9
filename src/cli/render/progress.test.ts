/**
 * The epoch line of training progress: the expected duration after the first epoch, the time
 * left after the others, and an epoch the time budget cut short.
 */
import { describe, expect, it } from 'vitest';
import { countText } from './progress.js';

const epoch = (loaded: number, detail: Record<string, unknown>) => ({ phase: 'train', loaded, total: 10, detail });

describe('countText (training)', () => {
  it('after the first epoch, gives the expected duration of all training', () => {
    expect(countText(epoch(1, { loss: 0.5, valLoss: 0.4, metric: 0.853, etaSeconds: 540, expectedSeconds: 600 })))
      .toBe('epoch 1/10  loss 0.5000 · val loss 0.4000 · val acc 85.3% · ≤10m00s in all');
  });

  it('after later epochs, the time left', () => {
    expect(countText(epoch(4, { loss: 0.3, etaSeconds: 75, expectedSeconds: 600 }))).toBe('epoch 4/10  loss 0.3000 · ≤1m15s left');
  });

  it('an epoch the time budget ended early says how many batches it trained', () => {
    expect(countText(epoch(1, { loss: 0.9, batches: 120, of: 844, etaSeconds: 0, expectedSeconds: 60 })))
      .toBe('epoch 1/10  loss 0.9000 · time budget reached after 120/844 batches');
  });
});
