// Runs WAL checkpoints of the durable store on its own thread and connection, so the fsync a checkpoint
// needs never stalls the dispatchers' event loop (the main connection has wal_autocheckpoint = 0).
// PASSIVE checkpoints never block the writer; WAL mode keeps commits crash-safe whoever checkpoints.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const db = new Database(file);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // busy: try again next round
  }
}, intervalMs);
parentPort?.on('message', (m: string) => {
  if (m === 'stop') {
    clearInterval(timer);
    db.close();
    parentPort?.close();
  }
});
