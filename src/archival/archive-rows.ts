/**
 * Archiving rows: the selected parent rows and all their descendants move from a live
 * database into its archive database, batch by batch (mover.ts has the protocol). Used by
 * `--archive` (conversations) and `--prune-patterns` (pruned patterns are kept in an archive
 * so a mistake can be undone). `--restore-conversation` moves them back.
 */
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { requireColumns, requireUniqueKey, type ChildTable } from '../assess/retention.js';
import type { BrainDatabase } from '../config/load.js';
import { ftsCommandSql, listFtsTables, type FtsTable } from '../db/fts5.js';
import { inspectDatabaseFile, ReadConnection, sqliteError } from '../db/open.js';
import { quoteIdent } from '../db/sql.js';
import { DbmError } from '../errors.js';
import { fdLikeOrigin, originOf } from '../util/ownership.js';
import { RunLock } from '../maintenance/lock.js';
import {
  BatchSizer,
  checkpointBetweenBatches,
  heldTransaction,
  LockMeter,
  sleepSync,
  batchTargetMs,
  yieldMs,
} from '../maintenance/lock-meter.js';
import { checkFreeSpace, statfsProbe } from '../maintenance/preflight.js';
import {
  attach,
  countRows,
  deleteExactly,
  differingKeys,
  discoverMoveSet,
  ensureArchiveSchema,
  hasFtsDeleteTrigger,
  moveBatch,
  openForMove,
  setKeys,
  type BatchResult,
  type MoveOptions,
  type MoveSet,
} from './mover.js';
import { outcome, type RetentionOutcome, type RetentionRequest } from './types.js';

export interface RowArchiveJob {
  /** 'conversations' or 'patterns': the config section, for messages. */
  readonly label: string;
  /** What its progress line is called ('archive', 'prune-patterns'). */
  readonly progressLabel: string;
  readonly source: BrainDatabase;
  readonly archivePath: string;
  readonly table: string;
  readonly key: string;
  readonly columns: readonly string[];
  readonly children: readonly ChildTable[] | undefined;
  /** SELECT of the keys to move (read from the schema of `db`); its named parameters are `params`. */
  readonly keysSql: (db: Database.Database) => string;
  /** The keys old enough before foreign keys that forbid the delete are considered (a superset of keysSql's), to report those kept live. */
  readonly oldSql?: (db: Database.Database) => string;
  /** ORDER BY expression for the batches (oldest first). */
  readonly orderBy: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly batchSize: number;
  /** Returns why the job must not run (nothing is changed), or null. */
  readonly guard?: (eligible: number, total: number) => string | null;
}

function countsRecord(label: string, set: MoveSet, rows: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of set.nodes) out[n.table] = rows.get(n.table) ?? 0;
  out[label] = rows.get(set.root) ?? 0;
  return out;
}

/** A connection for moving rows (mover.ts), its schema read now so a bad file fails here, as a DbmError about `db`. */
function openChecked(db: BrainDatabase, timeoutMs: number, create = false): Database.Database {
  let conn: Database.Database | undefined;
  try {
    conn = openForMove(db.path, timeoutMs, create);
    conn.prepare('SELECT count(*) FROM sqlite_schema').get();
    return conn;
  } catch (err) {
    conn?.close();
    throw sqliteError(db, err, 'opening it');
  }
}

/** Moves every row the job selects into the archive; with `req.dryRun`, counts them exactly and changes nothing. */
export function archiveRows(job: RowArchiveJob, req: RetentionRequest): RetentionOutcome {
  const timeoutMs = req.brain.config.maintenance.busyTimeoutMs;
  if (req.dryRun) return planArchive(job, timeoutMs);
  return withDatabaseLock(job.source, req, () => archiveLocked(job, req, timeoutMs));
}

/** Runs `fn` holding the lock of `db`'s file (lock.ts): no other run, through any config, changes it meanwhile. */
export function withDatabaseLock<T>(db: BrainDatabase, req: RetentionRequest, fn: () => T): T {
  inspectDatabaseFile(db);
  const lock = RunLock.acquireDatabase(db.path, 'retention', req.now);
  try {
    return fn();
  } finally {
    lock.release();
  }
}

function archiveLocked(job: RowArchiveJob, req: RetentionRequest, timeoutMs: number): RetentionOutcome {
  const meter = new LockMeter();
  const src = openChecked(job.source, timeoutMs);
  try {
    requireColumns(src, job.label, job.table, job.columns);
    requireUniqueKey(src, job.label, job.table, job.key);
    const set = discoverMoveSet(src, job.table, job.key, job.children);
    const fts = listFtsTables(src);
    const keysSql = job.keysSql(src);
    const progress = req.progress;
    const counting = progress?.during(`${job.progressLabel}: counting eligible ${job.label}`, null);
    let eligible: number;
    try {
      eligible = Number(src.prepare(`SELECT count(*) FROM (${keysSql})`).pluck().get(job.params));
    } finally {
      counting?.();
    }
    const total = Number(
      src
        .prepare(`SELECT count(*) FROM ${quoteIdent(job.table)}`)
        .pluck()
        .get(),
    );
    const refusal = job.guard?.(eligible, total);
    if (refusal) return outcome('refused', refusal, 0, { counts: { eligible, total } });
    if (eligible === 0)
      return outcome('ok', `no ${job.label} to move`, 0, { counts: countsRecord(job.label, set, new Map()) });

    const fileBytes = fs.statSync(job.source.path).size;
    checkFreeSpace(
      [
        {
          dir: path.dirname(job.archivePath),
          bytes: Math.ceil((fileBytes * eligible) / Math.max(1, total)),
          what: `archive of ${job.label}`,
        },
      ],
      req.probe ?? statfsProbe,
    );
    // A 0-byte file is what a run killed right after creating the archive leaves: to SQLite an empty database.
    const existed = fs.existsSync(job.archivePath) && fs.statSync(job.archivePath).size > 0;
    if (existed) inspectDatabaseFile({ name: 'archive', path: job.archivePath, configKey: `${job.label}.archivePath` });
    let arc: Database.Database;
    try {
      createLike(job.archivePath, job.source.path);
      arc = openForMove(job.archivePath, timeoutMs, true);
      attach(arc, job.source.path, 'src');
    } catch (err) {
      throw sqliteError(
        { name: 'archive', path: job.archivePath, configKey: `${job.label}.archivePath` },
        err,
        'opening it',
      );
    }
    try {
      const t0 = Date.now();
      const schema = ensureArchiveSchema(arc, set, fts);
      const moved = new Map<string, number>();
      const conflicts: unknown[] = [];
      let blocked = 0;
      let batches = 0;
      const opts: MoveOptions = { replace: true, live: 'from', liveFts: fts };
      // Keys left live because of a conflict are not selected again.
      src.exec(`CREATE TEMP TABLE IF NOT EXISTS "_dbm_skip"(k)`);
      src.exec(`DELETE FROM temp."_dbm_skip"`);
      const skip = src.prepare(`INSERT INTO temp."_dbm_skip"(k) VALUES (?)`);
      // Which rows are eligible is decided on a read snapshot, outside the write lock: on a large
      // brain that query alone takes longer than the budget (every conversation's activity is
      // looked at). Under the lock, each batch re-checks only its own candidates by key.
      src.exec(`CREATE TEMP TABLE IF NOT EXISTS "_dbm_candidates"(k)`);
      const candidate = src.prepare(`INSERT INTO temp."_dbm_candidates"(k) VALUES (?)`);
      const k = quoteIdent(job.key);
      const findCandidates = src
        .prepare(
          `${keysSql} AND ${k} NOT IN (SELECT k FROM temp."_dbm_skip") ORDER BY ${job.orderBy} LIMIT ${Math.max(1, job.batchSize) * 8}`,
        )
        .pluck()
        .safeIntegers(true);
      const stillEligible = src
        .prepare(`${keysSql} AND ${k} IN (SELECT k FROM temp."_dbm_candidates") ORDER BY ${job.orderBy}`)
        .pluck()
        .safeIntegers(true);
      // Batches sized by time: at most the configured size, fewer when one holds the lock past a
      // quarter of the writer-wait budget (at most 250 ms); the first an eighth of it (200 conversations with
      // their messages can take seconds).
      const max = Math.max(1, job.batchSize);
      const sizer = new BatchSizer(
        Math.ceil(max / 8),
        batchTargetMs(req.brain.config.maintenance.maxWriterWaitMs),
        1,
        max,
      );
      let pool: unknown[] = [];
      progress?.count(job.progressLabel, 0, eligible, job.label);
      for (;;) {
        if (pool.length === 0) {
          pool = findCandidates.all(job.params);
          // A NULL key cannot be told apart from another under the lock (key IN (...) never matches it).
          if (pool.some((k) => k === null))
            throw new DbmError('DB_ERROR', `rows of "${job.table}" have a NULL "${job.key}"; nothing more was moved`, {
              hint: `set the key column to a unique NOT NULL column of "${job.table}"`,
            });
        }
        if (pool.length === 0) break;
        const taken = pool.splice(0, sizer.current);
        src.exec(`DELETE FROM temp."_dbm_candidates"`);
        for (const key of taken) candidate.run(key as bigint | string | number);
        src.exec('BEGIN IMMEDIATE'); // waiting for the application's lock is not a hold of ours
        const end = meter.start();
        const tb = performance.now();
        let r: ReturnType<typeof moveOrIsolate>;
        let keys: unknown[];
        try {
          // Moved only if still eligible now that nobody else can write (a new message since the snapshot keeps it live).
          keys = stillEligible.all(job.params);
          if (keys.length === 0) {
            src.exec('ROLLBACK');
            end();
            // Not eligible any more: left live, and not picked again in this run.
            for (const key of taken) skip.run(key as bigint | string | number);
            continue;
          }
          r = moveOrIsolate(src, arc, set, keys, opts);
          for (const key of [...r.conflicts, ...r.blocked]) skip.run(key as bigint | string | number);
          src.exec('COMMIT');
          end();
        } catch (err) {
          if (src.inTransaction) src.exec('ROLLBACK');
          end();
          throw err;
        }
        // Committed: counted before anything else can go wrong.
        for (const [t, c] of r.moved) moved.set(t, (moved.get(t) ?? 0) + c);
        progress?.count(job.progressLabel, moved.get(set.root) ?? 0, eligible, job.label);
        conflicts.push(...r.conflicts);
        blocked += r.blocked.length;
        batches++;
        const still = new Set(keys.map(String));
        for (const key of taken) if (!still.has(String(key))) skip.run(key as bigint | string | number);
        const took = performance.now() - tb;
        req.logger.trace({ rows: keys.length, ms: Math.round(took) }, 'batch moved');
        sizer.took(took, keys.length);
        checkpointBetweenBatches(src);
        sleepSync(yieldMs(took));
      }
      req.logger.debug({ batches, ms: Date.now() - t0 }, 'rows moved');
      const notes: string[] = [];
      if (schema.created.length)
        notes.push(
          `${existed ? 'created' : 'created the archive with'} ${schema.created.map((t) => `"${t}"`).join(', ')}`,
        );
      if (schema.addedColumns.length) notes.push(`added column(s) ${schema.addedColumns.join(', ')} to the archive`);
      const checking = progress?.during(`${job.progressLabel}: checking the FTS indexes`, null);
      try {
        notes.push(
          ...repairFts(src, fts, set, 'live', meter),
          ...repairFts(arc, listFtsTables(arc), set, 'archive', meter),
        );
      } finally {
        checking?.();
      }
      req.logger.debug({ ms: Date.now() - t0 }, 'FTS indexes checked');
      const count = moved.get(set.root) ?? 0;
      const childRows = [...moved].filter(([t]) => t !== set.root).reduce((a, [, c]) => a + c, 0);
      if (conflicts.length) notes.push(conflictNote(job, conflicts));
      const keptAtRoot = job.oldSql
        ? Number(
            src
              .prepare(`SELECT count(*) FROM (${job.oldSql(src)})`)
              .pluck()
              .get(job.params),
          ) - Number(src.prepare(`SELECT count(*) FROM (${keysSql})`).pluck().get(job.params))
        : 0;
      if (blocked + keptAtRoot > 0) notes.push(blockedNote(job, set, blocked + keptAtRoot));
      const linked = set.nodes.filter((n) => n.kind === 'link' && (moved.get(n.table) ?? 0) > 0);
      if (linked.length)
        notes.push(
          `${linked.map((n) => `${moved.get(n.table)} ${n.table} rows`).join(', ')} stay live with their link cleared (ON DELETE ${linked[0]!.action}); the archive keeps a linked copy`,
        );
      return outcome(
        conflicts.length ? 'partial' : 'ok',
        `moved ${count} ${job.label} and ${childRows} child rows to ${job.archivePath} in ${batches} batch(es)${notes.length ? `; ${notes.join('; ')}` : ''}`,
        count,
        {
          counts: countsRecord(job.label, set, moved),
          files: [job.archivePath],
          conflicts: conflicts.map(String),
          writeLock: meter.summary(),
        },
      );
    } finally {
      arc.close();
    }
  } finally {
    src.close();
  }
}

function isConstraint(err: unknown): boolean {
  return String((err as { code?: unknown }).code ?? '').startsWith('SQLITE_CONSTRAINT');
}

/**
 * One batch; when a row of it collides with a different row already in the archive (a
 * UNIQUE or PRIMARY KEY constraint: the application reused a child's id), the batch's keys
 * are moved one by one instead and the ones that collide stay live, as conflicts.
 */
function moveOrIsolate(
  src: Database.Database,
  arc: Database.Database,
  set: MoveSet,
  keys: readonly unknown[],
  opts: MoveOptions,
): BatchResult {
  try {
    return moveBatch(src, arc, 'src', set, keys, opts);
  } catch (err) {
    if (!isConstraint(err)) throw err;
  }
  const moved = new Map<string, number>();
  const conflicts: unknown[] = [];
  const blocked: unknown[] = [];
  for (const k of keys) {
    try {
      const one = moveBatch(src, arc, 'src', set, [k], opts);
      for (const [t, c] of one.moved) moved.set(t, (moved.get(t) ?? 0) + c);
      conflicts.push(...one.conflicts);
      blocked.push(...one.blocked);
    } catch (err) {
      if (!isConstraint(err)) throw err;
      conflicts.push(k);
    }
  }
  return { moved, conflicts, blocked };
}

function blockedNote(job: RowArchiveJob, set: MoveSet, blocked: number): string {
  const by = [...new Set(set.blockers.map((b) => `${b.table} (ON DELETE ${b.action})`))].join(', ');
  return (
    `${blocked} ${job.label} kept live: rows of ${by} refer to them and their foreign key forbids the delete ` +
    `(list the table in ${job.label}.childTables to move its rows with them)`
  );
}

function conflictNote(job: RowArchiveJob, conflicts: readonly unknown[]): string {
  const shown = conflicts.slice(0, 10).map(String).join(', ');
  const more = conflicts.length > 10 ? ` and ${conflicts.length - 10} more` : '';
  return (
    `${conflicts.length} ${job.label} left live: "${job.key}" ${shown}${more} already names different rows in the archive ` +
    `(the application reused the key; nothing of either was changed: give one of them another key, then re-run)`
  );
}

/** Exact counts of what archiveRows would move; opens nothing for writing. */
function planArchive(job: RowArchiveJob, timeoutMs: number): RetentionOutcome {
  const conn = new ReadConnection(job.source, inspectDatabaseFile(job.source), timeoutMs);
  try {
    const db = conn.db;
    requireColumns(db, job.label, job.table, job.columns);
    requireUniqueKey(db, job.label, job.table, job.key);
    const set = discoverMoveSet(db, job.table, job.key, job.children);
    const keysSql = job.keysSql(db);
    const eligible = Number(db.prepare(`SELECT count(*) FROM (${keysSql})`).pluck().get(job.params));
    const total = Number(
      db
        .prepare(`SELECT count(*) FROM ${quoteIdent(job.table)}`)
        .pluck()
        .get(),
    );
    const rows = countRows(db, set, 'main', keysSql, job.params);
    const refusal = job.guard?.(eligible, total);
    if (refusal)
      return outcome('refused', `would refuse: ${refusal}`, 0, {
        counts: { ...countsRecord(job.label, set, rows), total },
      });
    const exists = fs.existsSync(job.archivePath);
    const childRows = [...rows].filter(([t]) => t !== set.root).reduce((a, [, c]) => a + c, 0);
    return outcome(
      'ok',
      `would move ${eligible} of ${total} ${job.label} and ${childRows} child rows to ${job.archivePath}${exists || eligible === 0 ? '' : ' (created)'}`,
      eligible,
      { counts: countsRecord(job.label, set, rows), files: eligible ? [job.archivePath] : [] },
    );
  } finally {
    conn.close();
  }
}

/**
 * After rows moved, the external-content FTS5 indexes over them must still match their content
 * on both sides. The archive's are kept by our own triggers (checked by count). A live database's index is kept by
 * the application's delete trigger, which is right only when it issues FTS5's 'delete' command
 * (`INSERT INTO fts(fts, rowid, ...) VALUES ('delete', old...)`); `DELETE FROM fts WHERE rowid =
 * old.rowid` leaves the deleted rows' terms in the index. Without a right one, or when the index
 * and its content no longer have the same number of rows, the index is rebuilt from its content.
 * (A sampled MATCH probe, as assess does, reads whole doclists full of delete markers right
 * after a big move: seconds, where this costs two counts.)
 */
function repairFts(
  db: Database.Database,
  fts: readonly FtsTable[],
  set: MoveSet,
  side: 'live' | 'archive',
  meter: LockMeter,
): string[] {
  const moved = new Set(set.nodes.map((n) => n.table.toLowerCase()));
  const notes: string[] = [];
  for (const f of fts) {
    if (f.kind !== 'external' || !moved.has(f.contentTable!.toLowerCase())) continue;
    const why =
      side === 'live' && !hasFtsDeleteTrigger(db, f)
        ? `no delete trigger of ${f.contentTable} issues its 'delete' command`
        : f.hasDocsize && countsDiffer(db, `${f.name}_docsize`, f.contentTable!)
          ? 'its row count differs from its content'
          : null;
    if (!why) continue;
    heldTransaction(db, meter, () => db.prepare(ftsCommandSql(f.name, 'rebuild')).run());
    notes.push(`rebuilt the ${side} FTS index "${f.name}" (${why})`);
  }
  return notes;
}

/**
 * Whether two tables hold different numbers of rows, both counted in one read snapshot: the
 * application keeps committing (its triggers write a row and its index entry in one
 * transaction), and two counts in two snapshots would differ by its last commit.
 */
function countsDiffer(db: Database.Database, a: string, b: string): boolean {
  const count = (t: string): number =>
    Number(
      db
        .prepare(`SELECT count(*) FROM ${quoteIdent(t)}`)
        .pluck()
        .get(),
    );
  return db.transaction(() => count(a) !== count(b))();
}

export interface RestoreJob {
  readonly label: string;
  /** 'conversation': for messages about one row. */
  readonly singular: string;
  readonly source: BrainDatabase;
  readonly archivePath: string;
  readonly table: string;
  readonly key: string;
  readonly children: readonly ChildTable[] | undefined;
  readonly id: string;
}

/**
 * Moves one archived parent row (and its descendants) back into the live database. The live
 * database is the truth: when the row is already there (a restore killed after its copy),
 * only the archive's copy is removed.
 */
export function restoreRows(job: RestoreJob, req: RetentionRequest): RetentionOutcome {
  const timeoutMs = req.brain.config.maintenance.busyTimeoutMs;
  const archiveDb: BrainDatabase = { name: 'archive', path: job.archivePath, configKey: `${job.label}.archivePath` };
  if (!fs.existsSync(job.archivePath)) {
    throw new DbmError('DB_NOT_FOUND', `there is no archive database at ${job.archivePath}`, {
      hint: `run --archive first, or set ${job.label}.archivePath`,
    });
  }
  inspectDatabaseFile(archiveDb);
  if (req.dryRun) return restoreLocked(job, req, timeoutMs, archiveDb);
  return withDatabaseLock(job.source, req, () => restoreLocked(job, req, timeoutMs, archiveDb));
}

function restoreLocked(
  job: RestoreJob,
  req: RetentionRequest,
  timeoutMs: number,
  archiveDb: BrainDatabase,
): RetentionOutcome {
  const src = openChecked(job.source, timeoutMs);
  try {
    const arc = openChecked(archiveDb, timeoutMs);
    try {
      requireColumns(src, job.label, job.table, [job.key]);
      requireUniqueKey(src, job.label, job.table, job.key);
      const full = discoverMoveSet(src, job.table, job.key, job.children);
      const inArchive = new Set(
        (arc.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table'`).pluck().all() as string[]).map((t) =>
          t.toLowerCase(),
        ),
      );
      const set: MoveSet = { ...full, nodes: full.nodes.filter((n) => inArchive.has(n.table.toLowerCase())) };
      if (!inArchive.has(set.root.toLowerCase())) {
        throw new DbmError('DB_ERROR', `the archive ${job.archivePath} has no table "${job.table}"`, {
          hint: 'nothing was archived there yet',
        });
      }
      const q = `SELECT count(*) FROM ${quoteIdent(job.table)} WHERE ${quoteIdent(job.key)} IN (SELECT ?)`;
      if (req.dryRun) {
        const archived = Number(arc.prepare(q).pluck().get(job.id)) > 0;
        if (!archived)
          throw new DbmError('USAGE', `${job.singular} ${job.id} is not in the archive ${job.archivePath}`, {
            hint: `check the ${job.key} value`,
          });
        return outcome('ok', `would move ${job.singular} ${job.id} back from ${job.archivePath}`, 1, {
          files: [job.source.path],
        });
      }
      attach(src, job.archivePath, 'arc');
      arc.exec('BEGIN IMMEDIATE');
      try {
        const archived = Number(arc.prepare(q).pluck().get(job.id)) > 0;
        if (!archived)
          throw new DbmError('USAGE', `${job.singular} ${job.id} is not in the archive ${job.archivePath}`, {
            hint: `check the ${job.key} value`,
          });
        const live = Number(src.prepare(q).pluck().get(job.id)) > 0;
        let n: Map<string, number>;
        let message: string;
        if (live) {
          setKeys(src, [job.id]);
          if (differingKeys(src, 'arc', set).length > 0)
            throw new DbmError(
              'KEY_CONFLICT',
              `${job.singular} ${job.id} of the archive and the live ${job.singular} ${job.id} are different rows: not restored, nothing was changed`,
              {
                hint: `the application reused the key; give the live one another ${job.key}, then restore again`,
              },
            );
          // The same rows: a restore killed after its copy left both, and the live copy is the truth.
          n = moveBatchDeleteOnly(arc, set, job.id);
          message = `${job.singular} ${job.id} was already in ${job.source.name}; removed the archive's copy`;
        } else {
          try {
            n = moveBatch(arc, src, 'arc', set, [job.id], {
              replace: false,
              live: 'to',
              liveFts: listFtsTables(src),
            }).moved;
          } catch (err) {
            if (!isConstraint(err)) throw err;
            throw new DbmError(
              'KEY_CONFLICT',
              `rows of ${job.singular} ${job.id} collide with different live rows (${(err as Error).message}): not restored, nothing was changed`,
              {
                hint: 'the application reused a key of one of its rows; give the live row another key, then restore again',
              },
            );
          }
          message = `moved ${job.singular} ${job.id} back to ${job.source.name}`;
        }
        arc.exec('COMMIT');
        const rows = [...n].reduce((a, [, c]) => a + c, 0);
        return outcome('ok', `${message} (${rows} rows)`, 1, {
          counts: countsRecord(job.label, set, n),
          files: [job.source.path],
        });
      } catch (err) {
        if (arc.inTransaction) arc.exec('ROLLBACK');
        throw err;
      }
    } finally {
      arc.close();
    }
  } finally {
    src.close();
  }
}

function moveBatchDeleteOnly(db: Database.Database, set: MoveSet, id: string): Map<string, number> {
  setKeys(db, [id]);
  return deleteExactly(db, set, countRows(db, set, 'main'));
}

/**
 * Creates an archive database that does not exist yet as an empty file (to SQLite an empty
 * database) with the permissions and, as root, the owner of the live database it takes rows
 * from, before any row is written to it. SQLite gives its -wal and -shm files the same.
 */
function createLike(archivePath: string, livePath: string): void {
  const origin = originOf(livePath);
  let fd: number;
  try {
    fd = fs.openSync(archivePath, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  try {
    if (origin) fdLikeOrigin(fd, origin);
  } finally {
    fs.closeSync(fd);
  }
}
