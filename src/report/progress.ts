/**
 * Progress on a terminal: one line on stderr, rewritten in place, cleared at the end. The one
 * place that renders it (progressLine) and decides how often (at most UPDATES_PER_SECOND).
 *
 * Two ways in (the Progress interface, src/util/progress.ts): `count` between batches, written
 * inline; `during` before one long statement. SQLite statements (and long synchronous scans)
 * block Node's event loop, so while one runs a ticker thread rewrites the line with the time
 * elapsed. It writes to fd 2 itself, under a lock shared with this thread (a SharedArrayBuffer),
 * so that once `during`'s stop function returns, not one more tick can land after the line
 * is cleared.
 *
 * The caller decides whether there is a terminal (commands/context.ts: stderr a TTY, no
 * --json, no --quiet); cron and pipes get NO_PROGRESS and so nothing.
 */
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Progress } from '../util/progress.js';

/** How often the line may change (count; the ticker changes it once a second). */
export const UPDATES_PER_SECOND = 4;

/** What one line shows: a count, the time elapsed (against an estimate), or both. */
export interface ProgressState {
  readonly label: string;
  readonly done: number | null;
  readonly total: number | null;
  readonly unit: string;
  readonly elapsedSeconds: number | null;
  readonly estimatedSeconds: number | null;
}

/**
 * The line, as written: carriage return, the text cut to the terminal's width (a wrapped line
 * cannot be rewritten), clear to the end of the line. Self-contained: the ticker thread runs
 * its source.
 */
export function progressLine(p: ProgressState, columns: number): string {
  let text = `${p.label}:`;
  if (p.done !== null) {
    const pct = p.total ? ` (${Math.floor((100 * p.done) / p.total)}%)` : '';
    text += ` ${p.done}${p.total !== null ? `/${p.total}` : ''} ${p.unit}${pct}`;
  }
  if (p.elapsedSeconds !== null) {
    text += ` ${Math.round(p.elapsedSeconds)} s`;
    if (p.estimatedSeconds !== null) text += ` of about ${Math.max(1, Math.round(p.estimatedSeconds))} s`;
  }
  const max = Math.max(20, columns - 1);
  return `\r${text.length > max ? text.slice(0, max) : text}\x1b[K`;
}

/** Clears the line the cursor is on. */
export const CLEAR_LINE = '\r\x1b[K';

// The ticker thread: lock word 0 (0 free, 1 ticker writing, 2 closed by the main thread).
const TICKER = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const progressLine = ${progressLine.toString()};
const lock = new Int32Array(workerData.shared);
const { label, estimatedSeconds, columns, t0 } = workerData;
setInterval(() => {
  if (Atomics.compareExchange(lock, 0, 0, 1) !== 0) return;
  try {
    const elapsedSeconds = (Date.now() - t0) / 1000;
    fs.writeSync(2, progressLine({ label, done: null, total: null, unit: '', elapsedSeconds, estimatedSeconds }, columns));
  } catch {}
  Atomics.store(lock, 0, 0);
}, 1000);
`;

export interface TerminalProgressOptions {
  /** Writes to the terminal (default: fd 2, synchronously, as the ticker thread does). */
  readonly write?: (text: string) => void;
  readonly columns?: number;
  readonly now?: () => number;
}

/** Progress on the terminal of stderr. */
export function terminalProgress(opts: TerminalProgressOptions = {}): Progress {
  const write =
    opts.write ??
    ((text: string): void => {
      try {
        fs.writeSync(2, text);
      } catch {
        // nowhere to show it: no progress
      }
    });
  const columns = opts.columns ?? (process.stderr.columns || 80);
  const now = opts.now ?? Date.now;
  let shown = false;
  let lastAt = -Infinity;
  const show = (p: ProgressState): void => {
    write(progressLine(p, columns));
    shown = true;
    lastAt = now();
  };
  return {
    count(label, done, total, unit) {
      if (now() - lastAt < 1000 / UPDATES_PER_SECOND && !(total !== null && done >= total)) return;
      show({ label, done, total, unit, elapsedSeconds: null, estimatedSeconds: null });
    },
    during(label, estimatedSeconds) {
      const t0 = now();
      show({ label, done: null, total: null, unit: '', elapsedSeconds: 0, estimatedSeconds });
      const shared = new SharedArrayBuffer(4);
      const lock = new Int32Array(shared);
      let ticker: Worker | null = null;
      try {
        // execArgv: [] keeps flags of this process (--input-type=module) from making the script a module.
        ticker = new Worker(TICKER, {
          eval: true,
          execArgv: [],
          workerData: { shared, label, estimatedSeconds, columns, t0 },
        });
        ticker.unref();
        ticker.on('error', () => undefined);
      } catch {
        // no thread: the first line stays
      }
      return () => {
        // Wait for a tick being written, then close the lock for good: no tick after this.
        while (Atomics.compareExchange(lock, 0, 0, 2) === 1) Atomics.wait(lock, 0, 1, 5);
        void ticker?.terminate();
        write(CLEAR_LINE);
        shown = false;
        lastAt = -Infinity;
      };
    },
    end() {
      if (shown) write(CLEAR_LINE);
      shown = false;
      lastAt = -Infinity; // what comes next shows at once
    },
  };
}
