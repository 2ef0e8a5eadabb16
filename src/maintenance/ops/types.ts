import type Database from 'better-sqlite3';
import type { DatabaseHealth, FtsHealth } from '../../assess/types.js';
import type { TaskType } from '../../task-types.js';
import type { LockMeter } from '../lock-meter.js';

export interface OpContext {
  /** The database's FTS5 indexes as the assessment found them (name, kind, status). */
  readonly fts: readonly FtsHealth[];
  /** Requested whatever the assessment says (an operation flag, the monthly lane) rather than planned from it. */
  readonly requested: boolean;
  /** PRAGMA auto_vacuum as the assessment found it. */
  readonly autoVacuum: AutoVacuumMode;
}

export type AutoVacuumMode = NonNullable<DatabaseHealth['autoVacuum']>;

/** How one run of an operation goes. */
export interface OpEnv {
  /** Every hold of the write lock is timed through it. */
  readonly meter: LockMeter;
  /**
   * Run the bounded form with this writer-wait budget (ms) for each lock hold; null: the full
   * form (it fits the budget, or the run may block: an explicit operation, an allowed window).
   */
  readonly boundedMs: number | null;
  /** Convert the database to auto_vacuum=INCREMENTAL at its next full VACUUM (maintenance.autoVacuum). */
  readonly toIncremental: boolean;
}

/** The form an operation takes to keep each hold of the write lock within a budget. */
export interface BoundedForm {
  /** What it does instead, for the plan and the result ("ANALYZE with analysis_limit=1000"). */
  readonly describe: string;
  /** Runs as many short transactions (outside the safety net's one transaction). */
  readonly batches: boolean;
}

export interface OpOutcome {
  readonly status: 'ok' | 'partial' | 'skipped';
  readonly rowsAffected: number;
  readonly message: string;
  readonly rebuiltFts: readonly string[];
  readonly touchedFts: readonly string[];
  /** The FTS5 indexes it rebuilt or merged, with their sizes before and after. */
  readonly ftsIndexes?: readonly FtsIndexSize[];
}

/** An FTS5 index's size before and after an operation (its leaf pages x page size, from its structure record). */
export interface FtsIndexSize {
  readonly table: string;
  readonly bytesBefore: number | null;
  readonly bytesAfter: number | null;
  /** Its segments before and after. */
  readonly segmentsBefore: number | null;
  readonly segmentsAfter: number | null;
}

/** One maintenance operation: the SQL it runs (shown by --dry-run) and how to run it. */
export interface Operation {
  readonly type: TaskType;
  /** Changes database content and so runs behind backup, verification and restore. */
  readonly guarded: boolean;
  /**
   * Can run inside a write transaction (everything but VACUUM): the safety net then verifies it
   * before COMMIT and rolls it back on a problem, so nothing is restored over it. Except within a
   * writer-wait budget on a database too large to verify under the lock in time: it then commits
   * in one short transaction and is verified from snapshots afterwards, as VACUUM is, and a
   * problem that holds on a second look is restored as VACUUM's would be (safety.md, step 6).
   */
  readonly transactional: boolean;
  /** Needs VACUUM's extra space (2x next to the database, 1x in the temp directory). */
  readonly rewritesDatabase: boolean;
  sql(ctx: OpContext, bounded?: boolean): string[];
  run(db: Database.Database, ctx: OpContext, env: OpEnv): OpOutcome | Promise<OpOutcome>;
  /** Its bounded form for this database, or null when it has none (it is then deferred if it would not fit). */
  bounded?(ctx: OpContext): BoundedForm | null;
  /**
   * What follows `run` once verification has read the state right after it (VACUUM's
   * checkpoint): a note for the result's message, or ''.
   */
  settle?(db: Database.Database, env: OpEnv): string;
}

export const nothingRebuilt = { rebuiltFts: [], touchedFts: [] } as const;
