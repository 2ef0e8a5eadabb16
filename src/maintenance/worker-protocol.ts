/** What the maintenance pool (pool.ts) and its worker threads (worker.ts) send each other. */
import type { MaintenanceTask } from '../assess/types.js';
import type { Brain } from '../config/load.js';
import type { TaskType } from '../task-types.js';
import type { OpContext } from './ops/types.js';
import type { MaintenanceResult } from './types.js';

/** Given to each worker thread when it starts. */
export interface WorkerData {
  readonly brain: Brain;
  readonly command: string;
  readonly now: string;
  readonly deep: boolean;
  readonly requested: readonly TaskType[];
  readonly env: NodeJS.ProcessEnv;
  readonly logLevel: string;
}

/** One database's tasks, in the order they run, and what the operations need to know of it. */
export interface DatabaseTasks {
  readonly tasks: readonly MaintenanceTask[];
  readonly ctx: OpContext | null;
}

/** A worker thread's answer: the results of the tasks it was sent, in their order. */
export interface DatabaseResults {
  readonly results: MaintenanceResult[];
}
