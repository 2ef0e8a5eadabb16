/**
 * The dead-weight scan of a large FTS5 index read whole (--deep, or an index under
 * assess.ftsFullCheckMaxBytes set that high) on a second thread, while this one runs FTS5's
 * integrity-check of the same index: both read every page, and SQLite work is synchronous, so a
 * thread is what puts the scan on the other core. The assessment is synchronous too: it waits
 * for the result with Atomics.wait and takes it with receiveMessageOnPort, without the event
 * loop.
 *
 * The worker reads its own snapshot, a moment apart from the integrity-check's, as the bounded
 * checks and the measure already do. Either way it ends, the worker's connection is closed
 * before this thread goes on (so before the assessing connection closes): a read-only
 * connection that outlived it would keep the -wal and -shm of a database at rest from being
 * removed, or create them. When the check ends early (drift, corruption, a busy lock), the scan
 * is told to stop and waited for, a page at most. Anything that goes wrong on that thread (it
 * could not open the file or load a module, it took too long) gives no result, and the caller
 * measures on this thread instead.
 */
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { FtsTable } from '../db/fts5.js';
import { workerEntry } from '../util/worker-entry.js';
import type { FtsBloatOptions } from './fts-bloat.js';
import type { FtsBloat } from './types.js';

/** Below this index size the scan takes about as long as starting a thread: it runs inline. */
export const SCAN_ASIDE_MIN_BYTES = 32 * 1024 * 1024;

/** A hang guard, not a target: the scan reads about 140 MB/s on the 2-core machine. */
const waitLimitMs = (indexBytes: number): number => 30_000 + indexBytes / 5_000;
/** How long a stopped scan may take to close its connection (it looks at STOP before each page). */
const STOP_LIMIT_MS = 10_000;
const DONE = 0;
const STOP = 1;

export interface ScanAside {
  /**
   * Waits for the scan: its measure, or undefined when the thread gave none (the caller measures
   * inline then). Ends the thread. Once.
   */
  result(): FtsBloat | null | undefined;
  /** Stops the scan and waits until its connection is closed (the index failed its check: its measure is not wanted). */
  cancel(): void;
}

export function scanAside(
  file: string,
  table: FtsTable,
  opts: FtsBloatOptions,
  indexBytes: number,
  timeoutMs: number,
): ScanAside {
  const flags = new Int32Array(new SharedArrayBuffer(8));
  const { port1, port2 } = new MessageChannel();
  let worker: Worker | null = new Worker(workerEntry(import.meta.url, './fts-bloat-worker.js'), {
    workerData: { file, table, opts, timeoutMs, flags: flags.buffer, port: port2 },
    transferList: [port2],
  });
  worker.unref();
  // A thread that fails to start reports on the event loop, which the waiting thread is not
  // running: the wait limit is what ends that case.
  worker.on('error', () => undefined);
  const done = (limitMs: number): boolean => Atomics.wait(flags, DONE, 0, limitMs) !== 'timed-out';
  const end = (finished: boolean): void => {
    if (!worker) return;
    if (!finished) {
      Atomics.store(flags, STOP, 1);
      done(STOP_LIMIT_MS);
    }
    void worker.terminate();
    worker = null;
    port1.close();
  };
  return {
    result() {
      if (!worker) return undefined;
      const finished = done(waitLimitMs(indexBytes));
      try {
        if (!finished) return undefined;
        const m = receiveMessageOnPort(port1)?.message as { bloat: FtsBloat | null } | { error: string } | undefined;
        return m && 'bloat' in m ? m.bloat : undefined;
      } finally {
        end(finished);
      }
    },
    cancel: () => end(false),
  };
}
