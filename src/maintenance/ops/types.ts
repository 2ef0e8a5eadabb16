import type Database from 'better-sqlite3';
import type { FtsHealth } from '../../assess/types.js';
import type { TaskType } from '../../task-types.js';

export interface OpContext {
  /** The database's FTS5 indexes as the assessment found them (name, kind, status). */
  readonly fts: readonly FtsHealth[];
  /** Requested whatever the assessment says (an operation flag, the monthly lane) rather than planned from it. */
  readonly requested: boolean;
}

export interface OpOutcome {
  readonly status: 'ok' | 'partial' | 'skipped';
  readonly rowsAffected: number;
  readonly message: string;
  readonly rebuiltFts: readonly string[];
  readonly touchedFts: readonly string[];
}

/** One maintenance operation: the SQL it runs (shown by --dry-run) and how to run it. */
export interface Operation {
  readonly type: TaskType;
  /** Changes database content and so runs behind backup, verification and restore. */
  readonly guarded: boolean;
  /**
   * Can run inside a write transaction (everything but VACUUM): the safety net then verifies it
   * before COMMIT and rolls it back on a problem, so nothing is ever restored over it.
   */
  readonly transactional: boolean;
  /** Needs VACUUM's extra space (2x next to the database, 1x in the temp directory). */
  readonly rewritesDatabase: boolean;
  sql(ctx: OpContext): string[];
  run(db: Database.Database, ctx: OpContext): OpOutcome;
  /**
   * What follows `run` once verification has read the state right after it (VACUUM's
   * checkpoint): a note for the result's message, or ''.
   */
  settle?(db: Database.Database): string;
}

export const nothingRebuilt = { rebuiltFts: [], touchedFts: [] } as const;
