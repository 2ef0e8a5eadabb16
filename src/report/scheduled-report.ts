/** Human form of `--scheduled`: each lane, its retention and maintenance, then the probes. */
import type { ScheduledReport } from './json.js';
import { formatRetention } from './retention-report.js';
import { formatProbes, formatRun } from './run-report.js';

export function formatScheduled(r: ScheduledReport): string {
  const out: string[] = [
    `db-maintenance scheduled${r.dryRun ? ' dry run (nothing is changed)' : ''}: ${r.configPath} (windows in ${r.timeZone})`,
    '',
  ];
  for (const l of r.lanes) {
    out.push(`LANE ${l.lane} ${l.window}: ${l.status}${l.status === 'not-due' ? ` (${l.reason})` : ''}`);
    if (l.retention) out.push(formatRetention(l.retention).trimEnd());
    for (const v of l.vacuums)
      out.push(`  VACUUM of ${v.database} for compaction job ${v.job} (${v.every}, ${v.window}): ${v.status}`);
    if (l.maintenance) out.push(formatRun(l.maintenance).trimEnd());
    out.push('');
  }
  out.push(...formatProbes(r.probes));
  return `${out.join('\n')}\n`;
}
