/** Human form of a retention run (`--archive`, `--compress-events`, ..., `--enforce-retention`). */
import type { RetentionReport } from './json.js';
import { seconds, table } from '../util/format.js';
import { lockWords } from './run-report.js';

export function formatRetention(r: RetentionReport): string {
  const out: string[] = [];
  out.push(`db-maintenance retention${r.dryRun ? ' dry run (nothing is changed)' : ''}: ${r.configPath}`);
  out.push('');
  out.push(
    table(
      ['#', 'status', 'item', 'target', 'count', 'took', 'write lock', 'message'],
      r.items.map((x, i) => [
        String(i + 1),
        x.status,
        x.type,
        x.database,
        String(x.rowsAffected),
        seconds(x.durationMs / 1000),
        lockWords(x.writeLock),
        x.message,
      ]),
    ),
  );
  const files = r.items.flatMap((x) => x.files);
  const removed = r.items.flatMap((x) => x.removed);
  if (files.length) out.push(`${r.dryRun ? 'would write' : 'written'}: ${files.join(', ')}`);
  if (removed.length) out.push(`${r.dryRun ? 'would remove' : 'removed'}: ${removed.join(', ')}`);
  out.push(
    `summary: ${Object.entries(r.summary)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  return `${out.join('\n')}\n`;
}
