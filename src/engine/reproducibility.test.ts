/**
 * The trainer's guarantees, through `train()` on tiny synthetic images: the same seed gives
 * byte-identical models (on wasm and on cpu), another seed another model, 0 and 2 worker
 * threads the same model, a run resumed from its epoch-1 checkpoint the same model as one that
 * never stopped; an abort throws Interrupted; no tensor is leaked. The same with batch
 * normalisation, whose saved model is the plain architecture evaluated as recorded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir } from '../testing/index.js';
import { barImages } from '../testing/bar-images.js';
import { parseCheckpoint } from './checkpoint.js';
import { selectEngine } from './engines.js';
import { loadModel, parseModel, predict } from './model.js';
import { describeNetwork } from './network.js';
import { train, type TrainOptions } from './train.js';

/**
 * Workers run compiled JavaScript and vitest runs TypeScript sources: the modules a training
 * worker loads are transpiled into a temporary tree (node_modules linked in).
 */
function compileWorker(): { url: URL; root: string } {
  const root = tempDir('d2-engine-test-');
  for (const dir of ['engine', 'errors', 'util', 'core']) {
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
  return { url: pathToFileURL(path.join(root, 'src', 'engine', 'train-worker.js')), root };
}

let worker: { url: URL; root: string };
beforeAll(() => {
  worker = compileWorker();
});
afterAll(() => {
  fs.rmSync(worker.root, { recursive: true, force: true });
});

// The cpu engine is far slower: it gets fewer items.
const SETS = { wasm: [barImages(240, 1), barImages(60, 2)], cpu: [barImages(120, 1), barImages(30, 2)] } as const;

function options(over: Partial<TrainOptions>): TrainOptions {
  const [train, validation] = SETS[over.engine === 'cpu' ? 'cpu' : 'wasm'];
  return { train, validation, numClasses: 3, seed: 11, preset: 'fast', workers: 0, epochsOverride: 2, ...over };
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe.each(['wasm', 'cpu'] as const)('train on %s', (engine) => {
  it('gives byte-identical models for the same seed, other models for another seed, and leaks no tensor', async () => {
    const { tf } = await selectEngine(engine);
    const before = tf.memory().numTensors;
    const a = await train(options({ engine }));
    const b = await train(options({ engine }));
    const c = await train(options({ engine, seed: 12 }));
    expect(tf.memory().numTensors).toBe(before);
    expect(a.engine.name).toBe(engine);
    expect(a.epochs).toBe(2);
    expect(same(a.model, b.model)).toBe(true);
    expect(same(a.model, c.model)).toBe(false);
    expect(a.history.map((h) => h.loss)).toEqual(b.history.map((h) => h.loss));
    expect(parseModel(a.model).header.training).toMatchObject({ engine: a.engine.id, seed: 11, epochs: 2 });
    // It learns: validation accuracy well above chance (1/3) after two epochs.
    expect(a.history.at(-1)!.valAccuracy).toBeGreaterThan(0.5);
  });

  it('resumed from the epoch-1 checkpoint, ends with the same model as a run that never stopped', async () => {
    const checkpoints: Uint8Array[] = [];
    const whole = await train(options({ engine, epochsOverride: 3, onCheckpoint: (bytes) => void checkpoints.push(bytes) }));
    expect(checkpoints).toHaveLength(3);
    const resumed = await train(options({ engine, epochsOverride: 3, resumeFrom: checkpoints[0]! }));
    expect(same(resumed.model, whole.model)).toBe(true);
    expect(resumed.history.map((h) => h.valLoss)).toEqual(whole.history.map((h) => h.valLoss));
    // A checkpoint of another run is refused.
    await expect(train(options({ engine, seed: 99, epochsOverride: 3, resumeFrom: checkpoints[0]! }))).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});

describe('train with worker threads (wasm)', () => {
  it('gives the same model with 0 and 2 workers, also when resuming across them', async () => {
    const checkpoints: Uint8Array[] = [];
    const inThread = await train(options({ engine: 'wasm', workers: 0, onCheckpoint: (bytes) => void checkpoints.push(bytes) }));
    const workerCheckpoints: Uint8Array[] = [];
    const inWorkers = await train(options({ engine: 'wasm', workers: 2, workerUrl: worker.url, onCheckpoint: (bytes) => void workerCheckpoints.push(bytes) }));
    expect(inWorkers.workers).toBe(2);
    expect(same(inThread.model, inWorkers.model)).toBe(true);
    const resumed = await train(options({ engine: 'wasm', workers: 2, workerUrl: worker.url, resumeFrom: checkpoints[0]! }));
    expect(same(resumed.model, inThread.model)).toBe(true);
    // Each worker updates its own range of the weights: the state they give (Adam's moments
    // gathered from both) is the one training in the thread reaches, and resumes to the same model.
    expect(workerCheckpoints.length).toBe(checkpoints.length);
    const state = (bytes: Uint8Array) => {
      const c = parseCheckpoint(bytes);
      return [c.weights, c.adam.m, c.adam.v, c.best.weights].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64'));
    };
    workerCheckpoints.forEach((c, i) => expect(state(c), `checkpoint ${i}`).toEqual(state(checkpoints[i]!)));
    const resumedInThread = await train(options({ engine: 'wasm', workers: 0, resumeFrom: workerCheckpoints[0]! }));
    expect(same(resumedInThread.model, inThread.model)).toBe(true);
  });

  it('an abort during an epoch throws Interrupted (in the thread and in workers)', async () => {
    for (const workers of [0, 2]) {
      const ac = new AbortController();
      const err = await train(options({
        engine: 'wasm', workers, workerUrl: worker.url, signal: ac.signal,
        onBatch: (e) => {
          if (e.epoch === 1 && e.batch === 2) ac.abort();
        },
      })).catch((e: unknown) => e);
      expect(err, `workers ${workers}`).toMatchObject({ code: 'Interrupted' });
    }
    const ac = new AbortController();
    ac.abort();
    await expect(train(options({ engine: 'wasm', signal: ac.signal }))).rejects.toMatchObject({ code: 'Interrupted' });
  });

  it('a time budget shorter than an epoch stops the workers together within the first epoch, evaluated', async () => {
    // 2,400 items: 38 batches an epoch; a budget of a millisecond (a machine far slower than the
    // budget assumed). The run's first batch always trains; the workers stop at one step.
    const r = await train(options({ engine: 'wasm', workers: 2, workerUrl: worker.url, train: barImages(2400, 5), epochsOverride: undefined, timeBudgetSeconds: 0.001 }));
    expect(r.workers).toBe(2);
    expect(r.stoppedBy).toBe('timeBudget');
    expect(r.epochs).toBe(1);
    const cut = r.history[0]!.batches!;
    expect(cut.of).toBe(38);
    expect(cut.done).toBeGreaterThanOrEqual(1);
    expect(cut.done).toBeLessThan(38);
    expect(r.history[0]!.valAccuracy).not.toBeNull();
  });
});

describe('train with batch normalisation and augmentation (wasm): the image presets\' recipe', () => {
  const bn = (over: Partial<TrainOptions>) => options({ engine: 'wasm', planPatch: { batchNorm: true, augment: { shift: 1, flip: ['horizontal'] } }, epochsOverride: 3, ...over });

  it('gives the same model with 0 and 2 workers, and resumed from a checkpoint (in workers)', async () => {
    const checkpoints: Uint8Array[] = [];
    const inThread = await train(bn({ workers: 0, onCheckpoint: (bytes) => void checkpoints.push(bytes) }));
    const inWorkers = await train(bn({ workers: 2, workerUrl: worker.url }));
    expect(inWorkers.workers).toBe(2);
    expect(same(inThread.model, inWorkers.model)).toBe(true);
    expect(inWorkers.history.map((h) => [h.loss, h.valLoss])).toEqual(inThread.history.map((h) => [h.loss, h.valLoss]));
    const resumed = await train(bn({ workers: 2, workerUrl: worker.url, resumeFrom: checkpoints[0]! }));
    expect(same(resumed.model, inThread.model)).toBe(true);
    const resumedHere = await train(bn({ workers: 0, resumeFrom: checkpoints[1]! }));
    expect(same(resumedHere.model, inThread.model)).toBe(true);
    // Not the model of the same run without batch normalisation, nor without augmentation.
    expect(same(inThread.model, (await train(options({ engine: 'wasm', epochsOverride: 3 }))).model)).toBe(false);
    expect(same(inThread.model, (await train(options({ engine: 'wasm', epochsOverride: 3, planPatch: { batchNorm: true } }))).model)).toBe(false);
  });

  it('saves the plain architecture, whose validation loss and accuracy are those recorded for its epoch', async () => {
    // Early stopping over the plan's epochs: the model has the best epoch's weights (folded).
    const r = await train(bn({ epochsOverride: undefined, maxEpochs: 4 }));
    const { header, weights } = parseModel(r.model);
    expect(header.architecture).toEqual(r.plan.architecture);
    expect(weights.length).toBe(describeNetwork(r.plan.architecture).paramCount);
    expect(header.params.map((p) => p.name).filter((n) => /gamma|beta/.test(n))).toEqual([]);
    const model = await loadModel(r.model, { engine: 'wasm' });
    const { validation } = options({});
    const probs = await predict(model, validation.x);
    model.dispose();
    const k = 3;
    let correct = 0;
    let loss = 0;
    for (let i = 0; i < validation.y.length; i++) {
      const row = Array.from(probs.subarray(i * k, (i + 1) * k));
      if (row.indexOf(Math.max(...row)) === validation.y[i]) correct++;
      loss -= Math.log(row[validation.y[i]!]!);
    }
    const recorded = r.history[r.bestEpoch - 1]!;
    expect(correct / validation.y.length).toBe(recorded.valAccuracy);
    expect(Math.abs(loss / validation.y.length - recorded.valLoss!)).toBeLessThan(1e-5);
    expect(recorded.valAccuracy).toBeGreaterThan(0.5);
  });
});
