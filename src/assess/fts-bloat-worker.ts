/**
 * The worker thread of fts-bloat-aside.ts: reads every leaf page of one FTS5 index for its dead
 * weight on its own read-only connection, posts the measure (or the error) on the port it was
 * given, then raises the shared flag the assessing thread waits on.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import type { FtsTable } from '../db/fts5.js';
import type { FtsBloatOptions } from './fts-bloat.js';
import type { FtsBloat } from './types.js';

const data = workerData as {
  file: string;
  table: FtsTable;
  opts: FtsBloatOptions;
  timeoutMs: number;
  flag: SharedArrayBuffer;
  port: MessagePort;
};
let out: { bloat: FtsBloat | null } | { error: string };
try {
  // Loaded here, so that even a module that fails to load raises the flag (with the error).
  const { default: Database } = await import('better-sqlite3');
  const { measureFtsBloat } = await import('./fts-bloat.js');
  // Read-only: it cannot write, and the assessing thread's connection stays open meanwhile, so
  // this one's close is never the last (it never checkpoints or removes a WAL).
  const db = new Database(data.file, { readonly: true, fileMustExist: true, timeout: data.timeoutMs });
  try {
    out = { bloat: measureFtsBloat(db, data.table, data.opts) };
  } finally {
    db.close();
  }
} catch (err) {
  out = { error: err instanceof Error ? err.message : String(err) };
}
data.port.postMessage(out);
const flag = new Int32Array(data.flag);
Atomics.store(flag, 0, 1);
Atomics.notify(flag, 0);
