/**
 * Backups are consistent snapshots taken through SQLite, never file copies of a live database:
 * VACUUM INTO a temp file, which is made a self-contained rollback-journal database, checked
 * (row counts equal to the snapshot), fsynced and renamed into place. Restore goes back through SQLite the same way,
 * into the open database, so a -wal next to it can never be replayed over restored pages.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { BrainDatabase } from '../config/load.js';
import { DbmError } from '../errors.js';
import { fsyncDir } from '../util/fs-atomic.js';
import { tableCounts } from './verify.js';

const ALL_PAGES = 0x7fffffff;
const TMP_MARK = '.tmp-';
const requireFromHere = createRequire(import.meta.url);

export interface Backup {
  /** The verified copy: the temp file until commitBackup() renames it into place. */
  path: string;
  readonly finalPath: string;
  readonly counts: ReadonlyMap<string, number>;
  /** PRAGMA data_version of the creating connection when `counts` were taken. */
  readonly dataVersion: number;
  readonly bytes: number;
  /** Resolves when the copy is on stable storage (its fsync runs while the operation runs). */
  readonly durable: Promise<void>;
  committed: boolean;
}

export function backupDirFor(root: string, db: BrainDatabase): string {
  return path.join(root, db.name);
}

function finalName(dir: string, name: string, now: Date): string {
  let final = path.join(dir, `${name}-${stamp(now)}.db`);
  for (let i = 1; fs.existsSync(final); i++) final = path.join(dir, `${name}-${stamp(now)}-${i}.db`);
  return final;
}

function stamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Snapshot the live database into a temp file next to `<dir>/<name>-<time>.db` with VACUUM INTO (a compact,
 * consistent copy of the live pages only). `db` holds the write lock meanwhile, so the row
 * counts it takes describe exactly the state a second connection's VACUUM INTO copies; the
 * application's writers wait on their busy timeout for that long (VACUUM itself blocks them
 * longer). Readers are never blocked.
 */
export function createBackup(db: Database.Database, target: BrainDatabase, dir: string, now: Date, timeoutMs: number): Backup {
  fs.mkdirSync(dir, { recursive: true });
  const final = finalName(dir, target.name, now);
  const tmp = `${final}${TMP_MARK}${process.pid}`;
  let counts: Map<string, number>;
  let dataVersion: number;
  const reader = new Database(target.path, { fileMustExist: true, timeout: timeoutMs });
  // The copy is fsynced by us below, off the main thread, so SQLite need not sync it too.
  reader.pragma('synchronous = OFF');
  try {
    db.exec('BEGIN IMMEDIATE');
    try {
      counts = tableCounts(db);
      dataVersion = Number(db.pragma('data_version', { simple: true }));
      reader.prepare('VACUUM INTO ?').run(tmp);
    } finally {
      db.exec('COMMIT');
    }
  } catch (err) {
    removeWithSidecars(tmp);
    throw new DbmError('DB_ERROR', `backup of ${target.name} failed: ${(err as Error).message}`, {
      hint: 'check free space and permissions of the backup directory',
    });
  } finally {
    reader.close();
  }
  try {
    checkCopy(tmp, counts);
  } catch (err) {
    removeWithSidecars(tmp);
    throw new DbmError('DB_ERROR', `backup of ${target.name} could not be verified: ${(err as Error).message}`);
  }
  return made(tmp, final, counts, dataVersion);
}

/** Makes the copy a self-contained rollback-journal database and checks its row counts. */
function checkCopy(tmp: string, counts: ReadonlyMap<string, number>): void {
  const copy = new Database(tmp, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
    const got = tableCounts(copy);
    for (const [t, n] of counts) {
      if (got.get(t) !== n) throw new Error(`table "${t}" has ${got.get(t) ?? 'no'} rows in the backup, ${n} in the database`);
    }
  } finally {
    copy.close();
  }
}

function made(tmp: string, final: string, counts: ReadonlyMap<string, number>, dataVersion: number): Backup {
  // fsync on libuv's thread pool: it overlaps the operation, which blocks the main thread.
  const durable = fs.promises.open(tmp, 'r+').then(async (fh) => {
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
  durable.catch(() => undefined); // observed by commitBackup / restoreBackup
  return { path: tmp, finalPath: final, counts, dataVersion, bytes: fs.statSync(tmp).size, durable, committed: false };
}

const PINNED_COPY = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
function main() {
  const db = new Database(workerData.file, { fileMustExist: true, timeout: workerData.timeoutMs });
  try {
    db.exec('BEGIN');
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
  } catch (err) {
    db.close();
    parentPort.postMessage({ error: String(err && err.message) });
    return;
  }
  parentPort.postMessage({ pinned: true });
  db.backup(workerData.tmp, { progress: () => 0x7fffffff }).then(
    () => { db.exec('COMMIT'); db.close(); parentPort.postMessage({ copied: true }); },
    (err) => { try { db.exec('ROLLBACK'); } catch {} db.close(); parentPort.postMessage({ error: String(err && err.message) }); },
  );
}
main();
`;

export interface PendingBackup {
  readonly counts: ReadonlyMap<string, number>;
  readonly dataVersion: number;
  /** The verified copy of the pinned snapshot, once the worker is done. */
  readonly finished: Promise<Backup>;
}

/**
 * For VACUUM, the one operation that cannot run inside a transaction we control: the backup
 * runs beside it instead of before it. Under our write lock a worker thread pins a read
 * transaction (the snapshot of the database before the operation, which SQLite keeps intact in
 * the file and WAL for as long as the reader holds it), then the lock is released and the
 * worker copies that snapshot page by page with the backup API on the second core while the
 * operation runs on this one. Nothing relies on the copy before it is complete and verified.
 */
export async function startPinnedBackup(db: Database.Database, target: BrainDatabase, dir: string, now: Date, timeoutMs: number): Promise<PendingBackup> {
  fs.mkdirSync(dir, { recursive: true });
  const final = finalName(dir, target.name, now);
  const tmp = `${final}${TMP_MARK}${process.pid}`;
  const worker = new Worker(PINNED_COPY, {
    eval: true,
    workerData: { driver: requireFromHere.resolve('better-sqlite3'), file: target.path, tmp, timeoutMs },
  });
  const messages: Array<(m: { pinned?: boolean; copied?: boolean; error?: string }) => void> = [];
  worker.on('message', (m) => messages.shift()?.(m));
  const next = (): Promise<{ pinned?: boolean; copied?: boolean; error?: string }> =>
    new Promise((resolve, reject) => {
      messages.push(resolve);
      worker.once('error', reject);
    });
  let counts: Map<string, number>;
  let dataVersion: number;
  db.exec('BEGIN IMMEDIATE');
  try {
    counts = tableCounts(db);
    dataVersion = Number(db.pragma('data_version', { simple: true }));
    const m = await next();
    if (!m.pinned) throw new Error(m.error ?? 'the backup reader did not start');
  } catch (err) {
    db.exec('COMMIT');
    await worker.terminate();
    removeWithSidecars(tmp);
    throw new DbmError('DB_ERROR', `backup of ${target.name} failed: ${(err as Error).message}`);
  }
  db.exec('COMMIT');
  const finished = next().then((m) => {
    if (!m.copied) throw new Error(m.error ?? 'the backup copy did not finish');
    checkCopy(tmp, counts);
    return made(tmp, final, counts, dataVersion);
  });
  finished.catch(() => removeWithSidecars(tmp));
  return { counts, dataVersion, finished };
}

/**
 * Temp file, fsync, rename: the backup gets its final name only once it is on stable storage.
 * Until then it is a temp file, and a run killed meanwhile leaves a stray the next run removes.
 */
export async function commitBackup(backup: Backup): Promise<void> {
  if (backup.committed) return;
  await backup.durable;
  fs.renameSync(backup.path, backup.finalPath);
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
  const re = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{8}T\\d{6}Z(-\\d+)?\\.db$`);
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
      if (f.includes(TMP_MARK)) {
        fs.rmSync(path.join(dir, f), { force: true });
        removed.push(path.join(dir, f));
      }
    }
  }
  return removed;
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
