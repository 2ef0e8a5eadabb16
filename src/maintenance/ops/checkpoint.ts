import type { Operation } from './types.js';
import { nothingRebuilt } from './types.js';

/**
 * A TRUNCATE checkpoint. It changes no content, so it needs no backup; a checkpoint that a
 * reader or writer kept from finishing is reported as partial, never as success.
 */
export const checkpoint: Operation = {
  type: 'CHECKPOINT',
  guarded: false,
  transactional: false,
  rewritesDatabase: false,
  sql: () => ['PRAGMA wal_checkpoint(TRUNCATE)'],
  run(db, _ctx, env) {
    if (String(db.pragma('journal_mode', { simple: true })) !== 'wal') {
      return {
        status: 'skipped',
        rowsAffected: 0,
        message: 'not in WAL mode: nothing to checkpoint',
        ...nothingRebuilt,
      };
    }
    // Writers wait while it runs (it waits for readers, then copies and truncates holding the WAL's write lock).
    const [r] = env.meter.hold(() => db.pragma('wal_checkpoint(TRUNCATE)')) as Array<{
      busy: number;
      log: number;
      checkpointed: number;
    }>;
    if (!r || r.busy) {
      return {
        status: 'partial',
        rowsAffected: Math.max(0, r?.checkpointed ?? 0),
        message:
          !r || r.log < 0
            ? 'busy: the checkpoint could not start (another connection held the lock past the busy timeout); the WAL was left as it was'
            : `busy: ${r.checkpointed} of ${r.log} WAL frames checkpointed; another connection kept the WAL from being truncated`,
        ...nothingRebuilt,
      };
    }
    return {
      status: 'ok',
      rowsAffected: r.checkpointed,
      message: `checkpointed ${r.checkpointed} frames, WAL truncated`,
      ...nothingRebuilt,
    };
  },
};
