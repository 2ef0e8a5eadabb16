/** The human form of an assessment. (`--json` prints the Assessment object itself.) */
import type { DatabaseHealth } from '../assess/types.js';
import { PRIORITY_WORD } from '../task-types.js';
import type { Assessment } from './json.js';
import { bytes, percent, seconds, table } from '../util/format.js';

/** What each auto_vacuum mode means for getting free pages back to the file system. */
const AUTO_VACUUM_MEANS = {
  none: 'auto_vacuum=NONE: free pages come back only by a full VACUUM, which blocks writers while it runs (maintenance.autoVacuum "incremental" switches the mode at the next one)',
  incremental:
    'auto_vacuum=INCREMENTAL: free pages come back in incremental_vacuum batches within the writer-wait budget',
  full: 'auto_vacuum=FULL: SQLite returns free pages at every commit',
} as const;

export function formatAssessment(a: Assessment): string {
  const out: string[] = [];
  out.push(`db-maintenance assess${a.deep ? ' --deep' : ''}: ${a.configPath}`);
  out.push(`at ${a.generatedAt}, took ${(a.durationMs / 1000).toFixed(2)} s`);
  out.push('');
  out.push('DATABASES');
  out.push(
    table(
      ['name', 'size', 'wal', 'journal', 'free pages', 'page waste', 'reclaimable', 'statistics', 'fts', 'quick_check'],
      a.databases.map(dbRow),
    ),
  );
  for (const d of a.databases) {
    if (d.archiveOf) out.push(`  ${d.name}: the archive database of ${d.archiveOf} (${d.path})`);
    if (d.status === 'error') out.push(`  ${d.name}: ${d.error?.message ?? 'error'}`);
    for (const f of d.fts ?? []) {
      if (f.status !== 'ok') out.push(`  ${d.name}: FTS "${f.table}" ${f.status}: ${f.detail}`);
      if (f.triggers?.status === 'wrong') {
        out.push(`  ${d.name}: FTS "${f.table}" wrong triggers on "${f.contentTable}":`);
        for (const p of f.triggers.problems) out.push(`    ${p.trigger ?? '(missing)'}: ${p.problem}`);
        out.push('    replace them with (--repair-fts-triggers does, behind backup and verification):');
        for (const sql of f.triggers.replacementSql) out.push(`      ${sql}`);
      }
    }
    if (d.quickCheck?.status === 'failed')
      out.push(`  ${d.name}: quick_check: ${d.quickCheck.messages.slice(0, 3).join('; ')}`);
    if (d.status === 'ok' && d.autoVacuum) out.push(`  ${d.name}: ${AUTO_VACUUM_MEANS[d.autoVacuum]}`);
  }
  const indexes = a.databases.flatMap((d) => (d.fts ?? []).map((f) => ({ d, f })));
  if (indexes.length > 0) {
    out.push('');
    out.push('FTS INDEXES');
    out.push(
      table(
        ['database', 'index', 'kind', 'rows', 'segments', 'size', 'dead weight', 'measured', 'status'],
        indexes.map(({ d, f }) => [
          d.name,
          f.table,
          f.kind,
          f.indexedRows === null ? '-' : String(f.indexedRows),
          f.segments === null ? '-' : String(f.segments),
          bytes(f.bloat?.indexBytes ?? f.indexBytes ?? undefined),
          f.bloat ? `${percent(f.bloat.ratio)} (${bytes(f.bloat.reclaimableBytes)})` : '-',
          f.bloat ? (f.bloat.method === 'scanned' ? 'every page' : `${f.bloat.sampledPages} pages sampled`) : '-',
          f.bloat?.due ? `${f.status}: optimize due` : f.status,
        ]),
      ),
    );
    for (const { d, f } of indexes) if (f.bloat?.note) out.push(`  ${d.name}: FTS "${f.table}": ${f.bloat.note}`);
  }
  if (a.events || a.logs) {
    out.push('');
    out.push('FILES');
    if (a.events) {
      const e = a.events;
      out.push(
        e.exists
          ? `  events  ${bytes(e.bytes)}; ${e.olderLines} lines (${bytes(e.olderBytes)}) older than ${e.cutoff.slice(0, 10)}${e.method === 'binary-search' ? ' (time-ordered search)' : ''}${e.malformedLines === null ? '' : `; ${e.malformedLines} malformed lines (kept)`}`
          : `  events  ${e.path} does not exist`,
      );
    }
    if (a.logs) {
      const l = a.logs;
      out.push(
        l.exists
          ? `  logs    ${l.files} files, ${l.eligible.length} due for rotation`
          : `  logs    ${l.dir} does not exist`,
      );
    }
  }
  if (a.retention) {
    out.push('');
    out.push('RETENTION');
    const c = a.retention.conversations;
    if (c) {
      const children = c.childRows.map((r) => (r.rows === null ? r.table : `${r.table} ${r.rows}`)).join(', ');
      out.push(
        `  conversations  ${c.eligible} of ${c.total} in ${c.database}."${c.table}" would be archived (started before ${c.cutoff.slice(0, 10)})` +
          (children
            ? `; child rows: ${children}${c.childRows.some((r) => r.rows === null) ? ' (counted with --deep)' : ''}`
            : '') +
          (c.unparseableTimestamps > 0
            ? `; ${c.unparseableTimestamps} with unparseable timestamps (never archived)`
            : ''),
      );
    }
    const p = a.retention.patterns;
    if (p)
      out.push(
        `  patterns       ${p.eligible} of ${p.total} in ${p.database}."${p.table}" would be pruned` +
          (p.unusableRows > 0
            ? `; ${p.unusableRows} with a confidence that is no number or a last-used time in no known format (never pruned)`
            : ''),
      );
  }
  out.push('');
  if (a.failOn)
    out.push(
      `FAIL-ON ${a.failOn.level}: ${a.failOn.tasks.length === 0 ? 'no task that urgent is due' : `${a.failOn.tasks.length} due (${a.failOn.tasks.join(', ')})`}`,
    );
  if (a.tasks.length === 0) {
    out.push(
      a.problems.length === 0
        ? 'TASKS: none, the brain is healthy'
        : `TASKS: none in what could be assessed (${a.problems.length} ${a.problems.length === 1 ? 'problem' : 'problems'}, on stderr)`,
    );
  } else {
    out.push(`TASKS (${a.tasks.length}, most urgent first)`);
    out.push(
      table(
        ['#', 'priority', 'type', 'target', 'estimate', 'last run', 'reason'],
        a.tasks.map((t, i) => [
          String(i + 1),
          `${t.priority} ${PRIORITY_WORD[t.priority]}`,
          t.type,
          t.database,
          `${seconds(t.estimatedSeconds)}${t.estimateSource === 'history' ? '' : ' ~'}`,
          t.lastRun ? t.lastRun.slice(0, 16).replace('T', ' ') : 'never',
          t.reason,
        ]),
      ),
    );
  }
  return `${out.join('\n')}\n`;
}

function dbRow(d: DatabaseHealth): string[] {
  if (d.status === 'error') return [d.name, '-', '-', '-', '-', '-', '-', '-', '-', d.error?.code ?? 'error'];
  const fts = d.fts ?? [];
  const bad = fts.filter((f) => f.status !== 'ok' || f.triggers?.status === 'wrong');
  return [
    d.name,
    bytes(d.fileBytes),
    bytes(d.walBytes),
    d.journalMode ?? '-',
    percent(d.freelistRatio),
    d.pageWaste?.status === 'measured' ? percent(d.pageWaste.ratio) : 'skipped',
    bytes(d.reclaimableBytes),
    d.statistics?.status ?? '-',
    fts.length === 0
      ? '-'
      : bad.length === 0
        ? `${fts.length} ok`
        : bad
            .map((f) => `${f.table} ${f.status}${f.triggers?.status === 'wrong' ? ', wrong triggers' : ''}`)
            .join(', '),
    d.quickCheck?.status ?? '-',
  ];
}
