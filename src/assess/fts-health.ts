/**
 * FTS5 index consistency.
 *
 * Default mode is bounded: row counts of the index against its content, and a probe of
 * evenly spaced content rows, each looked up in the index through MATCH on one of its own
 * words. That catches an external-content index that drifted from its content (rows deleted
 * through `DELETE FROM fts WHERE rowid = old.rowid` stay in the index; rows written around the
 * triggers are missing from it), which a plain FTS5 integrity-check does not look for.
 * Deep mode runs FTS5's own `integrity-check` with rank 1, which compares every row.
 */
import type Database from 'better-sqlite3';
import { ftsAveragesRowCount, ftsSegmentCount, type FtsTable } from '../db/fts5.js';
import { quoteIdent } from '../db/sql.js';
import type { WriteCapable } from '../db/open.js';
import type { FtsHealth } from './types.js';

export interface FtsCheckOptions {
  readonly deep: boolean;
  readonly sampleRows: number;
  readonly maxSegments: number;
}

/**
 * One index's consistency, read in one snapshot: the bounded check's counts and probes run in one
 * read transaction (or the caller's), so a commit of another connection between two of its reads
 * cannot look like drift. The deep check is FTS5's integrity-check, one statement and so one
 * snapshot by itself.
 */
export function checkFts(conn: WriteCapable, table: FtsTable, opts: FtsCheckOptions): FtsHealth {
  const db = conn.db;
  try {
    if (opts.deep || db.inTransaction) return checkFtsUnguarded(conn, table, opts);
    return db.transaction(() => checkFtsUnguarded(conn, table, opts))();
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? '');
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) throw err;
    // e.g. a custom tokenizer this SQLite does not have: say so rather than fail the database.
    return {
      table: table.name,
      kind: table.kind,
      contentTable: table.contentTable ?? null,
      status: 'unchecked',
      checked: 'none',
      detail: `could not be checked: ${(err as Error).message}`,
      indexedRows: null,
      contentRows: null,
      segments: null,
    };
  }
}

function checkFtsUnguarded(conn: WriteCapable, table: FtsTable, opts: FtsCheckOptions): FtsHealth {
  const db = conn.db;
  const base = { table: table.name, kind: table.kind, contentTable: table.contentTable ?? null } as const;
  if (table.kind === 'external' && !tableExists(db, table.contentTable!)) {
    return {
      ...base,
      status: 'corrupt',
      checked: 'none',
      detail: `its content table "${table.contentTable}" does not exist`,
      indexedRows: null,
      contentRows: null,
      segments: null,
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

  const result = (status: FtsHealth['status'], checked: FtsHealth['checked'], detail: string): FtsHealth => ({
    ...base,
    status,
    checked,
    detail,
    indexedRows,
    contentRows,
    segments,
  });

  if (opts.deep) {
    const problem = fullIntegrityCheck(conn, table);
    if (problem) return result(table.kind === 'external' ? 'drift' : 'corrupt', 'full', problem);
  } else if (indexedRows !== null && contentRows !== null && indexedRows !== contentRows) {
    const what = table.kind === 'external' ? `content table "${table.contentTable}"` : 'its content';
    return result(
      table.kind === 'external' ? 'drift' : 'corrupt',
      'counts',
      `index holds ${indexedRows} rows but ${what} has ${contentRows}`,
    );
  } else if (table.kind === 'external' && opts.sampleRows > 0) {
    const missing = probeContentRows(db, table, opts.sampleRows);
    if (missing.missing > 0) {
      return result(
        'drift',
        'sampled',
        `${missing.missing} of ${missing.probed} sampled rows of "${table.contentTable}" are not found in the index (e.g. rowid ${missing.example})`,
      );
    }
  }
  if (segments !== null && segments > opts.maxSegments) {
    return result(
      'bloated',
      opts.deep ? 'full' : 'counts',
      `index has ${segments} segments (more than ${opts.maxSegments}); an optimize merges them`,
    );
  }
  const checked: FtsHealth['checked'] = opts.deep
    ? 'full'
    : table.kind === 'external'
      ? 'sampled'
      : table.kind === 'regular'
        ? 'counts'
        : 'none';
  const detail =
    table.kind === 'contentless' && !opts.deep
      ? 'contentless index: only --deep checks it'
      : opts.deep
        ? 'integrity-check passed'
        : 'consistent';
  return result('ok', checked, detail);
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

interface ProbeResult {
  readonly probed: number;
  readonly missing: number;
  readonly example: number | null;
}

/**
 * Looks up evenly spaced content rows in the index by one of their own words.
 * Cost: `samples` index seeks, whatever the table size.
 */
function probeContentRows(db: Database.Database, table: FtsTable, samples: number): ProbeResult {
  const content = quoteIdent(table.contentTable!);
  const rid = table.contentRowid === 'rowid' ? 'rowid' : quoteIdent(table.contentRowid);
  const range = db.prepare(`SELECT min(${rid}) AS lo, max(${rid}) AS hi FROM ${content}`).get() as {
    lo: number | null;
    hi: number | null;
  };
  if (range.lo === null || range.hi === null || typeof range.lo !== 'number' || typeof range.hi !== 'number') {
    return { probed: 0, missing: 0, example: null };
  }
  const cols = table.columns.map((c) => quoteIdent(c)).join(', ');
  const at = db.prepare(`SELECT ${rid} AS r, ${cols} FROM ${content} WHERE ${rid} >= ? ORDER BY ${rid} LIMIT 1`);
  const fts = quoteIdent(table.name);
  const match = db.prepare(`SELECT 1 FROM ${fts} WHERE ${fts} MATCH ? AND rowid = ?`);
  let probed = 0;
  let missing = 0;
  let example: number | null = null;
  let lastRowid: number | null = null;
  const span = range.hi - range.lo;
  for (let i = 0; i < samples; i++) {
    const target = range.lo + Math.floor((span * i) / Math.max(1, samples - 1));
    const row = at.get(target) as Record<string, unknown> | undefined;
    if (!row || row['r'] === lastRowid) continue;
    lastRowid = row['r'] as number;
    const word = probeWord(table.columns.map((c) => row[c]));
    if (!word) continue;
    probed++;
    if (match.get(`"${word.replace(/"/g, '""')}"`, lastRowid) === undefined) {
      missing++;
      example ??= lastRowid;
    }
  }
  return { probed, missing, example };
}

/** The longest word of a row (rarer words have shorter doclists): what any tokenizer indexes. */
function probeWord(values: readonly unknown[]): string | undefined {
  let best: string | undefined;
  for (const v of values) {
    if (typeof v !== 'string') continue;
    for (const w of v.slice(0, 4000).match(/[\p{L}\p{N}]{3,32}/gu) ?? []) {
      if (!best || w.length > best.length) best = w;
    }
  }
  return best;
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
