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
  /** Needs VACUUM's extra space (2x next to the database, 1x in the temp directory). */
  readonly rewritesDatabase: boolean;
  sql(ctx: OpContext): string[];
  run(db: Database.Database, ctx: OpContext): OpOutcome;
}

export const nothingRebuilt = { rebuiltFts: [], touchedFts: [] } as const;
