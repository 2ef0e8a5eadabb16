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
