/**
 * A worker thread of parallel fleet maintenance (spawned by pool.ts): runs the tasks of one
 * database at a time, as it is sent them, through the same safety net as the main thread
 * (backup, verification, restore), and sends back the results.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../log.js';
import { workerShouldExit } from './inject.js';
import { runTasks } from './safety-net.js';
import type { RunRequest } from './types.js';
import type { DatabaseResults, DatabaseTasks, WorkerData } from './worker-protocol.js';

const data = workerData as WorkerData;
const req: RunRequest = {
  brain: data.brain,
  command: data.command,
  dryRun: false,
  requested: data.requested,
  deep: data.deep,
  now: new Date(data.now),
  logger: createLogger({ level: data.logLevel, file: data.brain.logFile, verbose: false, quiet: false }),
  env: data.env,
  lockHeld: true,
};
parentPort!.on('message', (m: DatabaseTasks) => {
  if (workerShouldExit(data.env, m.tasks[0]?.database)) process.exit(70);
  void runTasks(req, m.tasks, () => m.ctx).then((results) =>
    parentPort!.postMessage({ results } satisfies DatabaseResults),
  );
});
