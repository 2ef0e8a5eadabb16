import type { TaskType } from '../../assess/types.js';
import { analyze } from './analyze.js';
import { checkpoint } from './checkpoint.js';
import { optimizeFts, rebuildFts } from './fts.js';
import { reindex } from './reindex.js';
import type { Operation } from './types.js';
import { vacuum } from './vacuum.js';

/** The operations --run executes; the other task types belong to the retention commands. */
export const OPERATIONS: Partial<Record<TaskType, Operation>> = {
  REBUILD_FTS: rebuildFts,
  OPTIMIZE_FTS: optimizeFts,
  REINDEX: reindex,
  VACUUM: vacuum,
  CHECKPOINT: checkpoint,
  ANALYZE: analyze,
};

/** Execution order within one database: repair before compaction, statistics last. */
export const EXECUTION_ORDER: readonly TaskType[] = ['REBUILD_FTS', 'OPTIMIZE_FTS', 'REINDEX', 'VACUUM', 'CHECKPOINT', 'ANALYZE'];

export type { Operation, OpContext, OpOutcome } from './types.js';
