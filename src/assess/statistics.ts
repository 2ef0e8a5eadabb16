/**
 * Stale planner statistics. Like PostgreSQL's autovacuum, a table needs ANALYZE when its row
 * count moved by more than `base + scaleFactor x rows at the last ANALYZE`, so small tables
 * do not churn. sqlite_stat1 records the row count of every analyzed b-tree.
 */
import type Database from 'better-sqlite3';
import { ftsShadowNames, type FtsTable } from '../db/fts5.js';
import { ordinaryTables } from '../db/schema.js';
import { quoteIdent } from '../db/sql.js';
import type { StatisticsHealth, TableStatistics } from './types.js';

export interface StatisticsThresholds {
  readonly analyzeBaseRows: number;
  readonly analyzeScaleFactor: number;
}

/**
 * FTS5 shadow tables are left out: FTS5 reads them by key only, so their statistics never
 * steer a plan, and counting `<fts>_data` would read the whole index.
 */
export function checkStatistics(
  db: Database.Database,
  t: StatisticsThresholds,
  fts: readonly FtsTable[],
): StatisticsHealth {
  const shadow = new Set(fts.flatMap((f) => ftsShadowNames(f.name)));
  const tables = ordinaryTables(db).filter((name) => !shadow.has(name));
  const hasStat1 =
    db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'").get() !== undefined;
  const analyzed = new Map<string, number>();
  if (hasStat1) {
    for (const r of db.prepare('SELECT tbl, stat FROM sqlite_stat1').all() as Array<{
      tbl: string;
      stat: string | null;
    }>) {
      const n = Number.parseInt(String(r.stat ?? '').split(' ')[0] ?? '', 10);
      if (Number.isFinite(n)) analyzed.set(r.tbl, Math.max(analyzed.get(r.tbl) ?? 0, n));
    }
  }
  const stale: TableStatistics[] = [];
  for (const table of tables) {
    const currentRows = Number(
      db
        .prepare(`SELECT count(*) FROM ${quoteIdent(table)}`)
        .pluck()
        .get(),
    );
    const before = analyzed.get(table) ?? null;
    const threshold = Math.round(t.analyzeBaseRows + t.analyzeScaleFactor * (before ?? 0));
    const isStale = Math.abs(currentRows - (before ?? 0)) > threshold;
    if (isStale) stale.push({ table, analyzedRows: before, currentRows, threshold, stale: true });
  }
  let status: StatisticsHealth['status'];
  if (!hasStat1) status = stale.length > 0 ? 'missing' : 'not-needed';
  else status = stale.length > 0 ? 'stale' : 'fresh';
  return { status, staleTables: stale, tablesChecked: tables.length };
}
