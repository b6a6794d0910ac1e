/**
 * Worker thread entry for `BackgroundCheckpointer`: its own connection to
 * the database, running a PASSIVE WAL checkpoint on an interval. PASSIVE
 * copies what it can from the WAL into the database file without waiting
 * for (or blocking) the store's writer, and then fsyncs: the disk waits
 * happen here instead of in a commit on the server's event loop
 * (https://www.sqlite.org/wal.html#checkpointing).
 */
import BetterSqlite3 from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { CheckpointReply, CheckpointWorkerData } from './checkpoint-protocol.js';

const options = workerData as CheckpointWorkerData;
const post = (reply: CheckpointReply): void => parentPort!.postMessage(reply);

const db = new BetterSqlite3(options.path, { fileMustExist: true });
db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
// The fsyncs a checkpoint makes follow this connection's setting (NORMAL: the WAL before, the database after).
db.pragma(`synchronous = ${options.synchronous}`);

let running = true;
const timer = setInterval(() => {
  if (!running) return;
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    if (row !== undefined) post({ type: 'checkpointed', ...row });
  } catch (err) {
    post({ type: 'failed', message: (err as Error).message });
  }
}, options.intervalMs);

parentPort!.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  running = false;
  clearInterval(timer);
  db.close();
  post({ type: 'stopped' });
  parentPort!.close();
});
