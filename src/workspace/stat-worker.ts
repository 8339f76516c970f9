/**
 * Worker side of the parallel stat (see parallel-stat.ts): waits for one job, claims chunks of
 * its path list through the shared atomic counter, writes each file's stat into the shared
 * result array, and says when it has no chunk left. One job per worker.
 */
import { parentPort } from 'node:worker_threads';
import { splitPaths, statChunks, type ParallelStatJob } from './parallel-stat.js';

parentPort?.once('message', (job: ParallelStatJob) => {
  statChunks(job.prefix, splitPaths(job.paths, job.count), job);
  parentPort?.postMessage('done');
});
