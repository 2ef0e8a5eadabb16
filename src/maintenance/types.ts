/** What maintenance operations report: the `results` of `--run --json` (README "JSON output"). */
import type { TaskType } from '../assess/types.js';

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
  /** Why --run would not execute it (retention tasks belong to their own commands). */
  readonly notRunBecause: string | null;
}
