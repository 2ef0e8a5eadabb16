/**
 * Fault-injection hooks for the tests (docs/development.md), read from DB_MAINTENANCE_INJECT:
 *
 *   after:TYPE[:DATABASE]   deletes three rows of the first non-empty table right after TYPE ran
 *                           (on DATABASE only, if given), so that verification fails for real
 *   worker-exit:DATABASE    ends the maintenance worker thread that is sent DATABASE's tasks
 *   fail-at:POINT           throws an I/O error (as ENOSPC would) at a named point (backup-commit)
 *   kill-at:POINT           SIGKILLs this process at a named point of a protocol (e.g.
 *                           inplace-journal, inplace-collapsed, swap-renamed), for crash tests
 *   pause-at:POINT          at a named point (backup-snapshot: inside the backup's read
 *                           snapshot), creates the file DB_MAINTENANCE_PAUSE_FILE names and waits
 *                           until the test removes it (30 s at most), so a test can act there
 *
 * Unset (always, outside the tests), every hook does nothing.
 */
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import type { MaintenanceTask } from '../assess/types.js';
import { quoteIdent } from '../db/sql.js';
import { sleepSync } from './lock-meter.js';
import { tableCounts } from './verify.js';

export const INJECT_ENV = 'DB_MAINTENANCE_INJECT';

/** `after:TYPE[:DATABASE]`: delete three rows so that the verification after `task` fails. */
export function injectFaultAfter(db: Database.Database, env: NodeJS.ProcessEnv, task: MaintenanceTask): void {
  const spec = env[INJECT_ENV];
  if (!spec) return;
  const [when, type, dbName] = spec.split(':');
  if (when !== 'after' || type !== task.type || (dbName && dbName !== task.database)) return;
  for (const [table, n] of tableCounts(db)) {
    if (n === 0) continue;
    const q = quoteIdent(table);
    try {
      db.prepare(`DELETE FROM ${q} WHERE rowid IN (SELECT rowid FROM ${q} LIMIT 3)`).run();
      return;
    } catch {
      // a WITHOUT ROWID table: try the next
    }
  }
}

/** `worker-exit:DATABASE`: whether the worker thread sent `database`'s tasks is to end. */
export function workerShouldExit(env: NodeJS.ProcessEnv, database: string | undefined): boolean {
  return env[INJECT_ENV] === `worker-exit:${database}`;
}

/** `kill-at:POINT`: this process dies by SIGKILL here, as a crash at that instant would end it. */
export function killAt(env: NodeJS.ProcessEnv, point: string): void {
  if (env[INJECT_ENV] === `kill-at:${point}`) process.kill(process.pid, 'SIGKILL');
}

/** `fail-at:POINT`: an I/O error here, as a full disk would raise. */
export function failAt(env: NodeJS.ProcessEnv, point: string): void {
  if (env[INJECT_ENV] === `fail-at:${point}`)
    throw Object.assign(new Error('ENOSPC: no space left on device, fsync (injected)'), { code: 'ENOSPC' });
}

/** `pause-at:POINT`: announces this point by a file and waits here until the file is gone. */
export function pauseAt(env: NodeJS.ProcessEnv, point: string): void {
  const file = env['DB_MAINTENANCE_PAUSE_FILE'];
  if (env[INJECT_ENV] !== `pause-at:${point}` || !file) return;
  fs.writeFileSync(file, point);
  for (const deadline = Date.now() + 30_000; fs.existsSync(file) && Date.now() < deadline;) sleepSync(10);
}
