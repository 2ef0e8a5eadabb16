/**
 * The task registry: everything the tool knows about each task type, in one place. The planner
 * (assess/plan.ts) takes priorities, estimates and the one task ordering from it; the executor
 * takes the operation that runs a maintenance task; the retention engine the work of a
 * retention task; the CLI the flag that requests it; the metrics the label that counts it.
 * docs/architecture.md walks through adding a task type.
 */
import type { RetentionRequest, RetentionWork } from './archival/types.js';
import { analyze } from './maintenance/ops/analyze.js';
import { checkpoint } from './maintenance/ops/checkpoint.js';
import { optimizeFts, rebuildFts } from './maintenance/ops/fts.js';
import { repairFtsTriggers } from './maintenance/ops/fts-triggers.js';
import { reindex } from './maintenance/ops/reindex.js';
import type { Operation } from './maintenance/ops/types.js';
import { vacuum } from './maintenance/ops/vacuum.js';
import { archiveWork, compactionWork, eventsWork, logsWork, patternsWork, restoreWork } from './retention/work.js';
import type { BrainPart } from './config/schema.js';
import { TASK_TYPES, type Priority, type TaskType } from './task-types.js';

export interface RetentionSpec {
  /** Its key in the `summary` of a retention report (and so of `--json`). */
  readonly summaryKey: string;
  /** One of the items `--enforce-retention` runs (in registry order). */
  readonly enforced: boolean;
  /** The optional part of the brain it works on: without that section in the config it is not managed. */
  readonly part?: BrainPart;
  /** The work it stands for: one item, one per compaction job, or the one conversation to restore. */
  readonly work: (req: RetentionRequest, restoreId?: string) => RetentionWork[];
}

/**
 * What a first-run estimate of a task is proportional to: its database's file bytes or live
 * bytes (pages in use), the bytes of its FTS5 indexes, its WAL's bytes, or the items / bytes a
 * retention task works on.
 */
export type Quantity = 'fileBytes' | 'liveBytes' | 'ftsBytes' | 'walBytes' | 'items' | 'bytes';

/** The cost of the task itself before the history has measured it (src/assess/estimates.ts has the derivation). */
export interface FirstRunCost {
  readonly per: Quantity;
  /** Units of `per` a second, measured on the benchmark brain (bench/estimates.mjs). */
  readonly rate: number;
  /** Seconds a retention task costs whatever its size (a maintenance task's fixed costs are in src/assess/estimates.ts). */
  readonly fixedSeconds?: number;
  /** Its verification runs FTS5's integrity-check on the indexes (it rebuilt or merged them). */
  readonly ftsCheck?: boolean;
}

export interface TaskSpec {
  /** The priority it is planned with (1 is the most urgent). */
  readonly priority: Priority;
  /** Its first-run estimate: the operation's own rate; the backup and verification around it come from src/assess/estimates.ts. */
  readonly firstRun: FirstRunCost;
  /** Among tasks of the same priority, the order they run in: repair before compaction, statistics last. */
  readonly rank: number;
  /** The flag that requests it (an operation) or selects it (a retention item); null for none. */
  readonly flag: string | null;
  /** The maintenance operation that runs it behind the safety net; absent for retention tasks. */
  readonly operation?: Operation;
  /** How the retention engine runs it; absent for maintenance tasks. */
  readonly retention?: RetentionSpec;
  /** Its `kind` in the dbm_last_run_items metric (what its last run moved); null when not counted. */
  readonly metric: string | null;
}

/** Retention tasks share one rank: after every operation, in database order. */
const RETENTION_RANK = 6;

export const TASKS: Readonly<Record<TaskType, TaskSpec>> = {
  VACUUM: {
    priority: 2,
    firstRun: { per: 'liveBytes', rate: 95e6 },
    rank: 3,
    flag: '--vacuum',
    operation: vacuum,
    metric: null,
  },
  ANALYZE: {
    priority: 3,
    firstRun: { per: 'liveBytes', rate: 1.5e9 },
    rank: 5,
    flag: '--analyze',
    operation: analyze,
    metric: null,
  },
  REINDEX: {
    priority: 2,
    firstRun: { per: 'liveBytes', rate: 600e6 },
    rank: 2,
    flag: '--reindex',
    operation: reindex,
    metric: null,
  },
  REBUILD_FTS: {
    priority: 1,
    firstRun: { per: 'ftsBytes', rate: 50e6, ftsCheck: true },
    rank: 0,
    flag: '--rebuild-fts',
    operation: rebuildFts,
    metric: null,
  },
  REPAIR_FTS_TRIGGERS: {
    priority: 1,
    firstRun: { per: 'ftsBytes', rate: 50e6, ftsCheck: true },
    rank: 0,
    flag: '--repair-fts-triggers',
    operation: repairFtsTriggers,
    metric: null,
  },
  CHECKPOINT: {
    priority: 2,
    firstRun: { per: 'walBytes', rate: 200e6 },
    rank: 4,
    flag: '--checkpoint',
    operation: checkpoint,
    metric: null,
  },
  OPTIMIZE_FTS: {
    // With VACUUM's priority and before it (rank): the pages it frees are VACUUM's to return.
    priority: 2,
    firstRun: { per: 'ftsBytes', rate: 55e6, ftsCheck: true },
    rank: 1,
    flag: null,
    operation: optimizeFts,
    metric: null,
  },
  ARCHIVE_CONVERSATIONS: {
    priority: 4,
    firstRun: { per: 'items', rate: 280, fixedSeconds: 0.1 },
    rank: RETENTION_RANK,
    flag: '--archive',
    retention: { summaryKey: 'conversations_archived', part: 'conversations', enforced: true, work: archiveWork },
    metric: 'conversations_archived',
  },
  COMPRESS_EVENTS: {
    priority: 4,
    firstRun: { per: 'bytes', rate: 40e6, fixedSeconds: 0.05 },
    rank: RETENTION_RANK,
    flag: '--compress-events',
    // Two names for one count, both kept for compatibility: the summary key of the JSON and the metric label.
    retention: { summaryKey: 'events_compressed', part: 'events', enforced: true, work: eventsWork },
    metric: 'event_lines_compressed',
  },
  ROTATE_LOGS: {
    priority: 4,
    firstRun: { per: 'bytes', rate: 40e6, fixedSeconds: 0.1 },
    rank: RETENTION_RANK,
    flag: '--rotate-logs',
    retention: { summaryKey: 'logs_rotated', part: 'logs', enforced: true, work: logsWork },
    metric: 'logs_rotated',
  },
  PRUNE_PATTERNS: {
    priority: 4,
    firstRun: { per: 'items', rate: 4000, fixedSeconds: 0.1 },
    rank: RETENTION_RANK,
    flag: '--prune-patterns',
    retention: { summaryKey: 'patterns_pruned', part: 'patterns', enforced: true, work: patternsWork },
    metric: 'patterns_pruned',
  },
  RESTORE_CONVERSATION: {
    priority: 4,
    firstRun: { per: 'items', rate: 280, fixedSeconds: 0.1 },
    rank: RETENTION_RANK,
    flag: '--restore-conversation',
    retention: { summaryKey: 'conversations_restored', part: 'conversations', enforced: false, work: restoreWork },
    metric: null,
  },
  COMPACT_LOG: {
    priority: 4,
    firstRun: { per: 'items', rate: 50000 },
    rank: RETENTION_RANK,
    flag: '--compact-logs',
    retention: { summaryKey: 'log_rows_compacted', enforced: false, work: compactionWork },
    metric: null,
  },
};

/** The operation of a maintenance task type (undefined for a retention task). */
export function operationOf(type: TaskType): Operation | undefined {
  return TASKS[type].operation;
}

/** The task types that have a maintenance operation and a flag that requests it, in registry order. */
export const REQUESTABLE_OPERATIONS: readonly TaskType[] = TASK_TYPES.filter(
  (t) => TASKS[t].operation && TASKS[t].flag,
);

/** The retention items of `--enforce-retention`, in the order they run. */
export const ENFORCED_RETENTION: readonly TaskType[] = TASK_TYPES.filter((t) => TASKS[t].retention?.enforced);

/** The retention task types that can be selected by a flag, in registry order. */
export const RETENTION_TYPES: readonly TaskType[] = TASK_TYPES.filter((t) => TASKS[t].retention);

/** The one task ordering, of plans and runs alike: priority, then rank, then database, then type. */
export function compareTasks(
  a: { priority: number; type: TaskType; database: string },
  b: { priority: number; type: TaskType; database: string },
): number {
  return (
    a.priority - b.priority ||
    TASKS[a.type].rank - TASKS[b.type].rank ||
    a.database.localeCompare(b.database) ||
    a.type.localeCompare(b.type)
  );
}
