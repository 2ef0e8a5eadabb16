/** The parts of an assessment: the `--json` contract (docs/json-output.md; the document is `Assessment` in src/report/json.ts). */
import type { ArchiveRule } from '../config/archive-files.js';
import type { FtsTriggerCheck } from '../db/fts-triggers.js';
import type { Priority, TaskType } from '../task-types.js';

export interface MaintenanceTask {
  readonly id: string;
  readonly type: TaskType;
  /** Database name, or 'events' / 'logs' for file tasks. */
  readonly database: string;
  readonly priority: Priority;
  readonly reason: string;
  readonly estimatedSeconds: number;
  /** Whether the estimate comes from recorded history or from a size heuristic. */
  readonly estimateSource: 'history' | 'heuristic';
  /** How long it would hold the database's write lock at once, in ms (the writer-wait budget is checked against it). */
  readonly estimatedHoldMs: number;
  readonly holdEstimateSource: 'history' | 'heuristic';
  /** ISO time of the last successful run of this task type on this target, or null. */
  readonly lastRun: string | null;
  /** What it would reclaim, when that can be estimated. */
  readonly reclaimableBytes?: number;
}

export type CheckStatus = 'ok' | 'skipped' | 'failed';

export interface PageWaste {
  readonly status: 'measured' | 'skipped';
  readonly note?: string;
  readonly unusedBytes?: number;
  readonly ratio?: number;
  /** The b-trees wasting most, largest first (at most 5). */
  readonly worst?: ReadonlyArray<{ readonly name: string; readonly unusedBytes: number; readonly pages: number }>;
}

export interface TableStatistics {
  readonly table: string;
  /** Rows when ANALYZE last ran (null: never analyzed). */
  readonly analyzedRows: number | null;
  readonly currentRows: number;
  readonly threshold: number;
  readonly stale: boolean;
}

export interface StatisticsHealth {
  readonly status: 'fresh' | 'stale' | 'missing' | 'not-needed';
  readonly staleTables: readonly TableStatistics[];
  readonly tablesChecked: number;
}

/** What an FTS5 'optimize' would take out of an index (src/assess/fts-bloat.ts). */
export interface FtsBloat {
  /** scanned: every leaf page read (--deep, small indexes); sampled: assess.ftsBloatSamplePages of them. */
  readonly method: 'scanned' | 'sampled';
  /** The bytes of the index's `<name>_data` (sampled: its leaf pages, as the sample scales them). */
  readonly indexBytes: number;
  /** Delete markers, deleted documents' entries and duplicate term keys: what an 'optimize' frees (and a VACUUM after it returns to the file system). */
  readonly reclaimableBytes: number;
  /** reclaimableBytes / indexBytes. */
  readonly ratio: number;
  /** Over thresholds.ftsDeadRatio and thresholds.minReclaimBytes: the plan has an optimize for it. */
  readonly due: boolean;
  /** Leaf pages the sampled estimate read (null when scanned). */
  readonly sampledPages: number | null;
  /** What the figure leaves out (a detail=none index; a contentless one without _docsize), or null. */
  readonly note: string | null;
}

export interface FtsHealth {
  readonly table: string;
  readonly kind: 'regular' | 'external' | 'contentless';
  readonly contentTable: string | null;
  readonly status: 'ok' | 'drift' | 'corrupt' | 'bloated' | 'unchecked';
  /** full: FTS5's integrity-check (rank 1 for an external index); sampled: the bounded check (docs/safety.md). */
  readonly checked: 'sampled' | 'full' | 'counts' | 'none';
  readonly detail: string;
  readonly indexedRows: number | null;
  readonly contentRows: number | null;
  readonly segments: number | null;
  /** About how many bytes its segments hold (leaf pages x page size, from its structure record). */
  readonly indexBytes: number | null;
  /**
   * An external-content index keyed by the rowid of a table without INTEGER PRIMARY KEY: VACUUM
   * may renumber those rowids, so a VACUUM rebuilds the index after it.
   */
  readonly vacuumRenumbers: boolean;
  /** The triggers that keep an external-content index in sync, classified (null for other kinds). */
  readonly triggers: FtsTriggerCheck | null;
  /** Its dead weight (null: not measured, e.g. a drifted or unreadable index). */
  readonly bloat: FtsBloat | null;
}

export interface DatabaseHealth {
  readonly name: string;
  readonly path: string;
  /** live: a database of the config; archive: the archive database of a retention rule (`archiveOf`), when it exists. */
  readonly role: 'live' | 'archive';
  readonly archiveOf?: ArchiveRule;
  readonly status: 'ok' | 'error';
  readonly error?: { readonly code: string; readonly message: string };
  readonly fileBytes?: number;
  readonly walBytes?: number;
  /** Change of the WAL size since the previous assessment's snapshot (none without history). */
  readonly walGrowth?: { readonly since: string; readonly bytes: number };
  readonly journalMode?: string;
  /**
   * PRAGMA auto_vacuum: 'none' (free pages come back only by a full VACUUM, which blocks writers
   * while it runs), 'incremental' (returned in bounded incremental_vacuum batches), 'full'
   * (returned at every commit by SQLite itself).
   */
  readonly autoVacuum?: 'none' | 'full' | 'incremental';
  readonly pageSize?: number;
  readonly pageCount?: number;
  readonly freelistCount?: number;
  readonly freelistRatio?: number;
  readonly reclaimableBytes?: number;
  readonly pageWaste?: PageWaste;
  readonly fragmentationRatio?: number;
  readonly statistics?: StatisticsHealth;
  readonly fts?: readonly FtsHealth[];
  readonly quickCheck?: { readonly status: CheckStatus; readonly messages: readonly string[]; readonly note?: string };
}

export interface EventsHealth {
  readonly path: string;
  readonly exists: boolean;
  readonly bytes: number;
  readonly cutoff: string;
  /** Lines older than the cut-off (estimated by binary search in default mode, counted in deep mode). */
  readonly olderLines: number;
  readonly olderBytes: number;
  readonly method: 'binary-search' | 'full-scan';
  /** Lines that are not JSON objects with a parseable timestamp (deep mode only; they are always kept). */
  readonly malformedLines: number | null;
}

export interface LogsHealth {
  readonly dir: string;
  readonly exists: boolean;
  readonly files: number;
  readonly eligible: ReadonlyArray<{
    readonly file: string;
    readonly bytes: number;
    readonly modified: string;
    readonly why: string;
  }>;
}

/** What one retention rule would move. */
export interface RetentionCount {
  readonly database: string;
  readonly table: string;
  /** Rows older than this (ISO-8601) are candidates. */
  readonly cutoff: string;
  readonly total: number;
  readonly eligible: number;
}

export interface RetentionHealth {
  /** null when the conversations database is not selected (--db) or could not be read. */
  readonly conversations:
    | null
    | (RetentionCount & {
        /** Rows whose timestamp is in no known format: never archived. */
        readonly unparseableTimestamps: number;
        /** Rows that move with the eligible conversations (counted with --deep, else null). */
        readonly childRows: ReadonlyArray<{ readonly table: string; readonly rows: number | null }>;
      });
  readonly patterns:
    | null
    | (RetentionCount & {
        /** Rows whose confidence is no number or whose last-used value is in no known format: never pruned. */
        readonly unusableRows: number;
      });
}

/** A problem an assessment found: one line for stderr, and the exit code it stands for. */
export interface AssessmentProblem {
  readonly database: string;
  readonly code: string;
  readonly message: string;
  readonly exitCode: number;
}
