/**
 * First-run estimates (src/assess/estimates.ts): from the quantities the assessment measured,
 * each with its own phase costs; a run's later tasks on a database do not pay its backup again;
 * a retention task's history is of its items. The accuracy on real brains is bench/estimates.mjs's.
 */
import { describe, expect, it } from 'vitest';
import {
  BACKUP_BYTES_PER_SECOND,
  BACKUP_FIXED_SECONDS,
  ftsCheckSeconds,
  quantitiesOf,
} from '../src/assess/estimates.js';
import { inRunOrder, makeTask, NO_HISTORY, planHistoryFrom, requestedTasks } from '../src/assess/plan.js';
import type { DatabaseHealth } from '../src/assess/types.js';
import { loadConfig } from '../src/config/load.js';
import { StateDb } from '../src/state/state-db.js';
import { TASKS } from '../src/tasks.js';
import { demoBrain } from './helpers.js';

const MB = 1e6;
/** A database as the assessment sees it: `file` bytes, `free` of them on the freelist, an FTS index of `fts` bytes. */
function health(name: string, file: number, free: number, fts: number): DatabaseHealth {
  return {
    name,
    path: `/x/${name}.db`,
    status: 'ok',
    fileBytes: file,
    walBytes: 0,
    pageSize: 4096,
    pageCount: file / 4096,
    freelistCount: free / 4096,
    fts: fts
      ? [
          {
            table: 'messages_fts',
            kind: 'external',
            contentTable: 'messages',
            status: 'ok',
            checked: 'sampled',
            detail: '',
            indexedRows: 1,
            contentRows: 1,
            segments: 1,
            indexBytes: fts,
            vacuumRenumbers: false,
            triggers: null,
          },
        ]
      : [],
  };
}

const estimate = (type: 'VACUUM' | 'REBUILD_FTS' | 'ANALYZE', h: DatabaseHealth): number =>
  requestedTasks({ databases: [h], tasks: [] }, [type], NO_HISTORY)[0]!.estimatedSeconds;

describe('first-run estimates', () => {
  it('VACUUM is estimated from the live pages it rewrites, not the file size', () => {
    const full = health('a', 1024 * 4096 * 256, 0, 0); // 1 GiB, all live
    const hollow = health('b', 1024 * 4096 * 256, 1024 * 4096 * 192, 0); // 1 GiB, three quarters free
    expect(estimate('VACUUM', hollow)).toBeLessThan(estimate('VACUUM', full) / 2);
  });

  it('an FTS rebuild is estimated from the index it rebuilds and checks, not the database', () => {
    const size = 4096 * 100_000;
    const small = health('a', size, 0, 4 * MB);
    const large = health('b', size, 0, 200 * MB);
    const difference = estimate('REBUILD_FTS', large) - estimate('REBUILD_FTS', small);
    // The rebuild's own rate and FTS5's integrity-check afterwards, both per index byte.
    const more = 196 * MB;
    expect(difference).toBeCloseTo(
      more / TASKS.REBUILD_FTS.firstRun.rate + ftsCheckSeconds(200 * MB) - ftsCheckSeconds(4 * MB),
      0,
    );
    // ANALYZE does not touch the index: the same estimate for both.
    expect(estimate('ANALYZE', large)).toBe(estimate('ANALYZE', small));
  });

  it('in a run, only the first guarded task on a database pays for its backup', () => {
    const h = health('a', 4096 * 250_000, 0, 50 * MB);
    const tasks = requestedTasks({ databases: [h], tasks: [] }, ['VACUUM', 'ANALYZE'], NO_HISTORY);
    const run = inRunOrder(tasks, [h]);
    expect(run[0]!.estimatedSeconds).toBe(tasks[0]!.estimatedSeconds);
    const backup = BACKUP_FIXED_SECONDS + quantitiesOf(h).fileBytes / BACKUP_BYTES_PER_SECOND;
    expect(run[1]!.estimatedSeconds).toBeCloseTo(tasks[1]!.estimatedSeconds - backup, 1);
    // The hold of the write lock never includes the backup (it reads a snapshot).
    expect(run[1]!.estimatedHoldMs).toBe(tasks[1]!.estimatedHoldMs);
    expect(tasks[0]!.estimatedHoldMs).toBeLessThan(tasks[0]!.estimatedSeconds * 1000);
  });

  it('a retention task is estimated from its items, and learns its items per second from recorded runs', () => {
    const demo = demoBrain();
    const brain = loadConfig(demo.configPath);
    const first = makeTask('ARCHIVE_CONVERSATIONS', 'tier1', 'due', 600, NO_HISTORY);
    const spec = TASKS.ARCHIVE_CONVERSATIONS.firstRun;
    expect(first.estimatedSeconds).toBeCloseTo((spec.fixedSeconds ?? 0) + 600 / spec.rate, 1);
    const state = StateDb.open(brain.stateDir);
    const run = state.db
      .prepare("INSERT INTO runs(command, started_at, host, pid) VALUES ('--archive', '2026-11-01T03:00:00Z', 'h', 1)")
      .run();
    // 300 conversations in 3 s (100 a second), in a 40 MB database.
    state.db
      .prepare(
        "INSERT INTO task_runs(run_id, task_id, task_type, database_name, status, started_at, duration_ms, size_before, rows_affected) VALUES (?, 'tier1:ARCHIVE_CONVERSATIONS', 'ARCHIVE_CONVERSATIONS', 'tier1', 'ok', '2026-11-01T03:00:00Z', 3000, 40000000, 300)",
      )
      .run(run.lastInsertRowid);
    const later = makeTask('ARCHIVE_CONVERSATIONS', 'tier1', 'due', 600, planHistoryFrom(state));
    state.close();
    expect(later.estimateSource).toBe('history');
    expect(later.estimatedSeconds).toBe(6); // 600 conversations at 100 a second, not 600 / (bytes a second)
  });
});
