import { vacuumMayRenumber } from '../../db/fts-triggers.js';
import { ftsCommandSql, listFtsTables } from '../../db/fts5.js';
import type { Operation } from './types.js';

const rebuild = (name: string): string => ftsCommandSql(name, 'rebuild');

/**
 * VACUUM, then a TRUNCATE checkpoint: in WAL mode the rebuilt pages sit in the WAL until a
 * checkpoint moves them, so the file only shrinks (and the reclaimed space is real) after it.
 *
 * VACUUM may renumber the rowids of a table without INTEGER PRIMARY KEY; an external-content
 * FTS5 index keyed by them then points at the wrong rows. Such indexes are rebuilt from their
 * content right after the VACUUM, in one write transaction taken before any other connection
 * can write, and verification checks them with FTS5's rank-1 integrity-check.
 */
export const vacuum: Operation = {
  type: 'VACUUM',
  guarded: true,
  transactional: false,
  rewritesDatabase: true,
  sql: (ctx) => [
    'VACUUM',
    ...ctx.fts.filter((f) => f.vacuumRenumbers).map((f) => rebuild(f.table)),
    'PRAGMA wal_checkpoint(TRUNCATE)',
  ],
  run(db) {
    const renumbered = listFtsTables(db)
      .filter((t) => vacuumMayRenumber(db, t))
      .map((t) => t.name);
    db.exec('VACUUM');
    if (renumbered.length === 0) {
      return { status: 'ok', rowsAffected: 0, message: 'vacuumed', rebuiltFts: [], touchedFts: [] };
    }
    db.exec('BEGIN IMMEDIATE');
    try {
      for (const name of renumbered) db.prepare(rebuild(name)).run();
      db.exec('COMMIT');
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
    return {
      status: 'ok',
      rowsAffected: 0,
      message: `vacuumed; rebuilt ${renumbered.join(', ')} (keyed by rowids VACUUM may renumber: no INTEGER PRIMARY KEY)`,
      rebuiltFts: renumbered,
      touchedFts: [],
    };
  },
  settle(db) {
    if (String(db.pragma('journal_mode', { simple: true })) !== 'wal') return '';
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    return r && r.busy
      ? `the WAL could not be truncated yet (${r.checkpointed} of ${r.log} frames checkpointed, a reader was active)`
      : '';
  },
};
