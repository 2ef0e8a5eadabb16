/**
 * Parallel maintenance of a fleet: each database's tasks run in order on one of `workers`
 * threads, one database per thread at a time. A database starts only when the free space its
 * tasks need fits beside what the databases already running were promised (SpaceLedger), so
 * parallel VACUUMs cannot together fill a disk that each alone fits; when nothing is running
 * it starts anyway and its own preflight refuses it cleanly. A worker that dies fails the
 * tasks of the database it had (SQLite rolls back what was unfinished) and is replaced.
 */
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../util/worker-entry.js';
import { SpaceLedger, statfsProbe, type Reservation, type SpaceNeed } from './preflight.js';
import { taskResult, type MaintenanceResult, type RunRequest } from './types.js';
import type { DatabaseResults, DatabaseTasks, WorkerData } from './worker-protocol.js';

/** One database's tasks, and the free space they need at most at once. */
export interface DatabaseJob extends DatabaseTasks {
  readonly needs: readonly SpaceNeed[];
}

export async function maintainInWorkers(
  req: RunRequest,
  jobs: readonly DatabaseJob[],
  workers: number,
): Promise<MaintenanceResult[][]> {
  const results: MaintenanceResult[][] = new Array(jobs.length);
  const ledger = new SpaceLedger(req.probe ?? statfsProbe);
  const data: WorkerData = {
    brain: req.brain,
    command: req.command ?? 'maintenance',
    now: req.now.toISOString(),
    deep: req.deep,
    requested: req.requested,
    env: req.env,
    logLevel: req.logger.level,
  };
  const url = workerEntry(import.meta.url, './worker.js');
  let next = 0;
  let running = 0;
  let mostAtOnce = 0;
  let finished = 0;
  let waiting: Array<() => void> = [];
  const wake = (): void => {
    const w = waiting;
    waiting = [];
    for (const f of w) f();
  };

  /** The next database to start, once its space fits (or nothing else runs); null when none is left. */
  const take = async (): Promise<{ index: number; reservation: Reservation | null } | null> => {
    for (;;) {
      if (next >= jobs.length) return null;
      const reservation = ledger.tryReserve(jobs[next]!.needs);
      if (reservation || running === 0) {
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        return { index: next++, reservation };
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };

  const send = (w: Worker, job: DatabaseJob): Promise<MaintenanceResult[]> =>
    new Promise((resolve, reject) => {
      const done = (): void => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
      const onMessage = (m: DatabaseResults): void => {
        done();
        resolve(m.results);
      };
      const onError = (err: Error): void => {
        done();
        reject(err);
      };
      const onExit = (code: number): void => {
        done();
        reject(new Error(`the worker thread exited with code ${code}`));
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      const m: DatabaseTasks = { tasks: job.tasks, ctx: job.ctx };
      w.postMessage(m);
    });

  const runWorker = async (): Promise<void> => {
    let w = new Worker(url, { workerData: data });
    try {
      for (let job = await take(); job; job = await take()) {
        const todo = jobs[job.index]!;
        try {
          results[job.index] = await send(w, todo); // the worker logged each result
        } catch (err) {
          const db = todo.tasks[0]?.database ?? '?';
          const why = `internal error: the worker thread maintaining ${db} died (${(err as Error).message}); SQLite rolls back what it left unfinished; check it with --assess --deep --db ${db}`;
          results[job.index] = todo.tasks.map((t) => taskResult(t, req.now.toISOString(), 'failed', why));
          req.logger.error(
            { database: todo.tasks[0]?.database, err: (err as Error).message },
            'a maintenance worker thread died; starting another',
          );
          void w.terminate();
          w = new Worker(url, { workerData: data });
        } finally {
          running--;
          req.progress?.count(`maintain, ${workers} at a time`, ++finished, jobs.length, 'databases');
          if (job.reservation) ledger.release(job.reservation);
          wake();
        }
      }
    } finally {
      await w.terminate();
    }
  };
  await Promise.all(Array.from({ length: workers }, runWorker));
  req.logger.debug({ workers, databases: jobs.length, mostAtOnce }, 'maintained on worker threads');
  return results;
}
