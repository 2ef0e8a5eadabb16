/**
 * Prepared statements kept per connection by their SQL. A loop of batches (the archive's moves)
 * prepares the same few dozen statements in every batch; each better-sqlite3 Statement holds
 * SQLite's compiled program in native memory that is only freed when V8 collects the object,
 * which it does late because it does not see that memory: hundreds of batches raised the peak
 * RSS by tens of MB. Reused, they are compiled once (and recompiled by SQLite itself after a
 * schema change).
 */
import type Database from 'better-sqlite3';

const caches = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** `db.prepare(sql)`, reused; its pluck/raw/safeIntegers modes reset, so each caller sets its own. */
export function prepared(db: Database.Database, sql: string): Database.Statement {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new Map()));
  let stmt = cache.get(sql);
  if (!stmt) {
    stmt = db.prepare(sql);
    cache.set(sql, stmt);
  } else if (stmt.reader) {
    stmt.pluck(false).raw(false).safeIntegers(false);
  } else stmt.safeIntegers(false);
  return stmt;
}
