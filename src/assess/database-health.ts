/**
 * Health of one database. O(1) pragmas first; the O(N) checks (quick_check, the dbstat
 * page-waste scan) run by default only below a size limit and always with --deep.
 */
import type Database from 'better-sqlite3';
import type { Config } from '../config/schema.js';
import type { BrainDatabase } from '../config/load.js';
import { listFtsTables } from '../db/fts5.js';
import type { FileFacts, ReadConnection } from '../db/open.js';
import { checkFts } from './fts-health.js';
import { checkStatistics } from './statistics.js';
import type { DatabaseHealth, PageWaste } from './types.js';

export interface DatabaseCheckOptions {
  readonly deep: boolean;
  readonly config: Config;
}

export function checkDatabase(
  conn: ReadConnection,
  target: BrainDatabase,
  facts: FileFacts,
  opts: DatabaseCheckOptions,
): DatabaseHealth {
  const db = conn.db;
  const { thresholds, assess } = opts.config;
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  const pageCount = Number(db.pragma('page_count', { simple: true }));
  const freelistCount = Number(db.pragma('freelist_count', { simple: true }));
  const journalMode = String(db.pragma('journal_mode', { simple: true }));
  const autoVacuum = AUTO_VACUUM_MODES[Number(db.pragma('auto_vacuum', { simple: true }))] ?? 'none';
  const totalBytes = pageCount * pageSize;
  const freelistRatio = pageCount === 0 ? 0 : freelistCount / pageCount;

  const pageWaste: PageWaste =
    opts.deep || pageCount <= assess.pageWasteMaxPages
      ? measurePageWaste(db, totalBytes)
      : {
          status: 'skipped',
          note: `${pageCount} pages > assess.pageWasteMaxPages (${assess.pageWasteMaxPages}); use --deep`,
        };
  // B-tree pages always keep some slack; only waste beyond that allowance is fragmentation.
  const excessWaste = pageWaste.ratio === undefined ? 0 : Math.max(0, pageWaste.ratio - thresholds.pageWasteAllowance);
  const fragmentationRatio = freelistRatio + excessWaste;
  const reclaimableBytes = freelistCount * pageSize + Math.round(excessWaste * totalBytes);

  const quickCheck =
    opts.deep || facts.fileBytes <= assess.quickCheckMaxBytes
      ? runQuickCheck(db)
      : {
          status: 'skipped' as const,
          messages: [],
          note: `${facts.fileBytes} bytes > assess.quickCheckMaxBytes (${assess.quickCheckMaxBytes}); use --deep`,
        };

  const ftsTables = listFtsTables(db);
  const statistics = checkStatistics(db, thresholds, ftsTables);
  const fts = ftsTables.map((t) =>
    checkFts(conn, t, {
      deep: opts.deep,
      sampleRows: assess.ftsSampleRows,
      maxSegments: thresholds.ftsMaxSegments,
      fullCheckMaxBytes: assess.ftsFullCheckMaxBytes,
      bloat: {
        samplePages: assess.ftsBloatSamplePages,
        deadRatio: thresholds.ftsDeadRatio,
        minReclaimBytes: thresholds.minReclaimBytes,
      },
    }),
  );

  return {
    name: target.name,
    path: target.path,
    ...roleOf(target),
    status: 'ok',
    fileBytes: facts.fileBytes,
    walBytes: facts.walBytes,
    journalMode,
    autoVacuum,
    pageSize,
    pageCount,
    freelistCount,
    freelistRatio: round(freelistRatio),
    reclaimableBytes,
    pageWaste,
    fragmentationRatio: round(fragmentationRatio),
    statistics,
    fts,
    quickCheck,
  };
}

/** The role fields of a database's health. */
export function roleOf(target: BrainDatabase): Pick<DatabaseHealth, 'role' | 'archiveOf'> {
  return target.archiveOf ? { role: 'archive', archiveOf: target.archiveOf } : { role: 'live' };
}

/** PRAGMA auto_vacuum's values. */
const AUTO_VACUUM_MODES = ['none', 'full', 'incremental'] as const;

function measurePageWaste(db: Database.Database, totalBytes: number): PageWaste {
  let rows: Array<{ name: string; pages: number; unused: number }>;
  try {
    rows = db.prepare('SELECT name, pageno AS pages, unused FROM dbstat WHERE aggregate = TRUE').all() as typeof rows;
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? '');
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_CORRUPT')) throw err;
    return { status: 'skipped', note: `dbstat is not available: ${(err as Error).message}` };
  }
  const unusedBytes = rows.reduce((s, r) => s + Number(r.unused), 0);
  const worst = rows
    .filter((r) => r.unused > 0)
    .sort((a, b) => b.unused - a.unused)
    .slice(0, 5)
    .map((r) => ({ name: r.name, unusedBytes: Number(r.unused), pages: Number(r.pages) }));
  return { status: 'measured', unusedBytes, ratio: totalBytes === 0 ? 0 : round(unusedBytes / totalBytes), worst };
}

function runQuickCheck(db: Database.Database): { status: 'ok' | 'failed'; messages: string[] } {
  const rows = db.pragma('quick_check(20)') as Array<Record<string, unknown>>;
  const messages = rows.map((r) => String(Object.values(r)[0]));
  const ok = messages.length === 1 && messages[0] === 'ok';
  return { status: ok ? 'ok' : 'failed', messages: ok ? [] : messages };
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}
