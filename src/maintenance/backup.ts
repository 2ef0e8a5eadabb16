/**
 * Backups are consistent snapshots taken through SQLite, never file copies of a live database:
 * the online backup API copies one read snapshot into a temp file, which is made a
 * self-contained rollback-journal database, checked (row counts equal to those of the same
 * snapshot), fsynced and renamed into place. Restore goes back through SQLite the same way,
 * into the open database, so a -wal next to it can never be replayed over restored pages.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { BrainDatabase } from '../config/load.js';
import { DbmError } from '../errors.js';
import { escapeRegExp } from '../util/format.js';
import { fsyncDir, TEMP_MARKER, tempPathFor } from '../util/fs-atomic.js';
import { fdLikeOrigin, mkdirLike, originOf } from '../util/ownership.js';
import { fileStamp } from '../util/time.js';
import type { LockMeter } from './lock-meter.js';
import { tableCounts } from './verify.js';
import { renameRetrying } from '../util/platform.js';

const ALL_PAGES = 0x7fffffff;
/** Pages per step of a backup: between steps the event loop runs (the snapshot stays the same). */
const BACKUP_STEP_PAGES = 65536;

export interface Backup {
  /** The verified copy: the temp file until commitBackup() renames it into place. */
  path: string;
  readonly finalPath: string;
  readonly counts: ReadonlyMap<string, number>;
  /** PRAGMA data_version of the creating connection when `counts` were taken. */
  readonly dataVersion: number;
  /** Resolves when the copy is on stable storage (its fsync runs while the operation runs). */
  readonly durable: Promise<void>;
  committed: boolean;
}

/** A database name as a file name: a fleet member's "tenants/acme.db" becomes "tenants_acme.db". */
export function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export function backupDirFor(root: string, db: BrainDatabase): string {
  return path.join(root, fileSafe(db.name));
}

/**
 * Copy the live database, as one read snapshot, into a temp file next to `<dir>/<name>-<time>.db`
 * through SQLite's online backup API, and count every table in that same snapshot: `db` opens a
 * read transaction, counts, and the backup reads its pages through that transaction, so the
 * counts describe exactly the copy. A WAL reader never blocks writers: the application goes on
 * committing meanwhile (its commits are simply not in the copy). In rollback-journal mode a
 * reader's SHARED lock keeps writers from committing until the copy is done: `meter` counts it
 * as a hold of the write lock then.
 *
 * The copy holds every page of the snapshot, free pages included (VACUUM INTO would compact it,
 * but cannot run inside a transaction, so its counts could not be of its own snapshot).
 */
export async function createBackup(
  db: Database.Database,
  target: BrainDatabase,
  dir: string,
  now: Date,
  meter?: LockMeter,
  /** Called inside the snapshot once it is copied (the tests' pause point). */
  inSnapshot?: () => void,
): Promise<Backup> {
  // Never more readable than the database: the directory 0700 (or as loose as the database's), the file its mode.
  mkdirLike(dir, originOf(path.dirname(target.path)), { owner: false });
  let final = path.join(dir, `${fileSafe(target.name)}-${fileStamp(now, 'compact')}.db`);
  for (let i = 1; fs.existsSync(final); i++)
    final = path.join(dir, `${fileSafe(target.name)}-${fileStamp(now, 'compact')}-${i}.db`);
  const tmp = tempPathFor(final);
  let counts: Map<string, number>;
  let dataVersion: number;
  // The backup API fills the file as it finds it: made first, with the database's permissions.
  emptyFileLike(tmp, target.path);
  const blocksWriters = String(db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal';
  const done = blocksWriters ? meter?.start() : undefined;
  try {
    db.exec('BEGIN');
    try {
      counts = tableCounts(db); // the first read fixes the snapshot
      dataVersion = Number(db.pragma('data_version', { simple: true }));
      await db.backup(tmp, { progress: () => BACKUP_STEP_PAGES });
      inSnapshot?.();
    } finally {
      if (db.inTransaction) db.exec('COMMIT');
      done?.();
    }
  } catch (err) {
    removeWithSidecars(tmp);
    throw new DbmError('DB_ERROR', `backup of ${target.name} failed: ${(err as Error).message}`, {
      hint: 'check free space and permissions of the backup directory',
    });
  }
  try {
    const copy = new Database(tmp, { fileMustExist: true });
    try {
      copy.pragma('journal_mode = DELETE');
      const got = tableCounts(copy);
      for (const [t, n] of counts) {
        if (got.get(t) !== n)
          throw new Error(`table "${t}" has ${got.get(t) ?? 'no'} rows in the backup, ${n} in the database`);
      }
    } finally {
      copy.close();
    }
  } catch (err) {
    removeWithSidecars(tmp);
    throw new DbmError('DB_ERROR', `backup of ${target.name} could not be verified: ${(err as Error).message}`);
  }
  // fsync on libuv's thread pool: it overlaps the operation, which blocks the main thread.
  const durable = fs.promises.open(tmp, 'r+').then(async (fh) => {
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
  durable.catch(() => undefined); // observed by commitBackup / restoreBackup
  return { path: tmp, finalPath: final, counts, dataVersion, durable, committed: false };
}

/**
 * Temp file, fsync, rename: the backup gets its final name only once it is on stable storage.
 * Until then it is a temp file, and a run killed meanwhile leaves a stray the next run removes.
 */
export async function commitBackup(backup: Backup): Promise<void> {
  if (backup.committed) return;
  await backup.durable;
  renameRetrying(backup.path, backup.finalPath);
  fsyncDir(path.dirname(backup.finalPath));
  backup.path = backup.finalPath;
  backup.committed = true;
}

/** Keeps the newest `keep` backups of a database; called only after a newer one verified. */
export function pruneBackups(dir: string, name: string, keep: number): string[] {
  const mine = listBackups(dir, name);
  const remove = mine.slice(0, Math.max(0, mine.length - keep));
  for (const f of remove) removeWithSidecars(path.join(dir, f));
  return remove;
}

export function listBackups(dir: string, name: string): string[] {
  let files: string[];
  try {
    files = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const re = new RegExp(`^${escapeRegExp(fileSafe(name))}-\\d{8}T\\d{6}Z(-\\d+)?\\.db$`);
  return files.filter((f) => re.test(f)).sort();
}

/** Removes temp files a killed run left behind (call with the run lock held). */
export function removeStrayTempFiles(root: string): string[] {
  const removed: string[] = [];
  let dirs: string[];
  try {
    dirs = fs.readdirSync(root);
  } catch {
    return removed;
  }
  for (const d of dirs) {
    const dir = path.join(root, d);
    let files: string[];
    try {
      files = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const f of files) {
      if (f.includes(TEMP_MARKER)) {
        fs.rmSync(path.join(dir, f), { force: true });
        removed.push(path.join(dir, f));
      }
    }
  }
  return removed;
}

/** An empty file at `file` (a stray of a killed run replaced) no more permissive than `like`, for SQLite to fill. */
function emptyFileLike(file: string, like: string): void {
  const origin = originOf(like);
  fs.rmSync(file, { force: true }); // one a killed run of the same process id left
  const empty = fs.openSync(file, 'wx', 0o600);
  try {
    if (origin) fdLikeOrigin(empty, origin, { owner: false });
  } finally {
    fs.closeSync(empty);
  }
}

function removeWithSidecars(file: string): void {
  for (const s of ['', '-journal', '-wal', '-shm']) fs.rmSync(file + s, { force: true });
}

/**
 * Restores `backup` into the live database through the backup API (never a file copy),
 * retrying while another connection holds the database, up to `timeoutMs`.
 */
export async function restoreBackup(backup: Backup, target: BrainDatabase, timeoutMs: number): Promise<void> {
  await commitBackup(backup);
  const src = new Database(backup.path, { readonly: true, fileMustExist: true });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await src.backup(target.path, { progress: () => ALL_PAGES });
        return;
      } catch (err) {
        const code = String((err as { code?: unknown }).code ?? '');
        if (!(code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    src.close();
  }
}

export interface Discarded {
  /** `<backupDir>/<db>-<time>-discarded.db`: the state a restore rolled back. */
  readonly path: string;
  /** Per table, rows it holds minus rows the backup holds (tables that differ only); null when it could not be read. */
  readonly delta: ReadonlyMap<string, number> | null;
  /** Whether other connections committed between the backup and the restore (PRAGMA data_version). */
  readonly othersCommitted: boolean;
  /** sqlite_sequence of the discarded state: ids already handed out. */
  readonly sequences: ReadonlyMap<string, bigint>;
}

/**
 * Before a restore: the state about to be rolled back, kept as a file next to the backups
 * (never pruned by keepBackups). Copied page by page through the backup API (a corrupt
 * database cannot always be VACUUMed INTO a copy) by a second connection while `db` holds the
 * write lock, so no commit of another connection is missing from it.
 */
export async function keepDiscarded(
  db: Database.Database,
  target: BrainDatabase,
  backup: Backup,
  meter?: LockMeter,
): Promise<Discarded> {
  const base = backup.finalPath.replace(/\.db$/, '');
  let file = `${base}-discarded.db`;
  for (let i = 1; fs.existsSync(file); i++) file = `${base}-discarded-${i}.db`;
  const tmp = tempPathFor(file);
  emptyFileLike(tmp, target.path);
  let othersCommitted = false;
  try {
    const end = meter?.start();
    db.exec('BEGIN IMMEDIATE');
    try {
      othersCommitted = Number(db.pragma('data_version', { simple: true })) !== backup.dataVersion;
      const reader = new Database(target.path, { readonly: true, fileMustExist: true });
      try {
        await reader.backup(tmp, { progress: () => ALL_PAGES });
      } finally {
        reader.close();
      }
    } finally {
      if (db.inTransaction) db.exec('COMMIT');
      end?.();
    }
    const fd = fs.openSync(tmp, 'r+');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    renameRetrying(tmp, file);
    fsyncDir(path.dirname(file));
  } catch (err) {
    removeWithSidecars(tmp);
    throw err;
  }
  let delta: Map<string, number> | null = null;
  const sequences = new Map<string, bigint>();
  try {
    const copy = new Database(file, { fileMustExist: true });
    try {
      copy.pragma('journal_mode = DELETE');
      const got = tableCounts(copy);
      delta = new Map();
      for (const t of new Set([...got.keys(), ...backup.counts.keys()])) {
        const d = (got.get(t) ?? 0) - (backup.counts.get(t) ?? 0);
        if (d !== 0) delta.set(t, d);
      }
      const hasSeq = copy.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'").get() !== undefined;
      if (hasSeq) {
        const rows = copy.prepare('SELECT name, seq FROM sqlite_sequence').safeIntegers(true).all() as Array<{
          name: string;
          seq: bigint;
        }>;
        for (const r of rows) sequences.set(r.name, BigInt(r.seq));
      }
    } finally {
      copy.close();
    }
  } catch {
    // a copy of a corrupt database: kept as it is, its contents not summarized
  }
  return { path: file, delta, othersCommitted, sequences };
}

/**
 * After a restore: no AUTOINCREMENT counter goes back below an id the discarded state had handed
 * out, so the application never reuses the id of a row that only the discarded file holds.
 */
export function keepSequences(db: Database.Database, sequences: ReadonlyMap<string, bigint>): number {
  if (sequences.size === 0) return 0;
  return db
    .transaction(() => {
      if (!db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'").get()) return 0;
      const update = db.prepare('UPDATE sqlite_sequence SET seq = ? WHERE name = ? AND seq < ?');
      const insert = db.prepare(
        "INSERT INTO sqlite_sequence(name, seq) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?) AND EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?)",
      );
      let raised = 0;
      for (const [name, seq] of sequences) {
        raised += update.run(seq, name, seq).changes;
        raised += insert.run(name, seq, name, name).changes;
      }
      return raised;
    })
    .immediate();
}
