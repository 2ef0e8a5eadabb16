/**
 * FTS5 index consistency (docs/safety.md, "FTS5 checks").
 *
 * An index up to `fullCheckMaxBytes` (and every index with --deep) gets FTS5's own
 * `integrity-check`, with rank 1 for an external-content index: every row of the content table
 * against the index, which finds drift from deletes, updates and writes around the triggers
 * alike. (FTS5's plain integrity-check and PRAGMA integrity_check only check the index against
 * itself.) A larger index gets the bounded check: row counts, then src/assess/fts-probe.ts
 * (token totals, sampled rows -> index and index -> rows). Every external-content index also
 * gets its triggers classified (src/db/fts-triggers.ts): a wrong set is reported even while the
 * index is consistent, since the application's next DELETE or UPDATE breaks it.
 */
import type Database from 'better-sqlite3';
import { checkFtsTriggers, vacuumMayRenumber, type FtsTriggerCheck } from '../db/fts-triggers.js';
import { ftsAveragesRowCount, ftsIndexBytes, ftsSegmentCount, type FtsTable } from '../db/fts5.js';
import { quoteIdent } from '../db/sql.js';
import type { WriteCapable } from '../db/open.js';
import { bytes } from '../util/format.js';
import { measureFtsBloat, type FtsBloatOptions } from './fts-bloat.js';
import { SCAN_ASIDE_MIN_BYTES, scanAside } from './fts-bloat-aside.js';
import { probeIndex } from './fts-probe.js';
import type { FtsBloat, FtsHealth } from './types.js';

export interface FtsCheckOptions {
  /** FTS5's integrity-check whatever the index's size (--deep, and verification of an index an operation rebuilt). */
  readonly deep: boolean;
  readonly sampleRows: number;
  readonly maxSegments: number;
  /** FTS5's integrity-check by default on indexes up to this many bytes (and every leaf page read for the dead weight). */
  readonly fullCheckMaxBytes: number;
  /** Measure its dead weight (the assessment; not verification): null to leave it. */
  readonly bloat: {
    /** Leaf pages the estimate samples (assess.ftsBloatSamplePages). */
    readonly samplePages: number;
    /** An optimize is due over this dead share (thresholds.ftsDeadRatio) and these bytes (thresholds.minReclaimBytes). */
    readonly deadRatio: number;
    readonly minReclaimBytes: number;
  } | null;
}

const isCode = (err: unknown, prefix: string): boolean =>
  String((err as { code?: unknown }).code ?? '').startsWith(prefix);

/**
 * One index's consistency, read in one snapshot: the bounded check's counts and probes run in one
 * read transaction (or the caller's), so a commit of another connection between two of its reads
 * cannot look like drift. The full check is FTS5's integrity-check, one statement and so one
 * snapshot by itself. SQLITE_CORRUPT from any FTS5 call is a finding about the index.
 */
export function checkFts(conn: WriteCapable, table: FtsTable, opts: FtsCheckOptions): FtsHealth {
  const db = conn.db;
  const triggers = table.kind === 'external' ? triggersOf(db, table) : null;
  const vacuumRenumbers = safe(() => vacuumMayRenumber(db, table)) ?? false;
  const base = {
    table: table.name,
    kind: table.kind,
    contentTable: table.contentTable ?? null,
    indexedRows: null,
    contentRows: null,
    segments: null,
    indexBytes: null,
    vacuumRenumbers,
    triggers,
    bloat: null,
  } as const;
  try {
    const indexBytes = safe(() => ftsIndexBytes(db, table.name)) ?? null;
    const full = opts.deep || (indexBytes !== null && indexBytes <= opts.fullCheckMaxBytes);
    const known = { indexBytes, triggers, vacuumRenumbers };
    const run = (fully: boolean): FtsHealth => checkFtsUnguarded(conn, table, opts, fully, known);
    if (db.inTransaction) return run(full);
    if (!full) return db.transaction(() => run(false))();
    try {
      return run(true);
    } catch (err) {
      // The full check is an INSERT: it needs the write lock, which the application may hold
      // longer than our busy timeout. The bounded check needs only a read snapshot.
      if (opts.deep || !isCode(err, 'SQLITE_BUSY')) throw err;
      const h = db.transaction(() => run(false))();
      return {
        ...h,
        detail: `${h.detail}; the full check could not take the write lock in time, so the bounded one ran`,
      };
    }
  } catch (err) {
    if (isCode(err, 'SQLITE_BUSY') || isCode(err, 'SQLITE_LOCKED')) throw err;
    if (isCode(err, 'SQLITE_CORRUPT')) {
      return {
        ...base,
        status: table.kind === 'external' ? 'drift' : 'corrupt',
        checked: 'none',
        detail: `FTS5 reports the index malformed (${(err as Error).message}): it does not match what it was built from`,
      };
    }
    // e.g. a custom tokenizer this SQLite does not have: say so rather than fail the database.
    return { ...base, status: 'unchecked', checked: 'none', detail: `could not be checked: ${(err as Error).message}` };
  }
}

function triggersOf(db: Database.Database, table: FtsTable): FtsTriggerCheck {
  try {
    return checkFtsTriggers(db, table);
  } catch (err) {
    if (isCode(err, 'SQLITE_BUSY') || isCode(err, 'SQLITE_LOCKED')) throw err;
    return { status: 'unknown', triggers: [], problems: [], replacementSql: [] };
  }
}

function checkFtsUnguarded(
  conn: WriteCapable,
  table: FtsTable,
  opts: FtsCheckOptions,
  full: boolean,
  known: Pick<FtsHealth, 'indexBytes' | 'triggers' | 'vacuumRenumbers'>,
): FtsHealth {
  const db = conn.db;
  const base = { table: table.name, kind: table.kind, contentTable: table.contentTable ?? null, ...known } as const;
  if (table.kind === 'external' && !tableExists(db, table.contentTable!)) {
    return {
      ...base,
      status: 'corrupt',
      checked: 'none',
      detail: `its content table "${table.contentTable}" does not exist`,
      indexedRows: null,
      contentRows: null,
      segments: null,
      bloat: null,
    };
  }
  const segments = safe(() => ftsSegmentCount(db, table.name)) ?? null;
  const indexedRows = table.hasDocsize
    ? count(db, `${table.name}_docsize`)
    : (safe(() => ftsAveragesRowCount(db, table.name)) ?? null);
  // A regular index keeps its own content; its row total (O(1)) must match the docsize rows.
  // Counting `<fts>_content` instead would read every stored document.
  const contentRows =
    table.kind === 'external'
      ? count(db, table.contentTable!)
      : table.kind === 'regular' && table.hasDocsize
        ? (safe(() => ftsAveragesRowCount(db, table.name)) ?? null)
        : null;

  const result = (
    status: FtsHealth['status'],
    checked: FtsHealth['checked'],
    detail: string,
    bloat: FtsBloat | null = null,
  ): FtsHealth => ({
    ...base,
    status,
    checked,
    detail,
    indexedRows,
    contentRows,
    segments,
    bloat,
  });

  const b = opts.bloat;
  const measure: FtsBloatOptions | null = b
    ? { scan: full, samplePages: b.samplePages, dueRatio: b.deadRatio, dueBytes: b.minReclaimBytes }
    : null;
  // A large index read whole: its dead weight on the other core while its integrity-check runs here.
  const aside =
    full && measure && !db.inTransaction && (known.indexBytes ?? 0) >= SCAN_ASIDE_MIN_BYTES
      ? safe(() =>
          scanAside(db.name, table, measure, known.indexBytes!, Number(db.pragma('busy_timeout', { simple: true }))),
        )
      : undefined;
  try {
    let ran = '';
    if (full) {
      // The counts may come from another snapshot than the check (one statement); the check decides.
      const problem = fullIntegrityCheck(conn, table);
      const rows =
        indexedRows !== null && contentRows !== null && indexedRows !== contentRows
          ? ` (the index holds ${indexedRows} rows, its content ${contentRows})`
          : '';
      if (problem) return result(table.kind === 'external' ? 'drift' : 'corrupt', 'full', problem + rows);
    } else if (indexedRows !== null && contentRows !== null && indexedRows !== contentRows) {
      const what = table.kind === 'external' ? `content table "${table.contentTable}"` : 'its content';
      return result(
        table.kind === 'external' ? 'drift' : 'corrupt',
        'counts',
        `index holds ${indexedRows} rows but ${what} has ${contentRows}`,
      );
    } else if (table.kind === 'external') {
      const probe = probeIndex(conn, table, opts.sampleRows, indexedRows);
      if (probe.problem) return result('drift', 'sampled', probe.problem);
      ran = probe.ran;
    }
    // A consistent index: how much of it an optimize would take out (a measure that cannot be
    // taken leaves bloat null, not the index unchecked).
    const fromAside = aside?.result();
    const bloat =
      fromAside !== undefined ? fromAside : measure ? (safe(() => measureFtsBloat(db, table, measure)) ?? null) : null;
    const checked: FtsHealth['checked'] = full
      ? 'full'
      : table.kind === 'external'
        ? 'sampled'
        : table.kind === 'regular'
          ? 'counts'
          : 'none';
    const why: string[] = [];
    if (segments !== null && segments > opts.maxSegments)
      why.push(`index has ${segments} segments (more than ${opts.maxSegments})`);
    if (b && bloat?.due) why.push(`${deadWeight(bloat)}, over ${(b.deadRatio * 100).toFixed(0)}%`);
    if (why.length > 0) {
      const fix = bloat?.due ? 'an optimize reclaims it' : 'an optimize merges them';
      return result('bloated', full ? 'full' : 'counts', `${why.join('; ')}; ${fix}`, bloat);
    }
    const detail =
      table.kind === 'contentless' && !full
        ? 'contentless index: only --deep checks it'
        : full
          ? 'integrity-check passed'
          : table.kind === 'external'
            ? `consistent (bounded check: row counts${ran ? `, ${ran}` : ''})`
            : 'consistent';
    return result('ok', checked, detail, bloat);
  } finally {
    aside?.cancel();
  }
}

/** "46% of the index (100.5 MB of 217.3 MB) is dead weight from deletes (estimated from 1028 sampled pages)" */
export function deadWeight(b: FtsBloat): string {
  return `${(b.ratio * 100).toFixed(0)}% of the index (${bytes(b.reclaimableBytes)} of ${bytes(b.indexBytes)}) is dead weight from deletes (${b.method === 'scanned' ? 'every page read' : `estimated from ${b.sampledPages} sampled pages`})`;
}

/** FTS5's own check; returns a description of the problem or null. */
function fullIntegrityCheck(conn: WriteCapable, table: FtsTable): string | null {
  const q = quoteIdent(table.name);
  try {
    conn.withWriteTransactionAllowed((db) => {
      db.prepare(`INSERT INTO ${q}(${q}, rank) VALUES ('integrity-check', ${table.kind === 'external' ? 1 : 0})`).run();
    });
    return null;
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? '');
    if (code.startsWith('SQLITE_CORRUPT')) {
      return table.kind === 'external'
        ? `FTS5 integrity-check: the index does not match content table "${table.contentTable}"`
        : 'FTS5 integrity-check: the index is corrupt';
    }
    throw err;
  }
}

function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type IN ('table', 'view') AND name = ?").get(name) !== undefined;
}

function count(db: Database.Database, table: string): number | null {
  return (
    safe(() =>
      Number(
        db
          .prepare(`SELECT count(*) FROM ${quoteIdent(table)}`)
          .pluck()
          .get(),
      ),
    ) ?? null
  );
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? '');
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_CORRUPT')) throw err;
    return undefined;
  }
}
