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
 * history, the phases from the debug log (the safety net logs each phase's ms), two or three
 * rounds each on a 2-core VM shared with other work (load average 10-13). Per phase:
 *   backup        tier1 4.3-6.9 s, tier2 0.5-1.0 s, tier3 0.2-0.3 s, scale-10 tier3 0.0-0.1 s
 *                 -> 0.05 s + 190 MB/s of the file (a page copy: free pages too)
 *   verification  tier1 2.4-3.8 s, tier2 0.2-0.5 s, tier3 0.2-0.3 s, scale-10 tier3 0.1-0.2 s
 *                 -> 0.1 s + 250 MB/s live (the row counts before, 0.1-0.5 s on tier1, included)
 *   + FTS5's integrity-check of an index it rebuilt or optimized: tier1 12-14 s for 228 MB,
 *     scale-10 tier1 about 0.25 s for 13 MB -> 50 MB/s while the index fits the page cache
 *     (16 MiB), 15 MB/s beyond (tier2's 14 MB regular index takes 0.6 s: it checks content too)
 *   VACUUM        tier1 10.9-13.6 s, tier2 1.3-1.5 s, tier3 0.3 s      -> 48 MB/s live
 *   ANALYZE       tier1 0.2-0.7 s, tier2 0.1 s                          -> 1.5 GB/s live
 *   REINDEX       tier1 0.8-1.3 s, tier2 0.1-0.2 s                      -> 600 MB/s live
 *   FTS rebuild   tier1 6.6-6.8 s for 228 MB, tier2 0.3-0.4 s for 14 MB -> 30 MB/s of index
 *   FTS optimize  tier1 7.0-8.7 s, tier2 0.2-0.4 s                      -> 26 MB/s of index
 *   the rest (open, locks, preflight): 0.05 s
 * (the operations' rates are in the task registry, src/tasks.ts: firstRun, with the retention
 * tasks' own: archive 150 conversations/s + 0.3 s (7344 in 44.6-49.3 s, about 290 in 1.5-2.4 s),
 * prune 1800 patterns/s + 0.2 s, compress 18 MB/s of old lines + 0.2 s). The accuracy table
 * these give is in docs/benchmarks.md.
 */
import type { Quantity } from '../tasks.js';
import type { DatabaseHealth } from './types.js';

/** The measured quantities a first-run estimate is made of. */
export type Quantities = Readonly<Record<Exclude<Quantity, 'items' | 'bytes'>, number>>;

/** Seconds every task costs whatever its size (opening, locks, preflight). */
export const TASK_FIXED_SECONDS = 0.05;
/** The verified backup of a database (a page copy of the whole file, free pages included): fixed seconds, and file bytes per second. */
export const BACKUP_FIXED_SECONDS = 0.05;
export const BACKUP_BYTES_PER_SECOND = 190e6;
/** Verification (row counts before and after, quick_check table by table): fixed, and live bytes per second. */
export const VERIFY_FIXED_SECONDS = 0.1;
export const VERIFY_BYTES_PER_SECOND = 250e6;
/**
 * FTS5's integrity-check of each index an operation rebuilt or optimized: index bytes per
 * second, fast while the index fits the connection's page cache (the default
 * maintenance.cacheSizeMiB), about a third of that beyond it (it reads pages again).
 */
export const FTS_CHECK_CACHE_BYTES = 16 * 1024 * 1024;
export const FTS_CHECK_CACHED_BYTES_PER_SECOND = 50e6;
export const FTS_CHECK_BYTES_PER_SECOND = 15e6;

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
