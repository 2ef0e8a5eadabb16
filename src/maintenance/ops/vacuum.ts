import type { Operation } from './types.js';
import { nothingRebuilt } from './types.js';

/**
 * VACUUM, then (run by the executor) a TRUNCATE checkpoint: in WAL mode the rebuilt pages sit
 * in the WAL until a checkpoint moves them, so the file only shrinks after it.
 */
export const vacuum: Operation = {
  type: 'VACUUM',
  guarded: true,
  rewritesDatabase: true,
  checkpointAfter: true,
  sql: () => ['VACUUM', 'PRAGMA wal_checkpoint(TRUNCATE)'],
  run(db) {
    db.exec('VACUUM');
    return { status: 'ok', rowsAffected: 0, message: 'vacuumed', ...nothingRebuilt };
  },
};
