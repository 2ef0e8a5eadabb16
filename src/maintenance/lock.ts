/**
 * One run at a time, and one run per database file. The lock is an exclusive SQLite (fcntl) lock on `<stateDir>/run.lock`,
 * so the operating system releases it when the holder dies, however it dies: a stale lock of
 * a dead process is simply free again. `<stateDir>/run.lock.json` says who holds it (PID, host,
 * start time) for the message the second instance prints.
 *
 * Each database a run changes is locked the same way, by a lock file beside it
 * (`.<name>.dbm-lock`, in the directory of its real path): two configs, or a fleet glob and a
 * named entry, that name one database file (through any path or symlink) cannot maintain it at
 * once, whatever their state directories.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DbmError } from '../errors.js';
import { stateDirError } from '../state/state-dir.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { fdLikeOrigin, narrowToDir, originOf } from '../util/ownership.js';
import { processAlive } from '../util/process.js';

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  readonly command: string;
}

export class RunLock {
  private readonly db: Database.Database;
  private readonly infoPath: string;

  private constructor(db: Database.Database, infoPath: string) {
    this.db = db;
    this.infoPath = infoPath;
  }

  /** Takes the lock at once or throws LOCKED (exit 5) naming the holder. */
  static acquire(stateDir: string, command: string, now: Date): RunLock {
    try {
      fs.mkdirSync(stateDir, { recursive: true });
    } catch (err) {
      throw stateDirError(stateDir, err);
    }
    return RunLock.acquireFile(path.join(stateDir, 'run.lock'), command, now, {
      narrow: (f) => narrowToDir(f, stateDir),
      what: 'the run lock',
      busy: 'another db-maintenance run holds the lock',
    });
  }

  /**
   * The lock of one database file: beside its real path, made like the database (owner, group,
   * mode) so whoever may write the database may take it. Throws LOCKED naming the holder.
   */
  static acquireDatabase(dbPath: string, command: string, now: Date): RunLock {
    const real = fs.realpathSync(dbPath);
    const file = path.join(path.dirname(real), `.${path.basename(real)}.dbm-lock`);
    return RunLock.acquireFile(file, command, now, {
      narrow: (f) => likeFile(f, real),
      what: `the lock of database ${real}`,
      busy: `another db-maintenance run is maintaining ${real} (through another config or name)`,
    });
  }

  private static acquireFile(
    file: string,
    command: string,
    now: Date,
    how: { narrow: (file: string) => void; what: string; busy: string },
  ): RunLock {
    const infoPath = `${file}.json`;
    const created = !fs.existsSync(file);
    // SQLite opens a file it may not write read-only, and then "locks" it without locking
    // anything: every process would get the lock. Fail closed instead.
    if (!created && !writable(file)) {
      throw new DbmError(
        'STATE_DB',
        `${how.what} (${file}) is not writable by this user (uid ${process.getuid?.() ?? '?'}), so it cannot be taken`,
        {
          hint: 'give it (and stateDir) to the user that runs db-maintenance, or remove it when no run is going on',
        },
      );
    }
    let db: Database.Database;
    try {
      db = new Database(file, { timeout: 0 });
    } catch (err) {
      throw new DbmError('STATE_DB', `cannot take ${how.what} (${file}): ${(err as Error).message}`, {
        hint: 'check the permissions of its directory',
      });
    }
    if (created) how.narrow(file);
    try {
      db.pragma('journal_mode = DELETE');
      db.pragma('locking_mode = EXCLUSIVE');
      // An exclusive transaction that never ends: no other connection can even read the file.
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      const code = String((err as { code?: unknown }).code ?? '');
      if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
        const holder = currentHolder(infoPath);
        const who = holder
          ? `pid ${holder.pid} on ${holder.host}, running ${holder.command} since ${holder.startedAt}`
          : 'another process';
        throw new DbmError('LOCKED', `${how.busy} (${who})`, {
          hint: 'wait for it to finish; the lock frees itself when that process ends',
        });
      }
      throw new DbmError('STATE_DB', `cannot take ${how.what} (${file}): ${(err as Error).message}`, {
        hint: 'check the permissions of its directory',
      });
    }
    const holder: LockHolder = { pid: process.pid, host: os.hostname(), startedAt: now.toISOString(), command };
    writeFileAtomic(infoPath, `${JSON.stringify(holder)}\n`);
    how.narrow(infoPath);
    return new RunLock(db, infoPath);
  }

  release(): void {
    if (!this.db.open) return;
    try {
      fs.rmSync(this.infoPath, { force: true });
    } finally {
      this.db.close();
    }
  }
}

/**
 * The holder named in `<stateDir>/run.lock.json` and whether that process still lives (a dead
 * one's lock is already free), or null when nobody is named. Reads only: never takes the lock.
 */
export function namedHolder(stateDir: string): { holder: LockHolder; alive: boolean } | null {
  const holder = readHolder(path.join(stateDir, 'run.lock.json'));
  return holder ? { holder, alive: holder.host !== os.hostname() || processAlive(holder.pid) } : null;
}

/**
 * Who holds the lock. The holder writes its info right after taking the lock, so for a moment
 * the file may be missing, or still name a dead predecessor: wait briefly for a live one.
 */
function currentHolder(infoPath: string): LockHolder | null {
  let holder: LockHolder | null = null;
  for (let i = 0; i < 20; i++) {
    holder = readHolder(infoPath);
    if (holder && (holder.host !== os.hostname() || processAlive(holder.pid))) return holder;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
  }
  return holder;
}

function readHolder(infoPath: string): LockHolder | null {
  try {
    return JSON.parse(fs.readFileSync(infoPath, 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}

/** Gives `file` the owner, group and mode of `like` (never more permissive than it). */
function likeFile(file: string, like: string): void {
  const origin = originOf(like);
  if (!origin) return;
  const fd = fs.openSync(file, 'r');
  try {
    fdLikeOrigin(fd, origin);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether this process may open `file` for writing. */
function writable(file: string): boolean {
  try {
    fs.closeSync(fs.openSync(file, 'r+'));
    return true;
  } catch {
    return false;
  }
}
