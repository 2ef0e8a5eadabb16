/**
 * How long the tool held a database's write lock, which is how long the application's writers
 * may have waited on their busy timeout: every section that holds it (a write transaction of
 * ours, VACUUM, a checkpoint that blocks writers, a restore) is timed through a meter, and each
 * task's result carries the longest hold and their total (`writeLock` in --json, the history,
 * the metrics).
 */

export interface WriteLockHolds {
  /** The longest single hold, in milliseconds. */
  readonly longestMs: number;
  /** All holds added up, in milliseconds. */
  readonly totalMs: number;
  /** How many times the lock was taken. */
  readonly holds: number;
}

export const NO_HOLDS: WriteLockHolds = { longestMs: 0, totalMs: 0, holds: 0 };

export class LockMeter {
  private longest = 0;
  private total = 0;
  private count = 0;

  /** Starts timing a hold; the returned function ends it (once). */
  start(): () => void {
    const t0 = performance.now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.add(performance.now() - t0);
    };
  }

  /** Runs `fn` as one hold of the write lock. */
  hold<T>(fn: () => T): T {
    const end = this.start();
    try {
      return fn();
    } finally {
      end();
    }
  }

  add(ms: number): void {
    this.longest = Math.max(this.longest, ms);
    this.total += ms;
    this.count++;
  }

  summary(): WriteLockHolds {
    return { longestMs: Math.round(this.longest), totalMs: Math.round(this.total), holds: this.count };
  }
}

/** Batch size for the next step of a loop that wants each step to take about `targetMs`. */
export function nextBatch(current: number, tookMs: number, targetMs: number, min: number, max: number): number {
  const scaled = tookMs <= 0.5 ? current * 4 : (current * targetMs) / tookMs;
  // At most 4x larger, at least 4x smaller per step: one odd timing does not swing it wildly.
  return Math.round(Math.min(max, Math.max(min, Math.min(current * 4, Math.max(current / 4, scaled)))));
}

/** Each bounded step's target hold: a quarter of the budget, at most 250 ms. */
export function stepTargetMs(budgetMs: number): number {
  return Math.max(5, Math.min(250, budgetMs / 4));
}

/**
 * How long to leave the lock free after a hold of `tookMs`: about as long as the hold, so that a
 * writer asleep in SQLite's busy back-off (its sleeps grow with its wait, up to 100 ms) wakes
 * while the lock is free.
 */
export function yieldMs(tookMs: number): number {
  return Math.min(100, Math.max(2, tookMs));
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Sleeps this thread (a loop that must stay synchronous, between two of its transactions). */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
