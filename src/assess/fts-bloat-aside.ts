/**
 * The dead-weight scan of a large FTS5 index (--deep) on a second thread, while this one runs
 * FTS5's integrity-check of the same index: both read every page, and SQLite work is
 * synchronous, so a thread is what puts the scan on the other core. The assessment is
 * synchronous too: it waits for the result with Atomics.wait and takes it with
 * receiveMessageOnPort, without the event loop.
 *
 * The worker reads its own snapshot, a moment apart from the integrity-check's, as the bounded
 * checks and the measure already do. Anything that goes wrong on that thread (it could not open
 * the file, it took too long) gives no result, and the caller measures on this thread instead.
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

export interface ScanAside {
  /**
   * Waits for the scan: its measure, or undefined when the thread gave none (the caller measures
   * inline then). Ends the thread. Once.
   */
  result(): FtsBloat | null | undefined;
  /** Ends the thread without waiting (the index failed its check: its measure is not wanted). */
  cancel(): void;
}

export function scanAside(
  file: string,
  table: FtsTable,
  opts: FtsBloatOptions,
  indexBytes: number,
  timeoutMs: number,
): ScanAside {
  const flag = new SharedArrayBuffer(4);
  const { port1, port2 } = new MessageChannel();
  let worker: Worker | null = new Worker(workerEntry(import.meta.url, './fts-bloat-worker.js'), {
    workerData: { file, table, opts, timeoutMs, flag, port: port2 },
    transferList: [port2],
  });
  worker.unref();
  // A thread that fails to start reports on the event loop, which the waiting thread is not
  // running: the wait limit is what ends that case.
  worker.on('error', () => undefined);
  const end = (): void => {
    if (!worker) return;
    void worker.terminate();
    worker = null;
    port1.close();
  };
  return {
    result() {
      if (!worker) return undefined;
      try {
        if (Atomics.wait(new Int32Array(flag), 0, 0, waitLimitMs(indexBytes)) === 'timed-out') return undefined;
        const m = receiveMessageOnPort(port1)?.message as { bloat: FtsBloat | null } | { error: string } | undefined;
        return m && 'bloat' in m ? m.bloat : undefined;
      } finally {
        end();
      }
    },
    cancel: end,
  };
}
