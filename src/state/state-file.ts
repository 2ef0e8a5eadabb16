/** Opening the state database file and telling a broken one apart from a missing one (src/state/state-db.ts). */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { DbmError } from '../errors.js';
import { loadMigrations } from './migrations.js';

/**
 * The existing state database, read-only, or null when there is none (or a killed run left a
 * hot journal that only a writer may roll back: readers then go without history until the next
 * writing command does). Not a database, corrupt, a directory, a newer schema: STATE_DB.
 */
export function openExistingReadOnly(file: string): Database.Database | null {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw brokenState(file, code === 'ENOTDIR' ? 'stateDir is not a directory' : (code ?? (err as Error).message));
  }
  if (!st.isFile()) throw brokenState(file, 'it is not a regular file');
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 });
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    quickCheck(db);
  } catch (err) {
    db?.close();
    const code = String((err as { code?: unknown }).code ?? '');
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_READONLY')) return null;
    throw brokenState(file, (err as Error).message);
  }
  const version = Number(db.pragma('user_version', { simple: true }));
  const known = loadMigrations().length;
  if (version > known) {
    db.close();
    throw new DbmError(
      'STATE_DB',
      `state database ${file} has schema version ${version}, newer than this db-maintenance knows (${known})`,
      { hint: 'upgrade db-maintenance, or point stateDir elsewhere' },
    );
  }
  return db;
}

/** Throws when the state database's pages are damaged behind a valid header. */
export function quickCheck(db: Database.Database): void {
  const check = String(db.pragma('quick_check(1)', { simple: true }));
  if (check !== 'ok') throw new Error(`quick_check: ${check.split('\n').join('; ')}`);
}

/** The one error of a state database that cannot be used, with the way out. */
export function brokenState(file: string, why: string): DbmError {
  return new DbmError('STATE_DB', `the state database ${file} cannot be used: ${why}`, {
    hint: `check stateDir and its permissions; if the file is damaged, move it aside (mv ${file} ${file}.broken): the next run starts a new history`,
  });
}
