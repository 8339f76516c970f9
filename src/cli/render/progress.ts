/**
 * Progress on long work, drawn where it cannot pollute results:
 * - 'tty': an Ink progress bar on stderr (loaded only if the work lasts more than a moment);
 * - 'plain': one line on stderr per phase, and a count every few seconds on long phases;
 * - 'json': `{"type":"progress",…}` JSON lines on stdout, throttled, before the result line;
 * - 'quiet': nothing.
 */
import type { ProgressEvent } from '../../index.js';
import type { CliIO } from '../io.js';

export type ProgressMode = 'tty' | 'plain' | 'json' | 'quiet';

export interface ProgressRenderer {
  onProgress(e: ProgressEvent): void;
  /**
   * The command is a long one: load what drawing needs now, while the command starts, not
   * later while it computes (module loading takes many turns of an event loop that training
   * shares with it, which kept a build's first bar back by seconds).
   */
  preload?(): void;
  /** Stop drawing (and clear a live bar) before the result is printed. */
  finish(): Promise<void>;
}

const PHASE_TEXT: Record<string, string> = {
  lock: 'waiting for the store lock',
  walk: 'scanning files',
  hash: 'reading and storing',
  flush: 'making objects durable',
  verify: 'verifying objects',
  preprocess: 'preprocessing',
  embed: 'embedding items with the backbone',
  train: 'training',
  fold: 'cross-validating (d2 review)',
  evaluate: 'evaluating',
  predict: 'predicting',
  infer: 'running a model on items it was never evaluated on',
  collect: 'finding the objects the revisions need',
  compare: 'asking the remote what it has',
  upload: 'uploading',
  'fetch-index': 'fetching listings and records',
  fetch: 'fetching',
  checkout: 'writing working files',
  repair: 'fetching good copies',
  revisions: 'reading revisions',
  delete: 'deleting unreferenced objects',
};

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * One epoch's figures: 'loss 0.412 · val loss 0.388 · val acc 87.3% · ≤1m20s left'; after the
 * first epoch, the expected duration of all training instead ('≤1m30s in all'), and for an
 * epoch the time budget cut short, the batches it trained.
 */
function trainText(d: Record<string, unknown>, epoch: number): string {
  const parts: string[] = [];
  if (typeof d.loss === 'number') parts.push(`loss ${d.loss.toFixed(4)}`);
  if (typeof d.valLoss === 'number') parts.push(`val loss ${d.valLoss.toFixed(4)}`);
  if (typeof d.metric === 'number') parts.push(`val acc ${(d.metric * 100).toFixed(1)}%`);
  if (typeof d.batches === 'number' && typeof d.of === 'number') parts.push(`time budget reached after ${d.batches}/${d.of} batches`);
  if (typeof d.etaSeconds === 'number' && d.etaSeconds > 0) {
    parts.push(epoch === 1 && typeof d.expectedSeconds === 'number' ? `≤${duration(d.expectedSeconds)} in all` : `≤${duration(d.etaSeconds)} left`);
  }
  return parts.join(' · ');
}

export function describePhase(e: ProgressEvent): string {
  const base = PHASE_TEXT[e.phase] ?? e.phase;
  const source = typeof e.detail?.source === 'string' ? ` (${e.detail.source})` : '';
  const waiting = typeof e.detail?.waitingFor === 'string' ? `: held by ${e.detail.waitingFor}` : '';
  const fold = typeof e.detail?.fold === 'number' && typeof e.detail.folds === 'number' ? ` (fold ${e.detail.fold}/${e.detail.folds})` : '';
  return `${base}${source}${fold}${waiting}`;
}

export function countText(e: ProgressEvent): string {
  const count = e.total !== undefined ? `${e.loaded}/${e.total}` : `${e.loaded}`;
  if (e.phase === 'train' && e.detail) return `epoch ${count}  ${trainText(e.detail, e.loaded)}`;
  return count;
}

class PlainProgress implements ProgressRenderer {
  private lastKey = '';
  private lastLine = 0;
  constructor(private readonly io: CliIO) {}
  onProgress(e: ProgressEvent): void {
    const key = `${e.phase}|${String(e.detail?.source ?? '')}`;
    const now = Date.now();
    if (e.phase === 'train') {
      this.lastKey = key;
      this.io.stderr.write(`${describePhase(e)}: ${countText(e)}\n`);
    } else if (key !== this.lastKey) {
      this.lastKey = key;
      this.lastLine = now;
      this.io.stderr.write(`${describePhase(e)}…\n`);
    } else if (now - this.lastLine >= 5000) {
      this.lastLine = now;
      this.io.stderr.write(`${describePhase(e)}: ${countText(e)}\n`);
    }
  }
  async finish(): Promise<void> {}
}

class JsonProgress implements ProgressRenderer {
  private lastKey = '';
  private last = 0;
  constructor(private readonly io: CliIO) {}
  onProgress(e: ProgressEvent): void {
    const key = `${e.phase}|${String(e.detail?.source ?? '')}`;
    const now = Date.now();
    const final = e.total !== undefined && e.loaded >= e.total;
    // Epochs are few and each matters to a script: never throttled.
    if (key === this.lastKey && !final && e.phase !== 'train' && now - this.last < 250) return;
    this.lastKey = key;
    this.last = now;
    this.io.stdout.write(`${JSON.stringify({ type: 'progress', ...e })}\n`);
  }
  async finish(): Promise<void> {}
}

class NoProgress implements ProgressRenderer {
  onProgress(): void {}
  async finish(): Promise<void> {}
}

/**
 * Waits a moment before drawing with Ink, so quick commands never show a flash of progress;
 * Ink itself is loaded then, or at once for long commands (`preload`).
 */
class LazyTtyProgress implements ProgressRenderer {
  private latest: ProgressEvent | undefined;
  private live: ProgressRenderer | undefined;
  private loading: Promise<void> | undefined;
  private module: Promise<typeof import('./progress-ink.js')> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private done = false;
  constructor(private readonly io: CliIO) {}
  private load(): Promise<typeof import('./progress-ink.js')> {
    this.module ??= import('./progress-ink.js');
    return this.module;
  }
  preload(): void {
    this.load().catch(() => undefined);
  }
  onProgress(e: ProgressEvent): void {
    this.latest = e;
    if (this.live) return this.live.onProgress(e);
    if (!this.timer && !this.loading) {
      this.timer = setTimeout(() => {
        this.loading = this.load().then(({ InkProgress }) => {
          if (this.done) return;
          this.live = new InkProgress(this.io);
          if (this.latest) this.live.onProgress(this.latest);
        });
      }, 300);
      this.timer.unref();
    }
  }
  async finish(): Promise<void> {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    await this.loading;
    await this.live?.finish();
  }
}

export function createProgress(mode: ProgressMode, io: CliIO): ProgressRenderer {
  switch (mode) {
    case 'tty': return new LazyTtyProgress(io);
    case 'plain': return new PlainProgress(io);
    case 'json': return new JsonProgress(io);
    default: return new NoProgress();
  }
}
