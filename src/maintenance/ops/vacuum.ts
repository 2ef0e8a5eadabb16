import type { Operation } from './types.js';
import { nothingRebuilt } from './types.js';

/**
 * VACUUM, then a TRUNCATE checkpoint: in WAL mode the rebuilt pages sit in the WAL until a
 * checkpoint moves them, so the file only shrinks (and the reclaimed space is real) after it.
 */
export const vacuum: Operation = {
  type: 'VACUUM',
  guarded: true,
  transactional: false,
  rewritesDatabase: true,
  sql: () => ['VACUUM', 'PRAGMA wal_checkpoint(TRUNCATE)'],
  run(db) {
    db.exec('VACUUM');
    return { status: 'ok', rowsAffected: 0, message: 'vacuumed', ...nothingRebuilt };
  },
  settle(db) {
    if (String(db.pragma('journal_mode', { simple: true })) !== 'wal') return '';
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    return r && r.busy
      ? `the WAL could not be truncated yet (${r.checkpointed} of ${r.log} frames checkpointed, a reader was active)`
      : '';
  },
};
