/**
 * What one database's schema says, for `--init-config`: its tables with their columns, keys,
 * foreign keys and row samples, and its FTS5 indexes. Read-only: a database in rollback mode is
 * opened `readonly` (SQLite then creates nothing beside it); one in WAL mode through the
 * assessment's ReadConnection (src/db/open.ts), which leaves no -wal/-shm behind and refuses a
 * WAL database at rest that this user cannot write rather than leave them.
 */
import Database from 'better-sqlite3';
import type { BrainDatabase } from '../config/load.js';
import { inspectDatabaseFile, ReadConnection, sqliteError } from '../db/open.js';
import { ftsShadowNames, listFtsTables, type FtsTable } from '../db/fts5.js';
import { ordinaryTables } from '../db/schema.js';
import { quoteIdent } from '../db/sql.js';

/** Rows sampled per table: the first and the last half by rowid (or the first ones without one). */
export const SAMPLE_ROWS = 200;
/** How long to wait for a database another process holds. */
const BUSY_MS = 2000;

export interface ColumnFacts {
  readonly name: string;
  readonly type: string;
  /** Single-column primary key, or a single-column UNIQUE index (not partial) of its own. */
  readonly unique: boolean;
  readonly primaryKey: boolean;
}

export interface ForeignKey {
  readonly table: string;
  readonly column: string;
  /** The parent table and its column (the parent's primary key when the key names none). */
  readonly parent: string;
  readonly parentColumn: string | null;
}

export interface TableFacts {
  readonly name: string;
  readonly columns: readonly ColumnFacts[];
  readonly withoutRowid: boolean;
  readonly foreignKeys: readonly ForeignKey[];
}

export interface SchemaFacts {
  readonly tables: readonly TableFacts[];
  readonly fts: readonly FtsTable[];
  /** Up to SAMPLE_ROWS values of `table`.`column`, NULLs included. */
  sample(table: string, column: string): unknown[];
  /** Rows of `table` whose `column` is not NULL, among the first SAMPLE_ROWS, found in `parent`.`parentColumn`. */
  matchingKeys(table: string, column: string, parent: string, parentColumn: string): { sampled: number; found: number };
  rowCount(table: string): number;
  /** What could not be read while sampling (a corrupt page, a lock): that table counts as empty. */
  readonly errors: string[];
  /** Whether reading `table` failed (lower-case names). */
  failed(table: string): boolean;
  close(): void;
}

/** Opens `target` read-only and reads its schema; a DbmError (naming the file) when it cannot be used. */
export function readSchemaFacts(target: BrainDatabase): SchemaFacts {
  const facts = inspectDatabaseFile(target);
  let db: Database.Database;
  let conn: ReadConnection | undefined;
  if (facts.walMode || facts.walExists) {
    conn = new ReadConnection(target, facts, BUSY_MS);
    db = conn.db;
  } else {
    try {
      db = new Database(target.path, { readonly: true, fileMustExist: true, timeout: BUSY_MS });
      db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get();
    } catch (err) {
      throw sqliteError(target, err, 'reading its schema');
    }
  }
  const close = (): void => {
    if (conn) conn.close();
    else if (db.open) db.close();
  };
  try {
    const fts = listFtsTables(db);
    const shadows = new Set(fts.flatMap((f) => ftsShadowNames(f.name).map((n) => n.toLowerCase())));
    const tables = ordinaryTables(db)
      .filter((t) => !shadows.has(t.toLowerCase()))
      .map((t) => tableFacts(db, t));
    const errors: string[] = [];
    const failedTables = new Set<string>();
    // A table that cannot be read (a corrupt page, another process's lock) is no candidate; --assess names the cause.
    const guarded =
      <A extends unknown[], R>(doing: string, fallback: R, fn: (...a: A) => R) =>
      (...a: A): R => {
        try {
          return fn(...a);
        } catch (err) {
          failedTables.add(String(a[0]).toLowerCase());
          errors.push(`${doing} table ${String(a[0])} failed: ${sqliteError(target, err, doing).message}`);
          return fallback;
        }
      };
    return {
      tables,
      fts,
      errors,
      failed: (table) => failedTables.has(table.toLowerCase()),
      sample: guarded('sampling', [], (table: string, column: string) => sampleColumn(db, tables, table, column)),
      matchingKeys: guarded(
        'sampling',
        { sampled: 0, found: 0 },
        (table: string, column: string, parent: string, parentColumn: string) => {
          const r = db
            .prepare(
              `SELECT count(*) AS sampled, coalesce(sum(v IN (SELECT ${quoteIdent(parentColumn)} FROM ${quoteIdent(parent)})), 0) AS found ` +
                `FROM (SELECT ${quoteIdent(column)} AS v FROM ${quoteIdent(table)} WHERE ${quoteIdent(column)} IS NOT NULL LIMIT ${SAMPLE_ROWS})`,
            )
            .get() as { sampled: number; found: number };
          return r;
        },
      ),
      rowCount: guarded(
        'counting',
        0,
        (table: string) =>
          db
            .prepare(`SELECT count(*) FROM ${quoteIdent(table)}`)
            .pluck()
            .get() as number,
      ),
      close,
    };
  } catch (err) {
    close();
    throw sqliteError(target, err, 'reading its schema');
  }
}

function tableFacts(db: Database.Database, table: string): TableFacts {
  const info = db.prepare('SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid').all(table) as Array<{
    name: string;
    type: string;
    pk: number;
  }>;
  const pkCols = info.filter((c) => c.pk > 0);
  const uniqueCols = new Set<string>();
  for (const ix of db
    .prepare('SELECT name FROM pragma_index_list(?) WHERE "unique" = 1 AND partial = 0')
    .pluck()
    .all(table) as string[]) {
    const cols = db.prepare('SELECT name FROM pragma_index_info(?)').pluck().all(ix) as Array<string | null>;
    if (cols.length === 1 && cols[0]) uniqueCols.add(cols[0].toLowerCase());
  }
  const sql = String(
    db.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?").pluck().get(table) ?? '',
  );
  const foreignKeys = (
    db
      .prepare('SELECT "table" AS parent, "from" AS col, "to" AS ref FROM pragma_foreign_key_list(?)')
      .all(table) as Array<{
      parent: string;
      col: string;
      ref: string | null;
    }>
  ).map((fk) => ({ table, column: fk.col, parent: fk.parent, parentColumn: fk.ref }));
  return {
    name: table,
    columns: info.map((c) => {
      const primaryKey = pkCols.length === 1 && c.pk === 1;
      return { name: c.name, type: c.type, primaryKey, unique: primaryKey || uniqueCols.has(c.name.toLowerCase()) };
    }),
    withoutRowid: /\bWITHOUT\s+ROWID\s*;?\s*$/i.test(sql.trim()),
    foreignKeys,
  };
}

function sampleColumn(db: Database.Database, tables: readonly TableFacts[], table: string, column: string): unknown[] {
  const t = quoteIdent(table);
  const c = quoteIdent(column);
  const facts = tables.find((x) => x.name === table);
  if (!facts || facts.withoutRowid)
    return db.prepare(`SELECT ${c} FROM ${t} LIMIT ${SAMPLE_ROWS}`).pluck().all() as unknown[];
  const half = SAMPLE_ROWS / 2;
  // The oldest and the newest rows: a format that changed over the years shows in both.
  return db
    .prepare(
      `SELECT v FROM (SELECT ${c} AS v FROM ${t} ORDER BY rowid LIMIT ${half}) UNION ALL ` +
        `SELECT v FROM (SELECT ${c} AS v FROM ${t} WHERE rowid > (SELECT max(rowid) FROM (SELECT rowid FROM ${t} ORDER BY rowid LIMIT ${half})) ORDER BY rowid DESC LIMIT ${half})`,
    )
    .pluck()
    .all() as unknown[];
}
