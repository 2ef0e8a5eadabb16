/**
 * Merging an FTS5 index in bounded steps: `INSERT INTO fts(fts, rank) VALUES ('merge', N)`
 * merges the segments of any level that holds `usermerge` of them (4 by default, the
 * application's setting is left as it is), writing about N pages, and goes on from where the
 * last step stopped. Each step is its own short write transaction, sized so that it holds the
 * lock a fraction of the budget, with a PASSIVE checkpoint and a pause after it in which the
 * application's waiting writers get the lock. A step that changes fewer than two rows
 * (sqlite3_total_changes) merged nothing: no level has that many segments any more.
 *
 * Not a negative N (which would end where 'optimize' does): it first moves every segment onto
 * one new level, and does so again at every step after the application added a segment, so
 * under a live writer a large index's merge starts over at each step and never ends (seen on
 * the benchmark brain: 82 steps, stopped at the work cap, the application's inserts slowed by
 * the half-merged levels). A positive N leaves the application's new level-0 segments out of
 * the levels being merged.
 */
import type Database from 'better-sqlite3';
import { ftsCommandSql, ftsStructure, type FtsStructure } from '../../db/fts5.js';
import {
  BatchSizer,
  checkpointBetweenBatches,
  heldTransaction,
  pause,
  stepTargetMs,
  yieldMs,
  type LockMeter,
} from '../lock-meter.js';

/** Pages the first step merges; later steps are sized from the time the last one took. */
export const MERGE_PAGES_FIRST = 64;

export interface MergeResult {
  readonly steps: number;
  readonly longestMs: number;
  /** The last step merged nothing (false: stopped at the work cap while the index kept growing). */
  readonly finished: boolean;
  /** Why it stopped before the end (finished false), in words. */
  readonly stoppedBecause?: string;
}

export async function mergeInSteps(
  db: Database.Database,
  table: string,
  opts: { readonly budgetMs: number; readonly meter: LockMeter; readonly indexBytes: number },
): Promise<MergeResult> {
  const sizer = new BatchSizer(MERGE_PAGES_FIRST, stepTargetMs(opts.budgetMs), 8, 1 << 20);
  const changes = db.prepare('SELECT total_changes()').pluck();
  // A cap on the work (three times the index's pages) so that an index the application keeps growing cannot keep us here.
  const cap = Math.max(1000, Math.ceil((3 * opts.indexBytes) / 4096));
  let written = 0;
  let steps = 0;
  let longest = 0;
  for (;;) {
    let delta = 0;
    const pages = sizer.current;
    const { ms: took } = heldTransaction(db, opts.meter, () => {
      const before = Number(changes.get());
      db.prepare(ftsCommandSql(table, 'merge', pages)).run();
      delta = Number(changes.get()) - before;
    });
    steps++;
    longest = Math.max(longest, took);
    written += pages;
    if (delta < 2) return { steps, longestMs: Math.round(longest), finished: true };
    if (written >= cap) return { steps, longestMs: Math.round(longest), finished: false };
    sizer.took(took);
    checkpointBetweenBatches(db);
    await pause(yieldMs(took));
  }
}

/**
 * Whether FTS5's next negative 'merge' goes on with the merge in progress: it does when every
 * segment is on one level, or all but one and those are all the inputs of the merge under way
 * (fts5IndexOptimizeStruct). Otherwise it first moves every segment onto a new level and starts
 * over, rewriting what the earlier steps merged.
 */
export function mergeGoesOn(s: FtsStructure): boolean {
  const perLevel = new Map<number, number>();
  for (const g of s.list) perLevel.set(g.level, (perLevel.get(g.level) ?? 0) + 1);
  for (const [level, n] of perLevel) {
    if (n === s.segments || (n === s.segments - 1 && s.merging[level] === n)) return true;
  }
  return false;
}

/**
 * Merging every segment into one in bounded steps (`'merge', -N`), as 'optimize' does at once:
 * only a merge into the oldest segment drops the delete markers and the entries they cancel,
 * which is what reclaims an index's dead weight. Each step reads the structure record in its own
 * write transaction first; when the application added segments since the last step (FTS5 would
 * start the merge over), it stops there instead: the merge so far stays (every read is correct;
 * the application's automerge carries on with it in small units as it writes), and the result
 * says so.
 */
export async function mergeToOneInSteps(
  db: Database.Database,
  table: string,
  opts: { readonly budgetMs: number; readonly meter: LockMeter; readonly indexBytes: number },
): Promise<MergeResult> {
  const sizer = new BatchSizer(MERGE_PAGES_FIRST, stepTargetMs(opts.budgetMs), 8, 1 << 20);
  const cap = Math.max(1000, Math.ceil((3 * opts.indexBytes) / 4096));
  let written = 0;
  let steps = 0;
  let longest = 0;
  for (;;) {
    const pages = sizer.current;
    let state = 'merged' as 'nothing' | 'restart' | 'merged' | 'ended';
    const { ms: took } = heldTransaction(db, opts.meter, () => {
      const s = ftsStructure(db, table);
      if (!s || (s.segments <= 1 && s.merging.every((m) => m === 0))) state = 'nothing';
      else if (steps > 0 && !mergeGoesOn(s)) state = 'restart';
      else {
        db.prepare(ftsCommandSql(table, 'merge', -pages)).run();
        // No merge under way after a step: this one ended it (whatever the application added
        // before it stays a segment of its own).
        if (ftsStructure(db, table)?.merging.every((m) => m === 0)) state = 'ended';
      }
    });
    longest = Math.max(longest, took);
    if (state === 'merged' || state === 'ended') {
      steps++;
      written += pages;
    }
    if (state === 'nothing' || state === 'ended') return { steps, longestMs: Math.round(longest), finished: true };
    if (state === 'restart')
      return {
        steps,
        longestMs: Math.round(longest),
        finished: false,
        stoppedBecause:
          "the application added segments meanwhile, and going on would start the merge over; the application's automerge carries it on as it writes, or the next run does",
      };
    if (written >= cap) return { steps, longestMs: Math.round(longest), finished: false, stoppedBecause: 'the work cap' };
    sizer.took(took);
    checkpointBetweenBatches(db);
    await pause(yieldMs(took));
  }
}
