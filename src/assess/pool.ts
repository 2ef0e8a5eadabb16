/**
 * Assessing many databases on worker threads. Databases go out in chunks from a shared queue,
 * shrinking as it empties (one slow database does not hold up a fixed share; few messages),
 * two chunks ahead per worker so no worker waits for the next; results come back in order.
 * A worker that dies reports its unfinished databases as internal problems; the others go on.
 */
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../util/worker-entry.js';
import type { BrainDatabase } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { assessOne, type DbAssessment } from './assess-one.js';
import { roleOf } from './database-health.js';

export async function assessInWorkers(
  targets: readonly BrainDatabase[],
  config: Config,
  now: Date,
  deep: boolean,
  workers: number,
  /** Called with the number of databases assessed so far, as results come back. */
  onDone?: (done: number) => void,
): Promise<DbAssessment[]> {
  const results: Array<DbAssessment | undefined> = new Array(targets.length);
  // Guided chunks: large while much is left (few messages), shrinking towards the end so the
  // workers finish together instead of one waiting on the other's last big chunk.
  const chunkAt = (from: number): number =>
    Math.max(1, Math.min(32, Math.ceil((targets.length - from) / (workers * 4))));
  let next = 0;
  let done = 0;
  const url = workerEntry(import.meta.url, './worker.js');
  const runWorker = (): Promise<void> =>
    new Promise((resolve) => {
      const w = new Worker(url, { workerData: { config, now: now.toISOString(), deep } });
      const pending = new Map<number, number>(); // chunk start -> end
      const feed = (): void => {
        if (next >= targets.length) {
          if (pending.size === 0) void w.terminate();
          return;
        }
        const from = next;
        next = Math.min(targets.length, next + chunkAt(from));
        pending.set(from, next);
        w.postMessage({ from, targets: targets.slice(from, next) });
      };
      w.on('message', (m: { from: number; results: DbAssessment[] }) => {
        m.results.forEach((r, i) => (results[m.from + i] = r));
        pending.delete(m.from);
        done += m.results.length;
        onDone?.(done);
        feed();
      });
      w.on('error', (err) => {
        for (const [from, end] of pending) {
          for (let i = from; i < end; i++) results[i] ??= crashed(targets[i]!, err);
        }
      });
      w.on('exit', () => resolve());
      feed();
      feed();
    });
  await Promise.all(Array.from({ length: workers }, runWorker));
  // Anything no worker got to (all of them died early): assessed here, on the main thread.
  const missing = results.map((r, i) => (r === undefined ? i : -1)).filter((i) => i >= 0);
  if (missing.length) {
    for (const i of missing) results[i] = assessOne(targets[i]!, config, now, deep);
  }
  return results as DbAssessment[];
}

function crashed(target: BrainDatabase, err: Error): DbAssessment {
  const message = `error: internal error while assessing ${target.name}: ${err.message}`;
  return {
    health: {
      name: target.name,
      path: target.path,
      ...roleOf(target),
      status: 'error',
      error: { code: 'INTERNAL', message },
    },
    problems: [{ database: target.name, code: 'INTERNAL', message, exitCode: 1 }],
    partProblems: [],
    conversations: null,
    patterns: null,
    ms: 0,
  };
}
