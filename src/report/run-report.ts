/** Human forms of a maintenance run and of the run history. */
import type { WriteLockHolds } from '../maintenance/lock-meter.js';
import type { PlannedStep, ProbeResult, ProbeTiming } from '../maintenance/types.js';
import type { HistoryRun } from '../state/state-db.js';
import type { RunReport } from './json.js';
import { bytes, seconds, table } from '../util/format.js';

export function formatRun(r: RunReport): string {
  const out: string[] = [];
  out.push(`db-maintenance ${r.dryRun ? 'dry run (nothing is changed)' : 'run'}: ${r.configPath}`);
  out.push('');
  if (r.plan.length === 0)
    out.push(
      r.problems.length === 0
        ? 'PLAN: nothing to do, the brain is healthy'
        : `PLAN: nothing to do in what could be assessed (${r.problems.length} ${r.problems.length === 1 ? 'problem' : 'problems'}, on stderr)`,
    );
  else if (r.dryRun) {
    out.push(`PLAN (${r.plan.length} tasks, in the order they run)`);
    r.plan.forEach((s, i) => {
      const reclaim = s.reclaimableBytes ? `, reclaims about ${bytes(s.reclaimableBytes)}` : '';
      out.push(`${i + 1}. ${s.type} on ${s.database}: ${s.reason}`);
      out.push(
        `   estimated ${seconds(s.estimatedSeconds)}${reclaim}${s.notRunBecause ? `; not run: ${s.notRunBecause}` : `; ${writerWaitWords(s)}`}`,
      );
      for (const sql of s.sql) out.push(`   SQL: ${sql}`);
    });
  }
  if (!r.dryRun && r.results.length > 0) {
    out.push('RESULTS');
    out.push(
      table(
        ['#', 'status', 'type', 'database', 'took', 'write lock', 'size before', 'size after', 'rows', 'message'],
        r.results.map((x, i) => [
          String(i + 1),
          x.restored ? `${x.status} (restored)` : x.status,
          x.type,
          x.database,
          seconds(x.durationMs / 1000),
          lockWords(x.writeLock),
          bytes(x.sizeBefore),
          bytes(x.sizeAfter),
          String(x.rowsAffected),
          x.message,
        ]),
      ),
    );
  }
  out.push(...formatProbes(r.probes));
  if (r.retentionDue.length > 0)
    out.push(
      '',
      `Retention is separate: ${r.retentionDue.map((d) => RETENTION_WORDS[d.type] ?? d.type).join(', ')} due; --enforce-retention runs it (--assess says why).`,
    );
  return `${out.join('\n')}\n`;
}

const RETENTION_WORDS: Partial<Record<string, string>> = {
  ARCHIVE_CONVERSATIONS: 'archive conversations',
  COMPRESS_EVENTS: 'compress events',
  ROTATE_LOGS: 'rotate logs',
  PRUNE_PATTERNS: 'prune patterns',
};

/** "1.2 s longest, 3.4 s in 5 holds": how long writers may have waited on this task. */
export function lockWords(w: WriteLockHolds): string {
  if (w.holds === 0) return '-';
  const f = (n: number): string => (n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`);
  return w.holds === 1 ? f(w.longestMs) : `${f(w.longestMs)} longest, ${f(w.totalMs)} in ${w.holds}`;
}

function writerWaitWords(s: PlannedStep): string {
  const hold = `holds the write lock about ${seconds(s.estimatedHoldMs / 1000)}`;
  if (s.writerWait === 'deferred') return `deferred: ${hold}, over maintenance.maxWriterWaitMs, no bounded form`;
  if (s.writerWait === 'bounded') return `bounded: ${s.boundedForm} (${hold} as one)`;
  if (s.writerWait === 'may-block') return `${hold} (an explicit operation: writers wait meanwhile)`;
  return `${hold}, within maintenance.maxWriterWaitMs`;
}

const ms = (t: ProbeTiming | null): string => (t ? `p50 ${t.p50Ms} ms, p95 ${t.p95Ms} ms` : 'n/a');

/** "PROBES" lines: p50/p95 of each probe before -> after the maintenance. */
export function formatProbes(probes: ReadonlyArray<ProbeResult<ProbeTiming>>): string[] {
  if (probes.length === 0) return [];
  return [
    'PROBES (before -> after)',
    table(
      ['probe', 'database', 'before', 'after', 'note'],
      probes.map((p) => [p.name, p.database, ms(p.before), ms(p.after), p.error ?? '']),
    ),
  ];
}

export function formatHistory(runs: readonly HistoryRun[]): string {
  if (runs.length === 0) return 'no runs recorded yet\n';
  const out: string[] = [];
  for (const run of runs) {
    out.push(
      `run ${run.id}: ${run.command} at ${run.startedAt} on ${run.host} (pid ${run.pid}), exit ${run.exitCode ?? '?'}`,
    );
    for (const p of run.probes)
      out.push(`  probe ${p.name} (${p.database}): ${ms(p.before)} -> ${ms(p.after)}${p.error ? ` (${p.error})` : ''}`);
    for (const t of run.tasks) {
      out.push(
        `  ${t.status}${t.restored ? ' (restored)' : ''}  ${t.type} ${t.database}  ${seconds(t.durationMs / 1000)}  ${bytes(t.sizeBefore)} -> ${bytes(t.sizeAfter)}${t.writeLock ? `  write lock ${t.writeLock.longestMs} ms longest, ${t.writeLock.totalMs} ms total` : ''}  ${t.message}`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}
