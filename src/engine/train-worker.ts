/**
 * The entry script of a training worker thread (see parallel.ts): one engine instance holding
 * one replica, answering each request from the main thread with exactly one reply.
 *
 * This module is an entry point, so unlike every other module it acts when loaded: it listens
 * on `parentPort`, and only when it runs as a worker thread.
 *
 * Invariants: the worker never prints and never exits by itself; requests are handled one at a
 * time, in order; a failure is reported as an `error` reply (the main thread then stops all
 * workers).
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { isD2Error } from '../errors/index.js';
import { selectEngine } from './engines.js';
import { sharedExchange, type WorkerReply, type WorkerRequest } from './parallel.js';
import { Replica, type DataSet, type GradientExchange } from './replica.js';

if (!isMainThread && parentPort) {
  const port = parentPort;
  let replica: Replica | undefined;
  let exchange: GradientExchange | undefined;
  let validation: DataSet | undefined;
  let queue = Promise.resolve();

  const handle = async (msg: WorkerRequest): Promise<WorkerReply> => {
    switch (msg.type) {
      case 'init': {
        const { tf } = await selectEngine(msg.engine);
        replica = new Replica(tf, msg.plan, msg.seed, msg.train);
        validation = msg.validation;
        exchange = sharedExchange(msg.exchange, replica.net.paramCount, msg.plan.shards, msg.workers, msg.index);
        return { type: 'ready' };
      }
      case 'epoch': {
        const r = replica!;
        const outcome = await r.runEpoch(msg.epoch, msg.order, exchange!, {
          ...(msg.reportBatches ? { onBatch: (step: number, loss: number) => port.postMessage({ type: 'batch', step, loss } satisfies WorkerReply) } : {}),
        }, msg.learningRate);
        return { type: 'epochDone', outcome };
      }
      case 'evaluate':
        return { type: 'evaluated', results: replica!.evaluateChunks(validation!, msg.chunks, msg.weights) };
      case 'getState': {
        const { weights, adam } = replica!;
        return { type: 'state', weights: new Float32Array(weights), adam: { m: new Float32Array(adam.m), v: new Float32Array(adam.v), t: adam.t, p1: adam.p1, p2: adam.p2 } };
      }
      case 'setState':
        replica!.setState(msg.weights, msg.adam);
        return { type: 'stateSet' };
    }
  };

  port.on('message', (msg: WorkerRequest) => {
    queue = queue.then(async () => {
      try {
        const reply = await handle(msg);
        const transfer = reply.type === 'state' ? [reply.weights.buffer, reply.adam.m.buffer, reply.adam.v.buffer] as ArrayBuffer[] : [];
        port.postMessage(reply, transfer);
      } catch (e) {
        const error = isD2Error(e)
          ? { message: e.message, code: e.code, data: e.data, ...(e.hint !== undefined ? { hint: e.hint } : {}) }
          : e instanceof Error ? { message: e.message, ...(e.stack !== undefined ? { stack: e.stack } : {}) } : { message: String(e) };
        port.postMessage({ type: 'error', error } satisfies WorkerReply);
      }
    });
  });
}
