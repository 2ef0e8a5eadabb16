/**
 * First-run estimates: how long a maintenance task takes before the history has measured it
 * (after that, the planner uses the throughput recorded runs measured). A task's time, as its
 * result's durationMs counts it, is the sum of its phases in the safety net:
 *
 *   fixed + backup (the first guarded task on a database in a run) + operation + verification
 *
 * each from a quantity the assessment measured: the live bytes of the database (pages in use x
 * page size: what a backup copies, VACUUM rewrites and quick_check reads), the bytes of its FTS5
 * indexes (what a rebuild writes and FTS5's integrity-check reads), the WAL's bytes.
 *
 * Derivation (docs/benchmarks.md, "Estimates"): `node bench/estimates.mjs` on the benchmark brain
 * (--init-demo --scale 240 --seed 1: tier1 1.09 GB file, 678 MB live, a 228 MB external-content
 * FTS index; tier2 74 MB with a 14 MB regular FTS index; tier3 16 MB, no FTS) and on the
 * scale-10 brain (tier1 45 MB, tier2 3 MB, tier3 0.7 MB), each operation on a fresh copy with no
 * history, the phases from the debug log (the safety net logs each phase's ms). Five rounds of
 * the whole table on a 2-core VM shared with other work, at load averages from 4 to 14: the
 * same operation took up to 2.5x longer in a busy round than in the quietest (tier1's FTS
 * rebuild 12.0-31.8 s, its VACUUM 9.5-23.7 s). Each constant is the quietest round's rate
 * divided by about 1.3 (an overestimate is the safe side: the writer-wait budget defers what
 * would hold writers too long), which keeps the estimates within 2x of the busy rounds too.
 * Per phase on tier1, quietest round (busy rounds) -> constant:
 *   backup        2.6-2.9 s (3.0-12.2 s) -> 0.05 s + 300 MB/s of the file (a page copy: free
 *                 pages too); tier3 0.1 s, scale-10 tier3 0.0-0.1 s
 *   verification  1.3-1.4 s (1.6-8.0 s) -> 0.05 s + 400 MB/s live (the row counts before,
 *                 0.1-0.5 s, included); tier3 0.1 s
 *   + FTS5's integrity-check of an index it rebuilt or optimized: 4.3-4.6 s for 228 MB (11-15 s)
 *     -> 30 MB/s beyond the page cache (16 MiB, the default maintenance.cacheSizeMiB), 50 MB/s
 *     within it (scale-10 tier1: about 0.25 s for 13 MB)
 *   VACUUM        5.3-5.4 s (10.9-13.6 s) -> 95 MB/s live
 *   ANALYZE       0.2 s (0.4-0.7 s)       -> 1.5 GB/s live
 *   REINDEX       0.4 s (0.6-1.3 s)       -> 600 MB/s live
 *   FTS rebuild   3.2 s (4.0-6.8 s)       -> 50 MB/s of index
 *   FTS optimize  2.8 s (7.0-9.9 s)       -> 55 MB/s of index
 *   the rest (open, locks, preflight): 0.05 s
 * The operations' rates are in the task registry (src/tasks.ts: firstRun), with the retention
 * tasks': archive 280 conversations/s + 0.1 s (7344 conversations with their messages in
 * 18.1 s quietest, 24.7-49.3 s busy; about 290 in 0.8-2.8 s), prune 4000 patterns/s + 0.1 s
 * (3626 in 0.6 s quietest, 0.9-2.2 s busy), compress 40 MB/s of old lines + 0.05 s (10.3 MB in
 * 0.2 s quietest, 0.3-1.0 s busy), rotate 40 MB/s + 0.1 s (0.04 s: below the 0.1 s the
 * estimates are rounded to). The accuracy table these give is in docs/benchmarks.md.
 */
import type { Quantity } from '../tasks.js';
import type { DatabaseHealth } from './types.js';

/** The measured quantities a first-run estimate is made of. */
export type Quantities = Readonly<Record<Exclude<Quantity, 'items' | 'bytes'>, number>>;

/** Seconds every task costs whatever its size (opening, locks, preflight). */
export const TASK_FIXED_SECONDS = 0.05;
/** The verified backup of a database (a page copy of the whole file, free pages included): fixed seconds, and file bytes per second. */
export const BACKUP_FIXED_SECONDS = 0.05;
export const BACKUP_BYTES_PER_SECOND = 300e6;
/** Verification (row counts before and after, quick_check table by table): fixed, and live bytes per second. */
export const VERIFY_FIXED_SECONDS = 0.05;
export const VERIFY_BYTES_PER_SECOND = 400e6;
/**
 * FTS5's integrity-check of each index an operation rebuilt or optimized: index bytes per
 * second, fast while the index fits the connection's page cache (the default
 * maintenance.cacheSizeMiB), about a third of that beyond it (it reads pages again).
 */
export const FTS_CHECK_CACHE_BYTES = 16 * 1024 * 1024;
export const FTS_CHECK_CACHED_BYTES_PER_SECOND = 50e6;
export const FTS_CHECK_BYTES_PER_SECOND = 30e6;

/** The seconds of FTS5's integrity-check of `bytes` of indexes. */
export function ftsCheckSeconds(bytes: number): number {
  const cached = Math.min(bytes, FTS_CHECK_CACHE_BYTES);
  return cached / FTS_CHECK_CACHED_BYTES_PER_SECOND + (bytes - cached) / FTS_CHECK_BYTES_PER_SECOND;
}

/** The quantities of a database as the assessment measured it. */
export function quantitiesOf(h: DatabaseHealth): Quantities {
  const file = h.fileBytes ?? 0;
  const pages = h.pageCount ?? 0;
  const live = h.pageSize && pages ? (pages - (h.freelistCount ?? 0)) * h.pageSize : file;
  return {
    fileBytes: file,
    liveBytes: Math.max(0, live),
    ftsBytes: (h.fts ?? []).reduce((a, f) => a + (f.indexBytes ?? 0), 0),
    walBytes: h.walBytes ?? 0,
  };
}

/** A first-run estimate: seconds in all, the part that is the backup, and the part that holds the write lock at most. */
export interface FirstRunEstimate {
  readonly seconds: number;
  readonly backupSeconds: number;
  readonly holdSeconds: number;
}

/** The backup's share of a guarded task on a database of these quantities. */
export function backupSeconds(q: Quantities): number {
  return BACKUP_FIXED_SECONDS + q.fileBytes / BACKUP_BYTES_PER_SECOND;
}

/**
 * The estimate of a maintenance operation: `rate` units of `per` a second for the operation,
 * and, when `guarded`, the backup and verification around it (with FTS5's integrity-check when
 * `ftsCheck`). The hold is everything but the backup (read from a snapshot): an upper bound.
 */
export function firstRunEstimate(
  cost: { readonly per: Quantity; readonly rate: number; readonly ftsCheck?: boolean },
  guarded: boolean,
  q: Quantities,
): FirstRunEstimate {
  const units = cost.per === 'items' || cost.per === 'bytes' ? 0 : q[cost.per];
  const op = units / cost.rate;
  if (!guarded) return { seconds: TASK_FIXED_SECONDS + op, backupSeconds: 0, holdSeconds: op };
  const verify =
    VERIFY_FIXED_SECONDS + q.liveBytes / VERIFY_BYTES_PER_SECOND + (cost.ftsCheck ? ftsCheckSeconds(q.ftsBytes) : 0);
  const backup = backupSeconds(q);
  return { seconds: TASK_FIXED_SECONDS + backup + op + verify, backupSeconds: backup, holdSeconds: op + verify };
}
