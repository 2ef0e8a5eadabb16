/**
 * The tool's own state database (`<stateDir>/state.db`): run history, last runs of each
 * task, statistics snapshots. Created and upgraded by migrations/NNN_name.sql; the schema
 * version is PRAGMA user_version, and each applied migration is listed in schema_migrations.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DbmError } from '../errors.js';
import { narrowToDir } from '../util/ownership.js';
import { brokenState, openExistingReadOnly, quickCheck } from './state-file.js';
import { stateDirError } from './state-dir.js';
import { loadMigrations, migrate, SCHEMA_VERSION } from './migrations.js';
import type { DatabaseHealth } from '../assess/types.js';
import type { MaintenanceResult, ProbeResult, ProbeTiming } from '../maintenance/types.js';
import type { TaskType } from '../task-types.js';

export const STATE_DB_FILE = 'state.db';

export interface LastRun {
  readonly database: string;
  readonly type: string;
  readonly at: string;
}

export class StateDb {
  readonly db: Database.Database;
  readonly path: string;

  private constructor(db: Database.Database, file: string) {
    this.db = db;
    this.path = file;
  }

  /** Opens (creating and migrating as needed) the state database in `stateDir`. */
  static open(stateDir: string): StateDb {
    const file = path.join(stateDir, STATE_DB_FILE);
    let db: Database.Database;
    try {
      try {
        fs.mkdirSync(stateDir, { recursive: true });
      } catch (err) {
        throw stateDirError(stateDir, err);
      }
      const created = !fs.existsSync(file);
      db = new Database(file, { timeout: 5000 });
      if (created) narrowToDir(file, stateDir);
      // Rollback journal, not WAL: a read-only reader (--run --dry-run, --history) then creates no file.
      db.pragma('journal_mode = DELETE');
      quickCheck(db);
    } catch (err) {
      if (err instanceof DbmError) throw err;
      throw brokenState(file, (err as Error).message);
    }
    try {
      migrate(db, loadMigrations());
    } catch (err) {
      db.close();
      if (err instanceof DbmError) throw err;
      throw new DbmError('STATE_DB', `cannot migrate the state database ${file}: ${(err as Error).message}`);
    }
    return new StateDb(db, file);
  }

  /**
   * Opens an existing state database read-only, or returns null when there is none yet (or a
   * killed run left a hot journal that only a writer may roll back: readers then go without
   * history until the next writing command does). Anything else that makes it unusable (not a
   * database, corrupt, a directory, a newer schema) is a STATE_DB error, never an empty history.
   */
  static openReadOnly(stateDir: string): StateDb | null {
    const file = path.join(stateDir, STATE_DB_FILE);
    const db = openExistingReadOnly(file);
    return db ? new StateDb(db, file) : null;
  }

  schemaVersion(): number {
    return Number(this.db.pragma('user_version', { simple: true }));
  }

  /** Last successful run of each (database, task type). */
  lastRuns(): Map<string, string> {
    const out = new Map<string, string>();
    if (this.schemaVersion() < SCHEMA_VERSION.history) return out;
    const rows = this.db
      .prepare(
        "SELECT database_name AS d, task_type AS t, max(started_at) AS at FROM task_runs WHERE status = 'ok' GROUP BY database_name, task_type",
      )
      .all() as Array<{ d: string; t: string; at: string }>;
    for (const r of rows) out.set(lastRunKey(r.d, r.t), r.at);
    return out;
  }

  /**
   * Median throughput of the last successful runs, or null: bytes of size_before a second, or
   * with `per` 'items' the items they moved (rows_affected) a second (a retention task's
   * estimate is of its items).
   */
  throughput(database: string, type: TaskType, per: 'bytes' | 'items' = 'bytes'): number | null {
    if (this.schemaVersion() < SCHEMA_VERSION.history) return null;
    return per === 'items'
      ? this.medianOfRecent('rows_affected * 1000.0 / max(duration_ms, 1)', 'rows_affected > 0', database, type)
      : this.medianOfRecent('size_before * 1000.0 / max(duration_ms, 1)', 'size_before > 0', database, type);
  }

  /**
   * Median bytes (of size_before) per millisecond of the longest write-lock hold, over the last
   * successful runs of the full form (not a bounded one), or null: what a full run's hold is
   * estimated from.
   */
  holdRate(database: string, type: TaskType): number | null {
    if (this.schemaVersion() < SCHEMA_VERSION.writeLock) return null;
    const where = 'bounded = 0 AND size_before > 0 AND lock_longest_ms > 0';
    return this.medianOfRecent('size_before * 1.0 / lock_longest_ms', where, database, type);
  }

  /** The median of `expr` over the last five successful runs of `type` on `database` that match `where` (fixed SQL of ours). */
  private medianOfRecent(expr: string, where: string, database: string, type: TaskType): number | null {
    const rows = this.db
      .prepare(
        `SELECT ${expr} FROM task_runs WHERE status = 'ok' AND database_name = ? AND task_type = ? AND ${where} ORDER BY started_at DESC LIMIT 5`,
      )
      .pluck()
      .all(database, type) as number[];
    if (rows.length === 0) return null;
    const sorted = [...rows].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  }

  recordSnapshot(takenAt: string, health: readonly DatabaseHealth[]): void {
    const ins = this.db.prepare(
      'INSERT INTO stats_snapshots(taken_at, database_name, file_bytes, wal_bytes, page_size, page_count, freelist_count, page_waste_ratio, stale_tables, fts_problems) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.db
      .transaction(() => {
        for (const h of health) {
          if (h.status !== 'ok') continue;
          ins.run(
            takenAt,
            h.name,
            h.fileBytes ?? 0,
            h.walBytes ?? 0,
            h.pageSize ?? 0,
            h.pageCount ?? 0,
            h.freelistCount ?? 0,
            h.pageWaste?.ratio ?? null,
            h.statistics?.staleTables.length ?? 0,
            (h.fts ?? []).filter((f) => f.status !== 'ok').length,
          );
        }
      })
      .immediate();
  }

  /** The WAL size recorded by the previous snapshot of `database`, for growth reporting. */
  previousWalBytes(database: string): { at: string; walBytes: number } | null {
    if (this.schemaVersion() < SCHEMA_VERSION.history) return null;
    const row = this.db
      .prepare(
        'SELECT taken_at AS at, wal_bytes AS walBytes FROM stats_snapshots WHERE database_name = ? ORDER BY taken_at DESC, id DESC LIMIT 1',
      )
      .get(database) as { at: string; walBytes: number } | undefined;
    return row ?? null;
  }

  /** Whether a successful run of `lane` is recorded for `window` (see src/schedule/cadence.ts). */
  laneSucceeded(lane: string, window: string): boolean {
    if (this.schemaVersion() < SCHEMA_VERSION.schedule) return false;
    return (
      this.db
        .prepare("SELECT 1 FROM schedule_runs WHERE lane = ? AND window_key = ? AND status = 'ok' LIMIT 1")
        .get(lane, window) !== undefined
    );
  }

  recordProbes(runId: number, probes: readonly ProbeResult[]): void {
    const ins = this.db.prepare(
      'INSERT INTO probe_results(run_id, name, database_name, before_p50_ms, before_p95_ms, after_p50_ms, after_p95_ms, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const p of probes)
        ins.run(
          runId,
          p.name,
          p.database,
          p.before?.p50Ms ?? null,
          p.before?.p95Ms ?? null,
          p.after?.p50Ms ?? null,
          p.after?.p95Ms ?? null,
          p.error,
        );
    })();
  }

  /** The probes of the newest run that timed any, and when that run started; null when no run did. */
  latestProbes(): { startedAt: string; probes: HistoryRun['probes'] } | null {
    if (this.schemaVersion() < SCHEMA_VERSION.probes) return null;
    const run = this.db
      .prepare(
        'SELECT id, started_at AS startedAt FROM runs r WHERE EXISTS (SELECT 1 FROM probe_results p WHERE p.run_id = r.id) ORDER BY id DESC LIMIT 1',
      )
      .get() as { id: number; startedAt: string } | undefined;
    return run ? { startedAt: run.startedAt, probes: this.probesOf(run.id) } : null;
  }

  private probesOf(runId: number): HistoryRun['probes'] {
    if (this.schemaVersion() < SCHEMA_VERSION.probes) return [];
    const rows = this.db
      .prepare(
        'SELECT name, database_name AS database, before_p50_ms AS bp50, before_p95_ms AS bp95, after_p50_ms AS ap50, after_p95_ms AS ap95, error FROM probe_results WHERE run_id = ? ORDER BY id',
      )
      .all(runId) as Array<{
      name: string;
      database: string;
      bp50: number | null;
      bp95: number | null;
      ap50: number | null;
      ap95: number | null;
      error: string | null;
    }>;
    const timing = (p50: number | null, p95: number | null): ProbeTiming | null =>
      p50 === null || p95 === null ? null : { p50Ms: p50, p95Ms: p95 };
    return rows.map((p) => ({
      name: p.name,
      database: p.database,
      before: timing(p.bp50, p.bp95),
      after: timing(p.ap50, p.ap95),
      error: p.error,
    }));
  }

  /** Whether a successful VACUUM of compaction job `job`'s database is recorded for `window`. */
  compactionVacuumSucceeded(job: string, window: string): boolean {
    if (this.schemaVersion() < SCHEMA_VERSION.compactionVacuums) return false;
    return (
      this.db
        .prepare("SELECT 1 FROM compaction_vacuums WHERE job = ? AND window_key = ? AND status = 'ok' LIMIT 1")
        .get(job, window) !== undefined
    );
  }

  recordCompactionVacuum(job: string, window: string, runId: number | null, startedAt: string, ok: boolean): void {
    this.db
      .prepare('INSERT INTO compaction_vacuums(job, window_key, run_id, started_at, status) VALUES (?, ?, ?, ?, ?)')
      .run(job, window, runId, startedAt, ok ? 'ok' : 'failed');
  }

  recordLane(lane: string, window: string, runId: number | null, startedAt: string, ok: boolean): void {
    this.db
      .prepare('INSERT INTO schedule_runs(lane, window_key, run_id, started_at, status) VALUES (?, ?, ?, ?, ?)')
      .run(lane, window, runId, startedAt, ok ? 'ok' : 'failed');
  }

  /** Per (database, task type): the last result of any status, and the time of the last success. */
  taskSummaries(): TaskSummary[] {
    if (this.schemaVersion() < SCHEMA_VERSION.history) return [];
    const lock =
      this.schemaVersion() >= SCHEMA_VERSION.writeLock
        ? 't.lock_longest_ms AS lastLockLongestMs, t.lock_total_ms AS lastLockTotalMs'
        : 'NULL AS lastLockLongestMs, NULL AS lastLockTotalMs';
    return this.db
      .prepare(
        `SELECT t.database_name AS database, t.task_type AS type, t.status AS lastStatus, t.duration_ms AS lastDurationMs, t.started_at AS lastStartedAt, ${lock},
                (SELECT max(started_at) FROM task_runs s WHERE s.database_name = t.database_name AND s.task_type = t.task_type AND s.status = 'ok') AS lastSuccessAt
         FROM task_runs t
         WHERE t.id = (SELECT max(id) FROM task_runs u WHERE u.database_name = t.database_name AND u.task_type = t.task_type)
         ORDER BY t.database_name, t.task_type`,
      )
      .all() as TaskSummary[];
  }

  /** Records a finished run and its task results; returns the run id. */
  recordRun(run: RunRecord, results: readonly MaintenanceResult[]): number {
    return this.db
      .transaction(() => {
        const id = Number(
          this.db
            .prepare(
              'INSERT INTO runs(command, started_at, finished_at, dry_run, exit_code, host, pid) VALUES (?, ?, ?, 0, ?, ?, ?)',
            )
            .run(run.command, run.startedAt, run.finishedAt, run.exitCode, os.hostname(), process.pid).lastInsertRowid,
        );
        const ins = this.db.prepare(
          'INSERT INTO task_runs(run_id, task_id, task_type, database_name, status, restored, backup_path, started_at, duration_ms, size_before, size_after, rows_affected, message, lock_longest_ms, lock_total_ms, bounded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        );
        for (const r of results) {
          ins.run(
            id,
            r.taskId,
            r.type,
            r.database,
            r.status,
            r.restored ? 1 : 0,
            r.backup,
            r.startedAt,
            r.durationMs,
            r.sizeBefore,
            r.sizeAfter,
            r.rowsAffected,
            r.message,
            r.writeLock.longestMs,
            r.writeLock.totalMs,
            r.bounded ? 1 : 0,
          );
        }
        return id;
      })
      .immediate();
  }

  /** The newest runs, newest first, each with its task results. */
  history(limit: number, database?: string): HistoryRun[] {
    if (this.schemaVersion() < SCHEMA_VERSION.history) return [];
    const runs = this.db
      .prepare(
        'SELECT id, command, started_at AS startedAt, finished_at AS finishedAt, exit_code AS exitCode, host, pid FROM runs ORDER BY id DESC LIMIT ?',
      )
      .all(limit) as Array<Omit<HistoryRun, 'tasks'>>;
    const lock =
      this.schemaVersion() >= SCHEMA_VERSION.writeLock
        ? 'lock_longest_ms AS lockLongestMs, lock_total_ms AS lockTotalMs, bounded'
        : 'NULL AS lockLongestMs, NULL AS lockTotalMs, 0 AS bounded';
    const tasks = this.db.prepare(
      `SELECT task_id AS taskId, task_type AS type, database_name AS database, status, restored, backup_path AS backup, started_at AS startedAt,
              duration_ms AS durationMs, size_before AS sizeBefore, size_after AS sizeAfter, rows_affected AS rowsAffected, message, ${lock}
       FROM task_runs WHERE run_id = ? AND (? IS NULL OR database_name = ?) ORDER BY id`,
    );
    return runs
      .map((r) => ({
        ...r,
        tasks: (tasks.all(r.id, database ?? null, database ?? null) as Array<Record<string, unknown>>).map(
          ({ lockLongestMs, lockTotalMs, ...t }) => ({
            ...t,
            restored: t['restored'] === 1,
            bounded: t['bounded'] === 1,
            // null: recorded before the holds were (schema version 5)
            writeLock: lockLongestMs === null ? null : { longestMs: lockLongestMs, totalMs: lockTotalMs, holds: null },
          }),
        ) as unknown as HistoryRun['tasks'],
        probes: this.probesOf(r.id),
      }))
      .filter((r) => database === undefined || r.tasks.length > 0);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * Records a finished run (its results and probes) in `stateDir`'s state database; returns its id,
 * or null when it could not be recorded (logged: the run itself already happened).
 */
export function recordRunIn(
  stateDir: string,
  run: RunRecord,
  results: readonly MaintenanceResult[],
  probes: readonly ProbeResult[],
  logger: { error(obj: object, msg: string): void },
): number | null {
  let state: StateDb | undefined;
  try {
    state = StateDb.open(stateDir);
    const id = state.recordRun(run, results);
    if (probes.length) state.recordProbes(id, probes);
    return id;
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'could not record the run in the state database');
    return null;
  } finally {
    state?.close();
  }
}

export interface RunRecord {
  readonly command: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly exitCode: number;
}

export interface TaskSummary {
  readonly database: string;
  readonly type: string;
  readonly lastStatus: string;
  readonly lastDurationMs: number;
  /** The last run's longest and total hold of the write lock (null: recorded before schema version 5). */
  readonly lastLockLongestMs: number | null;
  readonly lastLockTotalMs: number | null;
  readonly lastStartedAt: string;
  readonly lastSuccessAt: string | null;
}

export interface HistoryRun {
  readonly id: number;
  readonly command: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly exitCode: number | null;
  readonly host: string;
  readonly pid: number;
  readonly tasks: ReadonlyArray<
    Omit<MaintenanceResult, 'writeLock' | 'deferred' | 'ftsIndexes'> & {
      /** null for a run recorded before the holds were (state schema version 5). */
      readonly writeLock: { readonly longestMs: number; readonly totalMs: number; readonly holds: null } | null;
    }
  >;
  /** The performance probes of the run (timings without the row counts). */
  readonly probes: ReadonlyArray<ProbeResult<ProbeTiming>>;
}

export function lastRunKey(database: string, type: string): string {
  return `${database}\u0000${type}`;
}
