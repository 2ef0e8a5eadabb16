import { vacuumMayRenumber } from '../../db/fts-triggers.js';
import { ftsCommandSql, listFtsTables } from '../../db/fts5.js';
import { BatchSizer, checkpointBetweenBatches, heldTransaction, pause, stepTargetMs, yieldMs } from '../lock-meter.js';
import type { OpEnv, Operation, OpOutcome } from './types.js';

const rebuild = (name: string): string => ftsCommandSql(name, 'rebuild');

/** Pages the first incremental_vacuum batch frees; later batches are sized from the time the last one took. */
const INCREMENTAL_PAGES_FIRST = 256;

type Db = Parameters<Operation['run']>[0];

/**
 * VACUUM, then a TRUNCATE checkpoint: in WAL mode the rebuilt pages sit in the WAL until a
 * checkpoint moves them, so the file only shrinks (and the reclaimed space is real) after it.
 * With maintenance.autoVacuum "incremental" a database still in auto_vacuum=NONE is switched to
 * INCREMENTAL by this VACUUM (the only way SQLite changes that mode).
 *
 * VACUUM may renumber the rowids of a table without INTEGER PRIMARY KEY; an external-content
 * FTS5 index keyed by them then points at the wrong rows. Such indexes are rebuilt from their
 * content right after the VACUUM, in one write transaction taken before any other connection
 * can write, and verification checks them with FTS5's rank-1 integrity-check.
 *
 * The bounded form, for a database in auto_vacuum=INCREMENTAL: the free pages are returned to
 * the file system by `PRAGMA incremental_vacuum(N)` batches, each its own short write
 * transaction sized to a fraction of the writer-wait budget, with a pause after each and a
 * PASSIVE checkpoint (which never blocks writers) so that the file shrinks as it goes.
 */
export const vacuum: Operation = {
  type: 'VACUUM',
  guarded: true,
  transactional: false,
  rewritesDatabase: true,
  sql: (ctx, bounded) =>
    bounded
      ? [
          `PRAGMA incremental_vacuum(${INCREMENTAL_PAGES_FIRST}) -- repeated, each in its own transaction, until no page is free`,
          'PRAGMA wal_checkpoint(PASSIVE)',
        ]
      : [
          'VACUUM',
          ...ctx.fts.filter((f) => f.vacuumRenumbers).map((f) => rebuild(f.table)),
          'PRAGMA wal_checkpoint(TRUNCATE)',
        ],
  bounded: (ctx) =>
    ctx.autoVacuum === 'incremental'
      ? { describe: 'incremental_vacuum batches instead of VACUUM', batches: true }
      : null,
  run(db, ctx, env) {
    if (env.boundedMs !== null) return incrementalVacuum(db, env.boundedMs, env);
    const renumbered = listFtsTables(db)
      .filter((t) => vacuumMayRenumber(db, t))
      .map((t) => t.name);
    const convert = env.toIncremental && ctx.autoVacuum === 'none';
    if (convert) db.pragma('auto_vacuum = INCREMENTAL');
    env.meter.hold(() => db.exec('VACUUM'));
    const converted =
      convert && Number(db.pragma('auto_vacuum', { simple: true })) === 2
        ? '; switched to auto_vacuum=INCREMENTAL (free pages are reclaimed in bounded batches from now on)'
        : '';
    if (renumbered.length === 0) {
      return { status: 'ok', rowsAffected: 0, message: `vacuumed${converted}`, rebuiltFts: [], touchedFts: [] };
    }
    env.meter.hold(() => {
      db.exec('BEGIN IMMEDIATE');
      try {
        for (const name of renumbered) db.prepare(rebuild(name)).run();
        db.exec('COMMIT');
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      }
    });
    return {
      status: 'ok',
      rowsAffected: 0,
      message: `vacuumed${converted}; rebuilt ${renumbered.join(', ')} (keyed by rowids VACUUM may renumber: no INTEGER PRIMARY KEY)`,
      rebuiltFts: renumbered,
      touchedFts: [],
    };
  },
  settle(db, env) {
    if (env.boundedMs !== null || String(db.pragma('journal_mode', { simple: true })) !== 'wal') return '';
    const [r] = env.meter.hold(() => db.pragma('wal_checkpoint(TRUNCATE)')) as Array<{
      busy: number;
      log: number;
      checkpointed: number;
    }>;
    return r && r.busy
      ? `the WAL could not be truncated yet (${r.checkpointed} of ${r.log} frames checkpointed, a reader was active)`
      : '';
  },
};

async function incrementalVacuum(db: Db, budgetMs: number, env: OpEnv): Promise<OpOutcome> {
  // Half the usual step target: how long a batch of pages takes to move varies more than other steps.
  const sizer = new BatchSizer(INCREMENTAL_PAGES_FIRST, stepTargetMs(budgetMs) / 2, 16, 1 << 20);
  const free = db.prepare('PRAGMA freelist_count').pluck();
  const freeBefore = Number(free.get());
  let batches = 0;
  let longest = 0;
  // In WAL mode, synchronous=NORMAL for the batches: a commit then does not wait for an fsync
  // of the WAL (whose time on a busy disk varies more than the batch itself), and SQLite stays
  // consistent through a power loss, which could only undo the last batches of moved pages, no
  // content. The checkpoints sync the database file.
  const wal = String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
  const synchronous = Number(db.pragma('synchronous', { simple: true }));
  if (wal) db.pragma('synchronous = NORMAL');
  try {
    // Bounded by the free pages there were: pages the application frees meanwhile wait for the next run.
    for (let left = freeBefore; left > 0 && Number(free.get()) > 0;) {
      const n = Math.min(sizer.current, left);
      const { ms: took } = heldTransaction(db, env.meter, () => db.pragma(`incremental_vacuum(${n})`));
      batches++;
      left -= n;
      longest = Math.max(longest, took);
      checkpointBetweenBatches(db); // and the file shrinks as it goes
      sizer.took(took, n);
      await pause(yieldMs(took));
    }
  } finally {
    if (wal) db.pragma(`synchronous = ${synchronous}`);
  }
  const freeAfter = Number(free.get());
  return {
    status: 'ok',
    rowsAffected: 0,
    message:
      freeBefore === 0
        ? 'no free pages to return (auto_vacuum=INCREMENTAL)'
        : `returned ${freeBefore - freeAfter} free pages in ${batches} incremental_vacuum batch(es) of at most ${Math.round(longest)} ms` +
          (freeAfter > 0 ? `; ${freeAfter} pages freed meanwhile are left for the next run` : ''),
    rebuiltFts: [],
    touchedFts: [],
  };
}
