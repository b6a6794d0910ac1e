/**
 * Worker thread entry: hashes the files the pool sends, one at a time, and
 * reports progress. Spawned from the built file (dist/models/hash-worker.js).
 */
import { parentPort } from 'node:worker_threads';
import { sha256File, sha256FileSequential } from './hash-file.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('hash-worker must run in a worker thread');

port.on('message', (job: WorkerRequest) => {
  const reply = (m: WorkerReply) => port.postMessage(m);
  const options = { readSize: job.readSize, onBytes: (bytes: number) => reply({ id: job.id, kind: 'progress', bytes }) };
  const hashed = job.overlapReads ? sha256File(job.path, options) : Promise.resolve().then(() => sha256FileSequential(job.path, options));
  hashed.then(
    (d) => reply({ id: job.id, kind: 'done', digest: d.digest, size: d.size }),
    (err: unknown) => {
      const e = err as NodeJS.ErrnoException;
      reply({ id: job.id, kind: 'error', code: e.code ?? 'EIO', message: e.message ?? String(err) });
    },
  );
});
