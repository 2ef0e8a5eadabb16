/**
 * Merging an FTS5 index in bounded steps: `INSERT INTO fts(fts, rank) VALUES ('merge', N)`
 * merges the segments of any level that holds `usermerge` of them (4 by default, the
 * application's setting is left as it is), writing about N pages, and goes on from where the
 * last step stopped. Each step is its own short write transaction, sized so that it holds the
 * lock a fraction of the budget, with a PASSIVE checkpoint and a pause after it in which the
 * application's waiting writers get the lock. A step that changes fewer than two rows
 * (sqlite3_total_changes) merged nothing: no level has that many segments any more.
 *
 * Not a negative N at every step (which would end where 'optimize' does): it first moves every
 * segment onto one new level, and does so again at every step after the application added a
 * segment, so under a live writer a large index's merge starts over at each step and never ends
 * (seen on the benchmark brain: 82 steps, stopped at the work cap, the application's inserts
 * slowed by the half-merged levels). A positive N leaves the application's new level-0 segments
 * out of the levels being merged. mergeToOneInSteps (dead weight) takes one negative step to
 * start a merge of everything, then positive ones.
 */
import type Database from 'better-sqlite3';
import { ftsCommandSql, ftsStructure } from '../../db/fts5.js';
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
  /** The merge ended (false: stopped at the work cap while the application kept adding segments). */
  readonly finished: boolean;
  /** Why it stopped before the end (finished false), in words. */
  readonly stoppedBecause?: string;
}

export function mergeInSteps(
  db: Database.Database,
  table: string,
  opts: { readonly budgetMs: number; readonly meter: LockMeter; readonly indexBytes: number },
): Promise<MergeResult> {
  const changes = db.prepare('SELECT total_changes()').pluck();
  return inSteps(db, opts, (pages) => {
    const before = Number(changes.get());
    db.prepare(ftsCommandSql(table, 'merge', pages)).run();
    return Number(changes.get()) - before < 2;
  });
}

/**
 * Runs `step(pages, index)` in short write transactions, each sized from the time the last one
 * took, with a PASSIVE checkpoint and a pause after it, until a step says it is done (true) or
 * the work reaches a cap: three times the index's pages, so that an index the application keeps
 * growing cannot keep us here.
 */
async function inSteps(
  db: Database.Database,
  opts: { readonly budgetMs: number; readonly meter: LockMeter; readonly indexBytes: number },
  step: (pages: number, index: number) => boolean,
): Promise<MergeResult> {
  const sizer = new BatchSizer(MERGE_PAGES_FIRST, stepTargetMs(opts.budgetMs), 8, 1 << 20);
  const cap = Math.max(1000, Math.ceil((3 * opts.indexBytes) / 4096));
  let written = 0;
  let steps = 0;
  let longest = 0;
  for (;;) {
    const pages = sizer.current;
    let done = false;
    const { ms: took } = heldTransaction(db, opts.meter, () => {
      done = step(pages, steps);
    });
    steps++;
    longest = Math.max(longest, took);
    written += pages;
    if (done) return { steps, longestMs: Math.round(longest), finished: true };
    if (written >= cap)
      return {
        steps,
        longestMs: Math.round(longest),
        finished: false,
        stoppedBecause: "the work cap, three times the index's pages: the application kept adding segments",
      };
    sizer.took(took);
    checkpointBetweenBatches(db);
    await pause(yieldMs(took));
  }
}

/**
 * Merging every segment into one in bounded steps, as 'optimize' does at once: only a merge into
 * the oldest segment drops the delete markers and the entries they cancel, which is what
 * reclaims an index's dead weight.
 *
 * The first step is `'merge', -N`: FTS5 moves every segment onto one new level and starts merging
 * them into one, writing about N pages. The later steps are `'merge', N` (positive): FTS5 goes on
 * with a merge under way before it looks for anything else (fts5IndexMerge takes the first level
 * with a merge in progress), so a segment the application adds meanwhile stays out of it instead
 * of starting it over, as a second negative step would (fts5IndexOptimizeStruct moves every
 * segment onto a new level again unless all but one are the merge's inputs). The merge under way
 * writes into the last level, so it is a merge into the oldest segment to the end. It is done
 * when no merge is under way after a step; the application's own automerge, which also goes on
 * with it as it writes, may end it first. Each step is its own short write transaction.
 */
export function mergeToOneInSteps(
  db: Database.Database,
  table: string,
  opts: { readonly budgetMs: number; readonly meter: LockMeter; readonly indexBytes: number },
): Promise<MergeResult> {
  const merging = (): boolean => ftsStructure(db, table)?.merging.some((m) => m > 0) ?? false;
  return inSteps(db, opts, (pages, index) => {
    // Later steps: the application's automerge may have ended the merge since the last one.
    if (index > 0 && !merging()) return true;
    // One segment already: nothing to merge (FTS5 would leave it as it is).
    if (index === 0 && (ftsStructure(db, table)?.segments ?? 0) <= 1) return true;
    db.prepare(ftsCommandSql(table, 'merge', index === 0 ? -pages : pages)).run();
    return !merging();
  });
}
