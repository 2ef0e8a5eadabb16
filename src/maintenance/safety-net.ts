/**
 * The safety net: the one path every change to a database takes, on the main thread and on
 * the fleet's worker threads alike.
 *
 *   1. one run at a time (the run lock, exit 5 for a second instance);
 *   2. free-space preflight (refuse before anything changes);
 *   3. a consistent backup through SQLite, verified, older ones pruned only after;
 *   4. the operation;
 *   5. verification (quick_check, FTS consistency, row counts);
 *   6. on failure, restore through SQLite and verify again;
 *   7. the run recorded in the state database.
 *
 * The executor (executor.ts) decides what runs where; this module decides how it runs.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import type { FtsHealth, MaintenanceTask } from '../assess/types.js';
import type { BrainDatabase } from '../config/load.js';
import { databaseNamed } from '../config/select.js';
import { onDiskBytes, type WriteCapable } from '../db/open.js';
import { DbmError } from '../errors.js';
import { ensureStateDir } from '../state/state-dir.js';
import { recordRunIn, type RunRecord } from '../state/state-db.js';
import { operationOf } from '../tasks.js';
import {
  backupDirFor,
  commitBackup,
  createBackup,
  keepDiscarded,
  keepSequences,
  pruneBackups,
  restoreBackup,
  type Backup,
  type Discarded,
} from './backup.js';
import { failAt, injectFaultAfter, pauseAt } from './inject.js';
import { RunLock } from './lock.js';
import {
  boundedFormFor,
  deferredResult,
  runOutsideVerification,
  verifyInOwnTransaction,
  writerWaitBudget,
} from './budget.js';
import { checkpointBetweenBatches, LockMeter } from './lock-meter.js';
import type { OpContext, OpEnv, Operation, OpOutcome } from './ops/types.js';
import { checkFreeSpace, spaceNeeds, statfsProbe } from './preflight.js';
import { taskResult, type MaintenanceResult, type Measured, type ProbeResult, type RunRequest } from './types.js';
import {
  countsBefore,
  countsInSnapshot,
  describeCounts,
  ftsProblems,
  quickCheckAll,
  structureProblems,
  tableCounts,
  verifyAfter,
  verifyInTransaction,
  type VerifyOptions,
} from './verify.js';

/** Why a retention task in a plan is not run by --run. */
export const NOT_BY_RUN = 'a retention task: run by --enforce-retention (or its own flag), not by --run';

/** 1. The run lock (any run that changes something: maintenance, retention, --scheduled), unless this is a dry run or the caller holds it already; null then. */
export function acquireRunLock(
  req: Pick<RunRequest, 'brain' | 'command' | 'now' | 'dryRun' | 'lockHeld'>,
): RunLock | null {
  if (req.dryRun || req.lockHeld) return null;
  ensureStateDir(req.brain);
  return RunLock.acquire(req.brain.stateDir, req.command ?? 'maintenance', req.now);
}

/**
 * 7. The run and its results (maintenance, retention, or both for --scheduled) in the state
 * database; returns the run's id, or null when it could not be recorded (logged, not thrown:
 * the run happened).
 */
export function recordRun(
  req: Pick<RunRequest, 'brain' | 'command' | 'now' | 'logger'>,
  exitCode: number,
  results: readonly MaintenanceResult[],
  probes: readonly ProbeResult[],
): number | null {
  const run: RunRecord = {
    command: req.command ?? 'maintenance',
    startedAt: req.now.toISOString(),
    finishedAt: new Date().toISOString(),
    exitCode,
  };
  return recordRunIn(req.brain.stateDir, run, results, probes, req.logger);
}

/** The result of a task that did not run. */
export function skipped(task: MaintenanceTask, now: Date, message: string): MaintenanceResult {
  return taskResult(task, now.toISOString(), 'skipped', message);
}

/**
 * Runs tasks in order (all of a run's, or one database's on a worker thread); a failed or
 * refused task skips the rest of its database's. One verified backup per database per call.
 */
export async function runTasks(
  req: RunRequest,
  tasks: readonly MaintenanceTask[],
  contextFor: (dbName: string) => OpContext | null,
): Promise<MaintenanceResult[]> {
  const results: MaintenanceResult[] = [];
  const failedDbs = new Set<string>();
  const backups = new Map<string, Backup>();
  for (const task of tasks) {
    const op = operationOf(task.type);
    const ctx = contextFor(task.database);
    const target = databaseNamed(req.brain, task.database);
    if (!op || !ctx || !target) {
      results.push(skipped(task, req.now, op ? 'the database could not be assessed' : NOT_BY_RUN));
      continue;
    }
    if (failedDbs.has(task.database)) {
      results.push(skipped(task, req.now, `not run: an earlier task on ${task.database} failed`));
      continue;
    }
    const stop = req.progress?.during(`${task.type} ${task.database}`, task.estimatedSeconds);
    let result: MaintenanceResult;
    try {
      result = await executeTask({ req, task, op, ctx, target, backups });
    } finally {
      stop?.();
    }
    req.logger.info({ task: task.id, status: result.status, ms: result.durationMs }, result.message);
    results.push(result);
    if (result.status === 'failed' || result.status === 'refused') failedDbs.add(task.database);
  }
  return results;
}

interface TaskRun {
  readonly req: RunRequest;
  readonly task: MaintenanceTask;
  readonly op: Operation;
  readonly ctx: OpContext;
  readonly target: BrainDatabase;
  /** This run's verified backup of each database (one per database per run). */
  readonly backups: Map<string, Backup>;
}

/** Steps 2 to 6 for one task. Never throws: what went wrong is the result. */
async function executeTask(run: TaskRun): Promise<MaintenanceResult> {
  const { req, task, target, backups } = run;
  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const sizeBefore = onDiskBytes(target.path);
  const result = (status: MaintenanceResult['status'], message: string, extra: Measured = {}): MaintenanceResult =>
    taskResult(task, startedAt, status, message, {
      ...extra,
      durationMs: Date.now() - t0,
      sizeBefore,
      sizeAfter: onDiskBytes(target.path),
      backup: backups.get(target.name)?.path ?? null,
    });

  // 1b. this database file, whatever config or name reaches it, is maintained by one run at a time
  let dbLock: RunLock;
  try {
    dbLock = RunLock.acquireDatabase(target.path, req.command ?? 'maintenance', req.now);
  } catch (err) {
    if (err instanceof DbmError && (err.code === 'LOCKED' || err.code === 'STATE_DB'))
      return result('refused', `${err.message}; nothing was changed`);
    return result('failed', `cannot take the lock of ${target.name}: ${(err as Error).message}; nothing was changed`);
  }
  try {
    return await executeLocked(run, { t0, result });
  } finally {
    dbLock.release();
  }
}

async function executeLocked(
  run: TaskRun,
  at: {
    readonly t0: number;
    readonly result: (status: MaintenanceResult['status'], message: string, extra?: Measured) => MaintenanceResult;
  },
): Promise<MaintenanceResult> {
  const { req, task, op, ctx, target, backups } = run;
  const cfg = req.brain.config;
  let tPhase = at.t0;
  const phase = (name: string): void => {
    const now = Date.now();
    req.logger.debug({ task: task.id, phase: name, ms: now - tPhase }, 'phase done');
    tPhase = now;
  };
  let backup: Backup | null = backups.get(target.name) ?? null;
  const meter = new LockMeter();
  const budgetMs = writerWaitBudget(req);
  const form = boundedFormFor(task, op, ctx, budgetMs);
  const result = (status: MaintenanceResult['status'], message: string, extra: Measured = {}): MaintenanceResult => ({
    ...at.result(status, message, { writeLock: meter.summary(), bounded: form !== null && form !== 'defer', ...extra }),
    backup: backup?.path ?? null,
  });
  if (form === 'defer') return deferredResult(req, task, budgetMs!, at.result);
  let db: Database.Database;
  try {
    db = new Database(target.path, { fileMustExist: true, timeout: cfg.maintenance.busyTimeoutMs });
    db.pragma(`cache_size = -${cfg.maintenance.cacheSizeMiB * 1024}`);
  } catch (err) {
    return result('failed', `cannot open ${target.name}: ${(err as Error).message}; nothing was changed`);
  }
  // FTS5's integrity-check takes the write lock (outside a transaction of ours): timed too.
  const conn: WriteCapable = {
    db,
    withWriteTransactionAllowed: (fn) => (db.inTransaction ? fn(db) : meter.hold(() => fn(db))),
    withTempWrites: (fn) => fn(db),
  };
  const env: OpEnv = {
    meter,
    boundedMs: form === null ? null : budgetMs,
    toIncremental: cfg.maintenance.autoVacuum === 'incremental',
  };
  const bounded = form === null ? '' : ` (${form.describe}, within maintenance.maxWriterWaitMs = ${budgetMs} ms)`;
  try {
    if (!op.guarded) {
      const out = await op.run(db, ctx, env);
      return result(out.status, out.message, { rowsAffected: out.rowsAffected });
    }

    // 2. preflight
    const needs = spaceNeeds({
      dbBytes: onDiskBytes(target.path),
      backupDir: backupDirFor(req.brain.backupDir, target),
      databaseDir: path.dirname(target.path),
      needsBackup: !backup,
      rewrites: op.rewritesDatabase && form === null,
      env: req.env,
    });
    try {
      checkFreeSpace(needs, req.probe ?? statfsProbe);
    } catch (err) {
      if (err instanceof DbmError && err.code === 'NO_SPACE') return result('refused', err.message);
      throw err;
    }

    // 3. backup from a read snapshot, verified before anything changes
    const createdNow = !backup;
    if (!backup) {
      // What earlier tasks left in the WAL is copied back first (PASSIVE: it blocks nobody), so
      // that neither our snapshot nor the application's next commit has to carry it.
      checkpointBetweenBatches(db);
      try {
        backup = await createBackup(db, target, backupDirFor(req.brain.backupDir, target), req.now, meter, () =>
          pauseAt(req.env, 'backup-snapshot'),
        );
      } catch (err) {
        return result('failed', `${(err as Error).message}; nothing was changed`);
      }
      backups.set(target.name, backup);
      phase('backup');
    }
    const saved: Backup = backup;

    // 4. the operation, 5. verification
    const vopts: VerifyOptions = {
      rebuiltFts: new Set(),
      touchedFts: new Set(),
      ftsSampleRows: cfg.assess.ftsSampleRows,
      ftsFullCheckMaxBytes: cfg.assess.ftsFullCheckMaxBytes,
      fullQuickCheck: req.deep,
      busyTimeoutMs: cfg.maintenance.busyTimeoutMs,
      budgetMs,
      ftsIndexBytes: new Map(ctx.fts.map((f) => [f.table, f.indexBytes ?? 0])),
    };
    const ftsBefore = new Map(ctx.fts.map((f) => [f.table, f.status]));
    let outcome: OpOutcome | null = null;
    let opError: Error | null = null;
    let problems: string[] = [];
    let counted: string;
    let structureCounts: ReadonlyMap<string, number> = saved.counts;
    if (op.transactional && verifyInOwnTransaction(form, budgetMs, task, target.path)) {
      // Verified before COMMIT, in the operation's own transaction; a problem is a ROLLBACK.
      db.exec('BEGIN IMMEDIATE');
      const end = meter.start();
      let inTx: ReturnType<typeof verifyInTransaction> | null = null;
      try {
        const before = tableCounts(db);
        structureCounts = before;
        phase('snapshot');
        outcome = await op.run(db, ctx, env);
        injectFaultAfter(db, req.env, task);
        phase('operation');
        inTx = verifyInTransaction(conn, before, ftsBefore, withFts(vopts, outcome));
      } catch (err) {
        opError = err as Error;
      }
      if (opError || !inTx || inTx.problems.length > 0) {
        if (db.inTransaction) db.exec('ROLLBACK');
        end();
        await keepBackup(saved);
        const why = opError
          ? `${task.type} failed: ${opError.message}`
          : `verification failed after ${task.type}: ${inTx!.problems.join('; ')}`;
        return result(
          'failed',
          `${why}; rolled back before it was committed, the database is unchanged (nothing restored, nothing of other connections' discarded)`,
        );
      }
      db.exec('COMMIT');
      end();
      counted = describeCounts(inTx.counts, 'in-transaction');
      problems = await structureProblems(db, target.path, structureCounts, vopts);
    } else {
      // Counted in read snapshots before and after; within a budget the "before" blocks nobody.
      const before = countsBefore(db, createdNow ? saved : undefined, budgetMs === null ? meter : undefined);
      structureCounts = before.counts;
      phase('snapshot');
      try {
        outcome = await runOutsideVerification(db, op, ctx, env, form);
        injectFaultAfter(db, req.env, task);
      } catch (err) {
        opError = err as Error;
      }
      const afterCounts = countsInSnapshot(db);
      const settled = outcome && !opError ? op.settle?.(db, env) : '';
      if (outcome && settled) outcome = { ...outcome, message: `${outcome.message}; ${settled}` };
      phase('operation');
      const after = await verifyAfter(conn, target.path, before, afterCounts, ftsBefore, withFts(vopts, outcome));
      counted = describeCounts(after.counts, 'snapshots');
      problems = after.problems;
    }
    phase('verification');
    let notes = [counted];
    if (problems.length > 0) {
      // Seen while others committed? Looked at again on a fresh snapshot before anything is restored.
      const again = await recheck(conn, target.path, structureCounts, ftsBefore, withFts(vopts, outcome), problems);
      if (again.length === 0) {
        notes = [...notes, `a first look found ${problems.join('; ')}, a second look on a fresh snapshot did not`];
        req.logger.warn({ task: task.id, problems }, 'verification problem did not hold on a second look');
      }
      problems = again;
    }
    const noted = ` (${notes.join('; ')})`;
    if (problems.length === 0) {
      // Only now does the backup get its final name, and older ones make room for it.
      try {
        failAt(req.env, 'backup-commit');
        await commitBackup(saved);
      } catch (err) {
        // The operation ran and verified; only the backup is missing: say so, not "could not run".
        const what =
          outcome && !opError
            ? `${task.type} done and verified (${outcome.message})`
            : `${task.type} failed (${opError?.message ?? 'unknown error'}) and the database is unchanged (verified)`;
        return result(
          outcome && !opError ? 'partial' : 'failed',
          `${what}, but its backup could not be kept: ${(err as Error).message}; older backups were left as they are`,
          {
            rowsAffected: outcome?.rowsAffected ?? 0,
            ftsIndexes: outcome && !opError ? (outcome.ftsIndexes ?? []) : [],
          },
        );
      }
      pruneBackups(backupDirFor(req.brain.backupDir, target), target.name, cfg.maintenance.keepBackups);
      if (outcome && !opError)
        return result(outcome.status, `${outcome.message}${bounded}; verified${noted}`, {
          rowsAffected: outcome.rowsAffected,
          ftsIndexes: outcome.ftsIndexes ?? [],
        });
      // SQLite rolled the failed statement back; verification shows the database as it was.
      return result(
        'failed',
        `${task.type} failed: ${opError?.message ?? 'unknown error'}; the database is unchanged (verified)${noted}`,
      );
    }

    // 6. keep what is about to be rolled back, restore through SQLite, then verify the restore
    const why = opError
      ? `${task.type} failed (${opError.message}) and verification found: ${problems.join('; ')}`
      : `verification failed after ${task.type}: ${problems.join('; ')}`;
    let discarded: Discarded;
    try {
      await commitBackup(saved);
      discarded = await keepDiscarded(db, target, saved, meter);
    } catch (err) {
      return result(
        'failed',
        `${why}; NOT RESTORED: the state a restore would roll back could not be kept (${(err as Error).message}); the database is as the operation left it, the verified backup is ${saved.path}`,
      );
    }
    try {
      const end = meter.start();
      try {
        await restoreBackup(saved, target, cfg.maintenance.busyTimeoutMs);
      } finally {
        end();
      }
    } catch (err) {
      return result(
        'failed',
        `${why}; RESTORE FAILED: ${(err as Error).message}; the verified backup is ${saved.path}, the state before the restore ${discarded.path}`,
      );
    }
    const raised = meter.hold(() => keepSequences(db, discarded.sequences));
    const restoredState = verifyRestore(db, saved);
    return result(
      'failed',
      `${why}; restored from the backup (${restoredState}); ${describeDiscarded(discarded, raised)}`,
      { restored: true },
    );
  } catch (err) {
    // Keep the verified backup under its final name: it is the state before this task.
    if (backup && !backup.committed) await commitBackup(backup).catch(() => undefined);
    return result('failed', `${task.type} could not run: ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

function withFts(opts: VerifyOptions, outcome: OpOutcome | null): VerifyOptions {
  return { ...opts, rebuiltFts: new Set(outcome?.rebuiltFts ?? []), touchedFts: new Set(outcome?.touchedFts ?? []) };
}

/** The checks that can see a problem after COMMIT, once more, each on a fresh snapshot. */
async function recheck(
  conn: WriteCapable,
  file: string,
  counts: ReadonlyMap<string, number>,
  ftsBefore: ReadonlyMap<string, FtsHealth['status']>,
  opts: VerifyOptions,
  first: readonly string[],
): Promise<string[]> {
  // A row-count difference seen with no other commit in between is not a matter of timing.
  const countProblems = first.filter((p) => p.startsWith('table "'));
  return [
    ...(await structureProblems(conn.db, file, counts, opts)),
    ...countProblems,
    ...ftsProblems(conn, ftsBefore, opts),
  ];
}

async function keepBackup(backup: Backup): Promise<void> {
  // The state before the task (the database is in it again): kept under its final name.
  await commitBackup(backup).catch(() => undefined);
}

function describeDiscarded(d: Discarded, raised: number): string {
  const delta =
    d.delta === null
      ? 'its contents could not be read'
      : d.delta.size === 0
        ? 'the same row counts as the backup'
        : [...d.delta].map(([t, n]) => `${t} ${n > 0 ? '+' : ''}${n}`).join(', ') + ' rows against the backup';
  const others = d.othersCommitted
    ? 'other connections committed since the backup'
    : 'no other connection committed since the backup';
  const seq = raised > 0 ? `; ${raised} AUTOINCREMENT counter(s) kept at the ids already handed out` : '';
  return `the state rolled back is kept as ${d.path} (${others}; ${delta})${seq}`;
}

function verifyRestore(db: Database.Database, backup: Backup): string {
  const qc = quickCheckAll(db);
  if (qc.length > 0) return `after restore ${qc.slice(0, 3).join('; ')}`;
  const now = tableCounts(db);
  const differ = [...backup.counts].filter(([t, n]) => now.get(t) !== n).map(([t]) => t);
  return differ.length === 0
    ? 'verified: quick_check ok, every row count equals the backup'
    : `quick_check ok; row counts of ${differ.join(', ')} differ from the backup: other connections wrote since`;
}
