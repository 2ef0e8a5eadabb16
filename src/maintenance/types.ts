/**
 * What maintenance reports and is asked: the `results` and `plan` of `--run --json`
 * (docs/json-output.md), the probe timings, and the request the executor and the safety net take.
 */
import type { Logger } from 'pino';
import type { Brain } from '../config/load.js';
import type { TaskType } from '../task-types.js';
import type { Progress } from '../util/progress.js';
import { NO_HOLDS, type WriteLockHolds } from './lock-meter.js';
import type { FreeSpaceProbe } from './preflight.js';
import type { FtsIndexSize } from './ops/types.js';

/**
 * ok: done and verified. partial: ran but did not complete (a busy checkpoint).
 * failed: did not complete or failed verification; any change was restored.
 * refused: a preflight check (free space) stopped it before anything changed.
 * skipped: not run (an earlier failure on the same database, or not a --run task).
 */
export type ResultStatus = 'ok' | 'partial' | 'failed' | 'refused' | 'skipped';

export interface MaintenanceResult {
  readonly taskId: string;
  readonly type: TaskType;
  readonly database: string;
  readonly status: ResultStatus;
  readonly startedAt: string;
  /** A failed change was undone from the backup (and the restore verified). */
  readonly restored: boolean;
  readonly durationMs: number;
  /** Measured file sizes (database + WAL), not estimates. */
  readonly sizeBefore: number;
  readonly sizeAfter: number;
  readonly rowsAffected: number;
  readonly message: string;
  readonly backup: string | null;
  /** How long the task held the database's write lock (the application's writers waited at most that long). */
  readonly writeLock: WriteLockHolds;
  /** Ran in a bounded form to keep within maintenance.maxWriterWaitMs (ANALYZE with analysis_limit, FTS5 'merge' steps, incremental_vacuum batches). */
  readonly bounded: boolean;
  /** Not run because its lock hold would exceed the writer-wait budget (status 'skipped'); null otherwise. */
  readonly deferred: Deferral | null;
  /** The FTS5 indexes it rebuilt or merged, each with its size and segments before and after (else empty). */
  readonly ftsIndexes: readonly FtsIndexSize[];
}

/** Why a task was put off: its estimated hold of the write lock against the budget, and how to run it. */
export interface Deferral {
  readonly estimatedHoldMs: number;
  readonly estimateSource: 'history' | 'heuristic';
  readonly budgetMs: number;
  /** The command that runs it anyway (an explicit operation may block writers). */
  readonly command: string;
}

/** What a result measured besides its status and message (all zero / none when a task did not run). */
export type Measured = Partial<
  Pick<
    MaintenanceResult,
    | 'restored'
    | 'durationMs'
    | 'sizeBefore'
    | 'sizeAfter'
    | 'rowsAffected'
    | 'backup'
    | 'writeLock'
    | 'bounded'
    | 'deferred'
    | 'ftsIndexes'
  >
>;

/** The one builder of a task's result, for maintenance and retention alike. */
export function taskResult(
  task: { readonly id: string; readonly type: TaskType; readonly database: string },
  startedAt: string,
  status: ResultStatus,
  message: string,
  measured: Measured = {},
): MaintenanceResult {
  return {
    taskId: task.id,
    type: task.type,
    database: task.database,
    status,
    startedAt,
    restored: measured.restored ?? false,
    durationMs: measured.durationMs ?? 0,
    sizeBefore: measured.sizeBefore ?? 0,
    sizeAfter: measured.sizeAfter ?? 0,
    rowsAffected: measured.rowsAffected ?? 0,
    message,
    backup: measured.backup ?? null,
    writeLock: measured.writeLock ?? NO_HOLDS,
    bounded: measured.bounded ?? false,
    deferred: measured.deferred ?? null,
    ftsIndexes: measured.ftsIndexes ?? [],
  };
}

/** One step of the plan, as `--run --dry-run` shows it. */
export interface PlannedStep {
  readonly taskId: string;
  readonly type: TaskType;
  readonly database: string;
  readonly priority: number;
  readonly reason: string;
  readonly sql: readonly string[];
  readonly reclaimableBytes: number | null;
  readonly estimatedSeconds: number;
  readonly estimateSource: 'history' | 'heuristic';
  /** How long it would hold the write lock at once (ms). */
  readonly estimatedHoldMs: number;
  /**
   * Against the writer-wait budget: within it, run in a bounded form, deferred (no bounded form),
   * or may-block (no budget: an explicit operation, a lane with allowBlocking).
   */
  readonly writerWait: 'within-budget' | 'bounded' | 'deferred' | 'may-block';
  /** The bounded form it runs in (writerWait 'bounded'), else null. */
  readonly boundedForm: string | null;
  /** Why --run would not execute it (retention tasks belong to their own commands). */
  readonly notRunBecause: string | null;
}

/** p50/p95 of a probe's timed runs. */
export interface ProbeTiming {
  readonly p50Ms: number;
  readonly p95Ms: number;
}

/** A probe's timing as measured: with the rows its query returned. */
export interface Timing extends ProbeTiming {
  readonly rows: number;
}

/** A configured probe, timed before and after a run (the history keeps the timings without the row counts). */
export interface ProbeResult<T extends ProbeTiming = Timing> {
  readonly name: string;
  readonly database: string;
  readonly before: T | null;
  readonly after: T | null;
  readonly error: string | null;
}

/** What to maintain and how: `--run`, the operations requested by flags, and the lanes of `--scheduled`. */
export interface RunRequest {
  readonly brain: Brain;
  /** What the run is called in the run lock and the history (the CLI passes `--run`, `--vacuum --analyze`, ...; default 'maintenance'). */
  readonly command?: string;
  /** One database name, or several (the compaction lane's VACUUMs); all databases when absent. */
  readonly dbName?: string | readonly string[] | undefined;
  readonly dryRun: boolean;
  /** Operations requested whatever the assessment says; empty: the planned tasks. */
  readonly requested: readonly TaskType[];
  readonly deep: boolean;
  readonly now: Date;
  readonly logger: Logger;
  readonly env: NodeJS.ProcessEnv;
  readonly probe?: FreeSpaceProbe;
  /** Where a long task shows it is alive (a terminal's stderr); none by default. */
  readonly progress?: Progress;
  /** Of the planned tasks, only these types (a lane of --scheduled). */
  readonly only?: readonly TaskType[];
  /** The caller holds the run lock already (--scheduled). */
  readonly lockHeld?: boolean;
  /** Record the run in the state database (default); --scheduled records its own. */
  readonly record?: boolean;
  /** Time the configured probes before and after (default); --scheduled times its own. */
  readonly probes?: boolean;
  /**
   * The writer-wait budget (ms) every hold of a write lock must keep within, or null when the
   * run may block writers (an explicit operation, a lane with allowBlocking). Default: the
   * configured maintenance.maxWriterWaitMs for a run of the planned tasks (--run), null for
   * requested operations.
   */
  readonly writerWaitBudgetMs?: number | null;
}
