/**
 * The names of the task types: the values of `type` in every `--json` document (docs/json-output.md).
 * A leaf module (it imports nothing) so that every layer can name a task type; what each type
 * is and does is declared once, in the task registry (src/tasks.ts).
 *
 * The order is the registry's: the flags that request operations are listed (and a forced run
 * is named) in this order, and the retention items of `--enforce-retention` run in this order.
 */
export const TASK_TYPES = [
  'VACUUM',
  'ANALYZE',
  'REINDEX',
  'REBUILD_FTS',
  'REPAIR_FTS_TRIGGERS',
  'CHECKPOINT',
  'OPTIMIZE_FTS',
  'ARCHIVE_CONVERSATIONS',
  'COMPRESS_EVENTS',
  'ROTATE_LOGS',
  'PRUNE_PATTERNS',
  'RESTORE_CONVERSATION',
  'COMPACT_LOG',
] as const;
export type TaskType = (typeof TASK_TYPES)[number];

/** 1 is the most urgent. */
export type Priority = 1 | 2 | 3 | 4;

/** The word for each priority, as the reports and `--fail-on` name it. */
export const PRIORITY_WORD = { 1: 'critical', 2: 'high', 3: 'medium', 4: 'low' } as const;

/** The levels `--fail-on` takes (low is left out: retention is always due somewhere), most urgent first. */
export const FAIL_ON_LEVELS = ['critical', 'high', 'medium'] as const;
export type FailOnLevel = (typeof FAIL_ON_LEVELS)[number];

/** The priority a `--fail-on` level stands for: a task fails the assessment at this number or below. */
export function failOnPriority(level: FailOnLevel): Priority {
  return (FAIL_ON_LEVELS.indexOf(level) + 1) as Priority;
}
