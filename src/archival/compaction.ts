/**
 * `--compact-logs`: append-only log (CDC) tables compacted up to what every consumer has read
 * (each consumer records the last id it processed in a watermark table). Rows with id <= min(all consumer watermarks) - marginRows are deleted in batches
 * of `batchRows`, each its own short transaction, so the application keeps appending. The
 * watermarks are read again before every batch and the bound only ever goes down, so a consumer
 * that appears (or falls back) meanwhile is respected.
 *
 * It fails closed: a watermark table or column that cannot be read, a NULL or non-integer
 * watermark, or no consumer at all deletes nothing and says why.
 */
import type Database from 'better-sqlite3';
import { requireColumns } from '../assess/retention.js';
import type { CompactionJobSchema } from '../config/schema.js';
import type { BrainDatabase, Brain } from '../config/load.js';
import { databaseNamed, ruleDatabase } from '../config/select.js';
import { inspectDatabaseFile, ReadConnection, sqliteError } from '../db/open.js';
import { quoteIdent } from '../db/sql.js';
import { RunLock } from '../maintenance/lock.js';
import {
  BatchSizer,
  checkpointBetweenBatches,
  heldTransaction,
  LockMeter,
  sleepSync,
  batchTargetMs,
  yieldMs,
} from '../maintenance/lock-meter.js';
import { openForMove, attach } from './mover.js';
import { NO_PROGRESS, type Progress } from '../util/progress.js';
import { outcome, type RetentionOutcome } from './types.js';
import type { z } from 'zod';

export type CompactionJob = z.output<typeof CompactionJobSchema>;

/** The lowest watermark over every consumer of every source, or why there is none to trust. */
export function lowestWatermark(
  db: Database.Database,
  job: CompactionJob,
  aliases: ReadonlyMap<string, string>,
): { value: number } | { refusal: string } {
  let lowest = Number.POSITIVE_INFINITY;
  let consumers = 0;
  for (const w of job.watermarks) {
    const schema = w.database ? aliases.get(w.database) : 'main';
    if (!schema) return { refusal: `watermark database "${w.database}" is not one of the databases in the config` };
    let rows: unknown[];
    try {
      rows = db
        .prepare(`SELECT ${quoteIdent(w.column)} FROM ${quoteIdent(schema)}.${quoteIdent(w.table)}`)
        .pluck()
        .all();
    } catch (err) {
      return { refusal: `watermark ${w.table}.${w.column} cannot be read (${(err as Error).message})` };
    }
    for (const v of rows) {
      const n = typeof v === 'bigint' ? Number(v) : v;
      if (n === null || n === undefined)
        return { refusal: `a consumer in ${w.table}.${w.column} has no watermark (NULL)` };
      if (typeof n !== 'number' || !Number.isInteger(n))
        return { refusal: `a watermark in ${w.table}.${w.column} is not an integer id (${JSON.stringify(v)})` };
      lowest = Math.min(lowest, n);
      consumers++;
    }
  }
  if (consumers === 0) return { refusal: 'no consumer has a watermark: nothing is known to be read' };
  return { value: lowest };
}

export function compactLog(
  brain: Brain,
  job: CompactionJob,
  dryRun: boolean,
  now = new Date(),
  progress: Progress = NO_PROGRESS,
): RetentionOutcome {
  const target: BrainDatabase = ruleDatabase(brain, `compaction "${job.name}"`, job.database);
  if (dryRun) return compactLocked(brain, job, dryRun, target, progress);
  inspectDatabaseFile(target);
  const lock = RunLock.acquireDatabase(target.path, 'retention', now);
  try {
    return compactLocked(brain, job, dryRun, target, progress);
  } finally {
    lock.release();
  }
}

function compactLocked(
  brain: Brain,
  job: CompactionJob,
  dryRun: boolean,
  target: BrainDatabase,
  progress: Progress,
): RetentionOutcome {
  const meter = new LockMeter();
  const timeoutMs = brain.config.maintenance.busyTimeoutMs;
  let db: Database.Database;
  if (dryRun) {
    db = new ReadConnection(target, inspectDatabaseFile(target), timeoutMs).db; // writes nothing
  } else {
    try {
      db = openForMove(target.path, timeoutMs);
      db.prepare('SELECT count(*) FROM sqlite_schema').get();
    } catch (err) {
      throw sqliteError(target, err, 'opening it');
    }
  }
  try {
    // The log table and its id column are the config's to name: a missing one is a config error (exit 2).
    requireColumns(db, `compaction job "${job.name}"`, job.table, [job.idColumn]);
    const aliases = new Map<string, string>([[job.database, 'main']]);
    for (const w of job.watermarks) {
      if (!w.database || aliases.has(w.database)) continue;
      const other = databaseNamed(brain, w.database);
      if (!other) continue; // lowestWatermark refuses it
      const alias = `wm${aliases.size}`;
      attach(db, other.path, alias);
      aliases.set(w.database, alias);
    }
    const t = quoteIdent(job.table);
    const id = quoteIdent(job.idColumn);
    const bound = (): { value: number } | { refusal: string } => {
      const w = lowestWatermark(db, job, aliases);
      return 'value' in w ? { value: w.value - job.marginRows } : w;
    };
    const first = bound();
    if ('refusal' in first)
      return outcome('skipped', `${job.name}: nothing deleted: ${first.refusal}`, 0, { counts: { deleted: 0 } });
    let limit = first.value;
    const total = Number(db.prepare(`SELECT count(*) FROM ${t}`).pluck().get());
    const eligible = Number(db.prepare(`SELECT count(*) FROM ${t} WHERE ${id} <= ?`).pluck().get(limit));
    if (dryRun) {
      return outcome(
        'ok',
        `${job.name}: would delete ${eligible} of ${total} rows of "${job.table}" with ${job.idColumn} <= ${limit}`,
        eligible,
        { counts: { deleted: eligible, total } },
      );
    }
    const del = db.prepare(
      `DELETE FROM ${t} WHERE ${id} IN (SELECT ${id} FROM ${t} WHERE ${id} <= ? ORDER BY ${id} LIMIT ?)`,
    );
    let deleted = 0;
    let batches = 0;
    let highestUsed: number | null = null;
    // Batches sized by time: at most the configured rows, fewer when a batch holds the lock past a fraction of the writer-wait budget.
    const sizer = new BatchSizer(
      job.batchRows,
      batchTargetMs(brain.config.maintenance.maxWriterWaitMs),
      1,
      job.batchRows,
    );
    for (;;) {
      // The watermarks are read inside the batch's write transaction (BEGIN IMMEDIATE holds the
      // write lock of every attached database too): a consumer that registers or falls back
      // while the delete waits for the lock is seen before anything it still needs is deleted.
      const { value: step, ms: took } = heldTransaction(db, meter, (): { refusal: string } | { n: number } => {
        const now = bound();
        if ('refusal' in now) return now;
        limit = Math.min(limit, now.value);
        return { n: del.run(limit, sizer.current).changes };
      });
      if ('refusal' in step) {
        return outcome('partial', `${job.name}: stopped after ${deleted} rows: ${step.refusal}`, deleted, {
          counts: { deleted, total },
          writeLock: meter.summary(),
        });
      }
      if (step.n === 0) break;
      highestUsed ??= limit;
      deleted += step.n;
      progress.count(`compact-logs ${job.name}`, deleted, eligible, 'rows');
      batches++;
      sizer.took(took, Math.max(1, step.n));
      checkpointBetweenBatches(db);
      sleepSync(yieldMs(took));
    }
    const bounds =
      highestUsed === null || highestUsed === limit
        ? `${limit}`
        : `${highestUsed} (falling to ${limit} as consumers moved)`;
    return outcome(
      'ok',
      `${job.name}: deleted ${deleted} of ${total} rows of "${job.table}" with ${job.idColumn} <= ${bounds} in ${batches} batch(es)`,
      deleted,
      {
        counts: { deleted, total },
        writeLock: meter.summary(),
      },
    );
  } finally {
    db.close();
  }
}
