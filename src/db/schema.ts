/** What a database holds, from sqlite_schema. */
import type Database from 'better-sqlite3';

/**
 * Ordinary tables (FTS5 shadow tables included, virtual tables not), by name. SQLite's own
 * tables (sqlite_stat1, sqlite_sequence, ...) only with `internal`.
 */
export function ordinaryTables(db: Database.Database, opts: { internal?: boolean } = {}): string[] {
  const internal = opts.internal ? '' : "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ";
  return db
    .prepare(
      `SELECT name FROM sqlite_schema WHERE type = 'table' ${internal}AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name`,
    )
    .pluck()
    .all() as string[];
}
