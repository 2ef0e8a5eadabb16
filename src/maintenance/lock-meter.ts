/**
 * How long the tool held a database's write lock, which is how long the application's writers
 * may have waited on their busy timeout: every section that holds it (a write transaction of
 * ours, VACUUM, a checkpoint that blocks writers, a restore) is timed through a meter, and each
 * task's result carries the longest hold and their total (`writeLock` in --json, the history,
 * the metrics). And the helpers of the loops that work in short batches.
 */
import type Database from 'better-sqlite3';

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

/**
 * Sizes the batches of a loop so that each holds the lock about `targetMs`: it grows a batch
 * that was quick (at most 2x per step, up to `max`) and shrinks one that was slow, in proportion,
 * but only while shrinking helps. A batch's time is a fixed part (finding its rows, say) plus a
 * part per row; when a smaller batch took nearly as long as the larger one before it, the fixed
 * part dominates, and going smaller would only multiply the batches (and their fixed cost)
 * without shortening any hold: the sizer then stays at the smallest size that still helped.
 */
export class BatchSizer {
  private floor: number;
  /** The batch the last shrinks are measured against. */
  private last: { readonly size: number; readonly ms: number } | null = null;

  constructor(
    private size: number,
    private readonly targetMs: number,
    readonly min: number,
    private readonly max: number,
  ) {
    this.floor = min;
    this.size = Math.max(min, Math.min(max, size));
  }

  get current(): number {
    return this.size;
  }

  /** Records that a batch of `rows` (default: the current size) took `tookMs`; returns the next size. */
  took(tookMs: number, rows: number = this.size): number {
    const ref = this.last;
    if (ref && rows <= ref.size * 0.75) {
      // Shrunk by a quarter or more since the reference, and gained less than half of what a
      // time proportional to the size would have: the time is mostly fixed. Back to the
      // reference size, and no lower.
      if (tookMs > 0.5 * ref.ms + 0.5 * ref.ms * (rows / ref.size)) {
        this.floor = Math.max(this.floor, Math.min(this.max, ref.size));
        this.size = this.floor;
        return this.size;
      }
      this.last = { size: rows, ms: tookMs };
    } else if (!ref || rows >= ref.size) this.last = { size: rows, ms: tookMs };
    // Aimed at 60% of the target: batches of the same size vary, and the target is what the longest may take.
    const scaled = tookMs <= 0.5 ? rows * 4 : (rows * this.targetMs * 0.6) / tookMs;
    // At most twice as large (a step's time varies, and overshooting is what the budget is about), at least 4x smaller.
    const next = Math.min(this.size * 2, Math.max(this.size / 4, scaled));
    this.size = Math.round(Math.min(this.max, Math.max(this.floor, next)));
    return this.size;
  }
}

/**
 * Each bounded step's target hold: a tenth of the budget, at most 100 ms, so that the steps'
 * spread (their sizes follow the last step's time) stays well inside the budget.
 */
export function stepTargetMs(budgetMs: number): number {
  return Math.max(5, Math.min(100, budgetMs / 10));
}

/**
 * A retention batch's target hold: a quarter of the budget, at most 250 ms. Its batches carry a
 * fixed cost each (finding the rows, the archive's triggers set aside and back), so smaller ones
 * would multiply the work for little gain in the writers' wait.
 */
export function batchTargetMs(budgetMs: number): number {
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

/**
 * `fn` in a write transaction of its own (BEGIN IMMEDIATE, COMMIT; ROLLBACK if it throws),
 * timed as one hold from the moment the lock is taken: waiting for the application's lock
 * first is not a hold of ours. Returns what `fn` returned and how long the hold was.
 */
export function heldTransaction<T>(db: Database.Database, meter: LockMeter, fn: () => T): { value: T; ms: number } {
  db.exec('BEGIN IMMEDIATE');
  const t0 = performance.now();
  const end = meter.start();
  try {
    const value = fn();
    db.exec('COMMIT');
    return { value, ms: performance.now() - t0 };
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
    end();
  }
}

/**
 * Between two batches in WAL mode: a PASSIVE checkpoint of what the batch wrote (it never blocks
 * writers). Otherwise the application's next commit finds the WAL past wal_autocheckpoint and
 * copies our pages back itself, inside its own write: seconds after a large merge.
 */
export function checkpointBetweenBatches(db: Database.Database): void {
  try {
    if (String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal')
      db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // best effort: the next one, or the application's own, does it
  }
}

/** Waits without blocking the thread (a loop that may await, between two of its transactions). */
export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { sleepSync } from '../util/process.js';
