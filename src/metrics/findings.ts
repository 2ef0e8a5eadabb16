/**
 * The metrics of what an assessment found, for alerting: the tasks due by database, type and
 * priority, the due tasks an unattended run would defer (their hold of the write lock exceeds
 * maintenance.maxWriterWaitMs and they have no bounded form), each FTS index's drift, the
 * hazards of its triggers and its dead weight, each database's fragmentation, and the assessment's own problems.
 */
import type { Config } from '../config/schema.js';
import { boundedFormFor } from '../maintenance/budget.js';
import { buildContext } from '../maintenance/executor.js';
import type { Assessment } from '../report/json.js';
import { operationOf } from '../tasks.js';
import { PRIORITY_WORD, type Priority } from '../task-types.js';
import { family, type Family } from './exposition.js';

export function collectFindings(a: Assessment, config: Config): Family[] {
  const assessed = family(
    'dbm_assessment_timestamp_seconds',
    'When the assessment behind the dbm_tasks_due, dbm_fts_* and fragmentation metrics ran (unix seconds).',
  );
  const problems = family(
    'dbm_assessment_problems',
    'Databases or files the assessment could not use (each is one error line on stderr of the command).',
  );
  const due = family(
    'dbm_tasks_due',
    'Maintenance tasks due, by database, task (type) and priority (critical, high, medium, low): 1 per due task.',
  );
  const byPriority = family(
    'dbm_tasks_due_by_priority',
    'How many maintenance tasks are due at each priority (0 included).',
  );
  const deferred = family(
    'dbm_tasks_deferred',
    'Due tasks an unattended run defers: their estimated hold of the write lock exceeds maintenance.maxWriterWaitMs and they have no bounded form (run them by hand or in an allowBlocking lane).',
  );
  const drift = family(
    'dbm_fts_drift',
    '1 when the FTS5 index disagrees with its content (drift, or a corrupt index): searches return wrong rows; else 0.',
  );
  const hazards = family(
    'dbm_fts_trigger_hazards',
    'Problems found in the triggers that keep an external-content FTS5 index in sync (each one makes the index drift again).',
  );
  const segments = family('dbm_fts_segments', 'Segments of the FTS5 index (many: it wants an optimize).');
  const deadRatio = family(
    'dbm_fts_dead_ratio',
    'Share of the FTS5 index that is dead weight (delete markers, entries of deleted or updated documents, duplicate term keys): what an optimize frees.',
  );
  const deadBytes = family(
    'dbm_fts_reclaimable_bytes',
    'Bytes of the FTS5 index an optimize frees (and a VACUUM after it returns to the file system).',
  );
  const fragmentation = family(
    'dbm_database_fragmentation_ratio',
    'Free pages plus unused space inside pages beyond the allowance, over the file (what a VACUUM would give back).',
  );
  const reclaimable = family('dbm_database_reclaimable_bytes', 'About how many bytes a VACUUM would give back.');

  assessed.samples.push({ labels: {}, value: Date.parse(a.generatedAt) / 1000 });
  problems.samples.push({ labels: {}, value: a.problems.length });
  for (const t of a.tasks)
    due.samples.push({
      labels: { database: t.database, task: t.type, priority: PRIORITY_WORD[t.priority] },
      value: 1,
    });
  for (const p of [1, 2, 3, 4] as Priority[])
    byPriority.samples.push({
      labels: { priority: PRIORITY_WORD[p] },
      value: a.tasks.filter((t) => t.priority === p).length,
    });
  const budgetMs = config.maintenance.maxWriterWaitMs;
  for (const t of a.tasks) {
    const op = operationOf(t.type);
    const ctx = op ? buildContext(a, t.database, false) : null;
    if (op && ctx && boundedFormFor(t, op, ctx, budgetMs) === 'defer')
      deferred.samples.push({ labels: { database: t.database, task: t.type }, value: 1 });
  }
  for (const d of a.databases) {
    if (d.status !== 'ok') continue;
    fragmentation.samples.push({ labels: { database: d.name }, value: d.fragmentationRatio ?? 0 });
    reclaimable.samples.push({ labels: { database: d.name }, value: d.reclaimableBytes ?? 0 });
    for (const f of d.fts ?? []) {
      const labels = { database: d.name, index: f.table };
      drift.samples.push({ labels, value: f.status === 'drift' || f.status === 'corrupt' ? 1 : 0 });
      hazards.samples.push({ labels, value: f.triggers?.status === 'wrong' ? f.triggers.problems.length : 0 });
      if (f.segments !== null) segments.samples.push({ labels, value: f.segments });
      if (f.bloat) {
        deadRatio.samples.push({ labels, value: f.bloat.ratio });
        deadBytes.samples.push({ labels, value: f.bloat.reclaimableBytes });
      }
    }
  }
  return [
    assessed,
    problems,
    due,
    byPriority,
    deferred,
    drift,
    hazards,
    segments,
    deadRatio,
    deadBytes,
    fragmentation,
    reclaimable,
  ];
}
