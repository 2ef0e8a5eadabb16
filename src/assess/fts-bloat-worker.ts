/**
 * The worker thread of fts-bloat-aside.ts: reads every leaf page of one FTS5 index for its dead
 * weight on its own read-only connection, posts the measure (or the error) on the port it was
 * given, then raises the DONE flag the assessing thread waits on. It raises DONE only after its
 * connection is closed, and it looks at the STOP flag before opening and before every page: the
 * assessing thread closes its own connection only after DONE, so that its close is the last one
 * (the one that removes the -wal and -shm of a database at rest).
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
  flags: SharedArrayBuffer;
  port: MessagePort;
};
const flags = new Int32Array(data.flags);
const DONE = 0;
const STOP = 1;
const stop = (): boolean => Atomics.load(flags, STOP) === 1;
let out: { bloat: FtsBloat | null } | { error: string };
try {
  // Loaded here, so that even a module that fails to load raises the flag (with the error).
  const { default: Database } = await import('better-sqlite3');
  const { measureFtsBloat } = await import('./fts-bloat.js');
  if (stop()) throw new Error('stopped before it began');
  // Read-only: it cannot write, and the assessing thread's connection stays open until this one
  // is closed, so this close is never the last (it never checkpoints or removes a WAL).
  const db = new Database(data.file, { readonly: true, fileMustExist: true, timeout: data.timeoutMs });
  try {
    out = { bloat: measureFtsBloat(db, data.table, { ...data.opts, stop }) };
  } finally {
    db.close();
  }
} catch (err) {
  out = { error: err instanceof Error ? err.message : String(err) };
}
data.port.postMessage(out);
Atomics.store(flags, DONE, 1);
Atomics.notify(flags, DONE);
