/**
 * A worker thread of parallel fleet maintenance (pool.ts): runs the tasks of one database at a
 * time, as it is sent them, through the same executor as the main thread (backup,
 * verification, restore), and sends back the results.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MaintenanceTask, TaskType } from '../assess/types.js';
import type { ResolvedConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { runTasks, type RunRequest } from './executor.js';
import type { OpContext } from './ops/index.js';

export interface WorkerData {
  readonly rc: ResolvedConfig;
  readonly now: string;
  readonly deep: boolean;
  readonly forced: readonly TaskType[];
  readonly env: NodeJS.ProcessEnv;
  readonly logLevel: string;
}

export interface ChainMessage {
  readonly tasks: readonly MaintenanceTask[];
  readonly ctx: OpContext | null;
}

const data = workerData as WorkerData;
const req: RunRequest = {
  rc: data.rc,
  dryRun: false,
  forced: data.forced,
  deep: data.deep,
  now: new Date(data.now),
  logger: createLogger({ level: data.logLevel, file: data.rc.logFile, verbose: false, quiet: false }),
  env: data.env,
  lockHeld: true,
};
parentPort!.on('message', (m: ChainMessage) => {
  // Test hook (README): DB_MAINTENANCE_INJECT=worker-exit:DATABASE ends this thread when it is sent that database.
  if (data.env['DB_MAINTENANCE_INJECT'] === `worker-exit:${m.tasks[0]?.database}`) process.exit(70);
  void runTasks(req, m.tasks, () => m.ctx).then((results) => parentPort!.postMessage({ results }));
});
