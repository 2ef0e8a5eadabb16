/**
 * `--metrics-file PATH`: Prometheus textfile-collector metrics (node_exporter's
 * --collector.textfile.directory), written after the command by temp file + fsync + rename, so
 * the collector never reads a half-written file.
 *
 * Per database: size, WAL size, freelist ratio (the file header and two pragmas through the
 * connection assess uses: O(1), nothing written). Per task (from
 * the state database): when it last succeeded, how long its last run took, its last status.
 * From the newest run: when it ran, its exit code, and the rows archived, patterns pruned,
 * event lines compressed and logs rotated by it. From the newest run that timed the configured
 * probes: their p50/p95 before and after its maintenance, and whether a probe failed. The
 * writer-wait budget, each database's role (live or archive) and newest backup. What an
 * assessment found (src/metrics/findings.ts): tasks due, deferrals, FTS drift and trigger hazards.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Brain } from '../config/load.js';
import { inspectDatabaseFile, ReadConnection } from '../db/open.js';
import { backupDirFor, listBackups } from '../maintenance/backup.js';
import type { Assessment } from '../report/json.js';
import { StateDb } from '../state/state-db.js';
import { TASKS } from '../tasks.js';
import { TASK_TYPES, type TaskType } from '../task-types.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { family, formatPrometheus, type Family } from './exposition.js';
import { collectFindings } from './findings.js';

const seconds = (iso: string): number => Date.parse(iso) / 1000;

export function collectMetrics(brain: Brain, now: Date, assessment: Assessment): Family[] {
  const info = family(
    'dbm_database_info',
    'Each database the tool keeps, by role: live (a database of the config) or archive (the archive database of a retention rule, archive_of).',
  );
  const backup = family(
    'dbm_backup_newest_timestamp_seconds',
    'When the newest kept backup of the database was taken (unix seconds, its file time).',
  );
  const size = family('dbm_database_size_bytes', 'Size of the database file.');
  const wal = family('dbm_database_wal_bytes', 'Size of the database -wal file (0 when there is none).');
  const free = family('dbm_database_freelist_ratio', 'Free pages / all pages of the database.');
  const up = family('dbm_database_readable', '1 when the database could be read for these metrics, else 0.');
  for (const d of brain.databases) {
    const labels = { database: d.name };
    info.samples.push({
      labels: d.archiveOf ? { ...labels, role: 'archive', archive_of: d.archiveOf } : { ...labels, role: 'live' },
      value: 1,
    });
    const newest = listBackups(backupDirFor(brain.backupDir, d), d.name).at(-1);
    const taken = newest ? fileTime(path.join(backupDirFor(brain.backupDir, d), newest)) : null;
    if (taken !== null) backup.samples.push({ labels, value: taken });
    let ok = 0;
    try {
      // The connection assess uses: it writes nothing, whether or not the database is open elsewhere.
      const facts = inspectDatabaseFile(d);
      size.samples.push({ labels, value: facts.fileBytes });
      wal.samples.push({ labels, value: facts.walBytes });
      const conn = new ReadConnection(d, facts, 200);
      try {
        const pages = Number(conn.db.pragma('page_count', { simple: true }));
        const freePages = Number(conn.db.pragma('freelist_count', { simple: true }));
        free.samples.push({ labels, value: pages > 0 ? freePages / pages : 0 });
      } finally {
        conn.close();
      }
      ok = 1;
    } catch {
      // missing, not SQLite, unreadable or locked: dbm_database_readable 0 says so
    }
    up.samples.push({ labels, value: ok });
  }

  const lastSuccess = family('dbm_task_last_success_timestamp_seconds', 'When the task last succeeded (unix seconds).');
  const lastDuration = family('dbm_task_last_duration_seconds', 'How long the last run of the task took.');
  const lastStatus = family(
    'dbm_task_last_status',
    'The status of the last run of the task (the sample with value 1).',
  );
  const lockLongest = family(
    'dbm_task_last_write_lock_longest_seconds',
    "The longest single hold of the database's write lock by the last run of the task (the application's writers waited at most that long).",
  );
  const lockTotal = family(
    'dbm_task_last_write_lock_seconds',
    "All holds of the database's write lock by the last run of the task, added up.",
  );
  const runTime = family('dbm_last_run_timestamp_seconds', 'When the newest recorded run started (unix seconds).');
  const runExit = family('dbm_last_run_exit_code', 'Exit code of the newest recorded run.');
  const moved = family(
    'dbm_last_run_items',
    'What the newest run moved, by kind: rows archived, patterns pruned, event lines compressed, logs rotated.',
  );
  const probeLatency = family(
    'dbm_probe_latency_seconds',
    'A configured probe query, timed before and after the maintenance of the newest run that timed probes, by quantile (0.5, 0.95).',
  );
  const probeError = family(
    'dbm_probe_error',
    '1 when the probe query failed in the newest run that timed probes, else 0.',
  );
  const probeRun = family(
    'dbm_probe_run_timestamp_seconds',
    'When the newest run that timed probes started (unix seconds).',
  );
  const state = StateDb.openReadOnly(brain.stateDir);
  if (state) {
    try {
      for (const t of state.taskSummaries()) {
        const labels = { database: t.database, task: t.type };
        if (t.lastSuccessAt) lastSuccess.samples.push({ labels, value: seconds(t.lastSuccessAt) });
        lastDuration.samples.push({ labels, value: t.lastDurationMs / 1000 });
        lastStatus.samples.push({ labels: { ...labels, status: t.lastStatus }, value: 1 });
        if (t.lastLockLongestMs !== null) lockLongest.samples.push({ labels, value: t.lastLockLongestMs / 1000 });
        if (t.lastLockTotalMs !== null) lockTotal.samples.push({ labels, value: t.lastLockTotalMs / 1000 });
      }
      const newest = state.history(1)[0];
      if (newest) {
        runTime.samples.push({ labels: {}, value: seconds(newest.startedAt) });
        runExit.samples.push({ labels: {}, value: newest.exitCode ?? -1 });
        const count = (type: TaskType): number =>
          newest.tasks.filter((t) => t.type === type && t.status === 'ok').reduce((a, t) => a + t.rowsAffected, 0);
        for (const type of TASK_TYPES) {
          const kind = TASKS[type].metric;
          if (kind) moved.samples.push({ labels: { kind }, value: count(type) });
        }
      }
      const probed = state.latestProbes();
      if (probed) {
        probeRun.samples.push({ labels: {}, value: seconds(probed.startedAt) });
        for (const p of probed.probes) {
          probeError.samples.push({ labels: { probe: p.name, database: p.database }, value: p.error ? 1 : 0 });
          for (const [phase, t] of [
            ['before', p.before],
            ['after', p.after],
          ] as const) {
            if (!t) continue;
            const labels = { probe: p.name, database: p.database, phase };
            probeLatency.samples.push(
              { labels: { ...labels, quantile: '0.5' }, value: t.p50Ms / 1000 },
              { labels: { ...labels, quantile: '0.95' }, value: t.p95Ms / 1000 },
            );
          }
        }
      }
    } finally {
      state.close();
    }
  }
  const budget = family(
    'dbm_writer_wait_budget_seconds',
    "maintenance.maxWriterWaitMs: the longest an unattended run may hold a database's write lock at once.",
  );
  budget.samples.push({ labels: {}, value: brain.config.maintenance.maxWriterWaitMs / 1000 });
  const generated = family('dbm_metrics_generated_timestamp_seconds', 'When this file was written (unix seconds).');
  generated.samples.push({ labels: {}, value: now.getTime() / 1000 });
  return [
    info,
    size,
    wal,
    free,
    up,
    lastSuccess,
    lastDuration,
    lastStatus,
    lockLongest,
    lockTotal,
    runTime,
    runExit,
    moved,
    probeLatency,
    probeError,
    probeRun,
    budget,
    backup,
    ...collectFindings(assessment, brain.config),
    generated,
  ];
}

function fileTime(file: string): number | null {
  try {
    return fs.statSync(file).mtimeMs / 1000;
  } catch {
    return null;
  }
}

/** Writes the metrics to `file` atomically: the brain's, and the findings of `assessment`. */
export function writeMetricsFile(file: string, brain: Brain, now: Date, assessment: Assessment): void {
  writeFileAtomic(file, formatPrometheus(collectMetrics(brain, now, assessment)));
}
