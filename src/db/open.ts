/**
 * Opening a brain database: validate the file first (so a typo never creates an empty
 * database and a non-SQLite file gets a clear message), then open it so that reading
 * changes nothing on disk.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { DbmError } from '../errors.js';
import type { BrainDatabase } from '../config/load.js';

export interface FileFacts {
  readonly fileBytes: number;
  readonly walBytes: number;
  readonly walExists: boolean;
  /** A rollback journal with content beside it: a write in progress, or a hot journal of one that died. */
  readonly journalExists: boolean;
  /** Its header says WAL mode (read and write versions 2). */
  readonly walMode: boolean;
}

const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Whether SQLite itself can be used here: better-sqlite3 loads its native module on the first
 * connection. Null when it can; else one line saying why, with the way to fix it.
 */
export function sqliteUnavailable(): DbmError | null {
  try {
    new Database(':memory:').close();
    return null;
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    // Node's ABI error spans lines ("The module '...'\nwas compiled against ... NODE_MODULE_VERSION 137.
    // This version of Node.js requires\nNODE_MODULE_VERSION 115. ..."): say it in one.
    const abi = /NODE_MODULE_VERSION (\d+)\.\s+This version of Node\.js requires\s+NODE_MODULE_VERSION (\d+)/.exec(
      message,
    );
    const why = abi ? `built for another Node, ABI ${abi[1]}` : message.split('\n')[0]!.replace(/\s*Tried:\s*$/, '');
    return new DbmError('FILE_ERROR', `SQLite cannot be loaded (better-sqlite3's native module: ${why})`, {
      hint: `build it for this Node (${process.version}, ABI ${process.versions.modules}): npm rebuild better-sqlite3 in db-maintenance's directory (install scripts allowed), or install it again; without a compiler see the README's "Install"`,
    });
  }
}

/** The first `bytes` bytes of a file (fewer when it is shorter), or null when it cannot be read; never blocks on a FIFO. */
export function readHead(file: string, bytes: number): Buffer | null {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const head = Buffer.alloc(bytes);
    return head.subarray(0, fs.readSync(fd, head, 0, bytes, 0));
  } catch {
    return null;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Whether a file's first bytes are SQLite's header. */
export function isSqliteHead(head: Buffer | null): boolean {
  return head !== null && head.length >= 16 && head.subarray(0, 16).equals(MAGIC);
}

/** Whether `file` starts with SQLite's header, whatever its name (an unreadable file is not taken for one). */
export function hasSqliteHeader(file: string): boolean {
  return isSqliteHead(readHead(file, 16));
}

/** Checks that `target` is a readable, plausible SQLite file; throws a DbmError naming the config key otherwise. */
export function inspectDatabaseFile(target: BrainDatabase): FileFacts {
  const where = `database ${target.name} (${target.path})`;
  const hint = `fix ${target.configKey} in the config`;
  let st: fs.Stats;
  try {
    st = fs.statSync(target.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new DbmError('DB_NOT_FOUND', `${where} does not exist`, { hint: `${hint}; nothing was created` });
    }
    throw new DbmError('DB_UNREADABLE', `${where} cannot be read: ${code ?? String(err)}`, {
      hint: 'check permissions',
    });
  }
  if (st.isDirectory()) throw new DbmError('DB_IS_DIRECTORY', `${where} is a directory, not a database file`, { hint });
  if (!st.isFile()) throw new DbmError('DB_NOT_SQLITE', `${where} is not a regular file`, { hint });
  // A live database changes under us: a checkpoint writes the header and extends or truncates
  // the file a moment apart. A short file is called truncated only when it stays short, with the
  // same header, over a few looks.
  let facts = readHeader(target, where);
  for (let look = 1; facts.truncated && look < 6; look++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 * look);
    facts = readHeader(target, where);
  }
  if (facts.truncated) {
    throw new DbmError(
      'DB_CORRUPT',
      `${where} is truncated: ${facts.size} bytes on disk, its header promises ${facts.headerPages} pages of ${facts.pageSize} bytes`,
      { hint: 'restore it from a backup' },
    );
  }
  let walBytes = 0;
  let walExists = false;
  try {
    walBytes = fs.statSync(`${target.path}-wal`).size;
    walExists = true;
  } catch {
    // no -wal: nobody has the database open in WAL mode right now
  }
  return {
    fileBytes: facts.size,
    walBytes,
    walExists,
    journalExists: fileSize(`${target.path}-journal`) > 0,
    walMode: facts.walMode,
  };
}

interface HeaderFacts {
  readonly size: number;
  readonly pageSize: number;
  readonly headerPages: number;
  /** The file is shorter than its header says (or not a whole number of pages), with no hot journal to make it whole. */
  readonly truncated: boolean;
  readonly walMode: boolean;
}

/** The header and the size of the file, read through one descriptor: header, size, header again. */
function readHeader(target: BrainDatabase, where: string): HeaderFacts {
  const hint = `fix ${target.configKey} in the config`;
  const header = Buffer.alloc(100);
  const again = Buffer.alloc(100);
  let read = 0;
  let size = 0;
  try {
    const fd = fs.openSync(target.path, 'r');
    try {
      read = fs.readSync(fd, header, 0, 100, 0);
      size = fs.fstatSync(fd).size;
      fs.readSync(fd, again, 0, 100, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DbmError('DB_UNREADABLE', `${where} cannot be read: ${code ?? String(err)}`, {
      hint: 'give the user running db-maintenance read and write access to the file and its directory',
    });
  }
  if (read === 0) throw new DbmError('DB_NOT_SQLITE', `${where} is an empty file, not a SQLite database`, { hint });
  if (read < 100 || !header.subarray(0, 16).equals(MAGIC)) {
    throw new DbmError('DB_NOT_SQLITE', `${where} is not a SQLite database (no SQLite header)`, { hint });
  }
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw new DbmError('DB_CORRUPT', `${where} is corrupt: invalid page size ${rawPageSize} in its header`, {
      hint: 'restore it from a backup',
    });
  }
  const changeCounter = header.readUInt32BE(24);
  const headerPages = header.readUInt32BE(28);
  const validFor = header.readUInt32BE(92);
  // A hot rollback journal (a writer died mid-transaction) holds the pages that make the file whole
  // again: SQLite replays it on the next open, so the file may look short until then.
  const hotJournal = fileSize(`${target.path}-journal`) > 0;
  const short =
    size % pageSize !== 0 || (headerPages > 0 && changeCounter === validFor && size < headerPages * pageSize);
  // A header that changed while the size was read describes another moment: not a finding.
  return {
    size,
    pageSize,
    headerPages,
    truncated: !hotJournal && short && header.equals(again),
    walMode: header[18] === 2 && header[19] === 2,
  };
}

/** Bytes a database takes on disk: the file and its -wal (0 for what does not exist). */
export function onDiskBytes(file: string): number {
  return fileSize(file) + fileSize(`${file}-wal`);
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** Maps an error thrown by better-sqlite3 to a DbmError about `target`. */
export function sqliteError(target: BrainDatabase, err: unknown, doing: string): DbmError {
  if (err instanceof DbmError) return err;
  const code = String((err as { code?: unknown }).code ?? '');
  const msg = (err as Error).message ?? String(err);
  const where = `database ${target.name} (${target.path})`;
  if (code === 'SQLITE_NOTADB')
    return new DbmError('DB_NOT_SQLITE', `${where} is not a SQLite database`, { hint: `fix ${target.configKey}` });
  if (code.startsWith('SQLITE_CORRUPT')) {
    return new DbmError('DB_CORRUPT', `${where} is corrupt (${msg}) while ${doing}`, {
      hint: 'restore it from a backup',
    });
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new DbmError('DB_BUSY', `${where} is locked by another process (still busy after waiting) while ${doing}`, {
      hint: 'try again when the other process is done, or raise assess.busyTimeoutMs',
    });
  }
  if (code === 'SQLITE_READONLY_ROLLBACK') {
    return new DbmError(
      'DB_ERROR',
      `${where} has a hot journal (a writer died mid-transaction): SQLite must roll it back, which writes the database, before it can be read; reading only, this tool leaves it`,
      {
        hint: `let the application open it once, or run a maintenance action on it (e.g. --analyze --db ${target.name}): the rollback restores its last committed state`,
      },
    );
  }
  if (
    code === 'SQLITE_CANTOPEN' ||
    code === 'SQLITE_PERM' ||
    code === 'SQLITE_AUTH' ||
    code.startsWith('SQLITE_READONLY')
  ) {
    return new DbmError('DB_UNREADABLE', `${where} cannot be opened (${msg})`, {
      hint: 'check permissions of the file and its directory',
    });
  }
  return new DbmError('DB_ERROR', `${where}: ${msg} while ${doing}`);
}

/**
 * A connection for assessment that leaves every file as it found it.
 *
 * - When a `-wal` file exists (someone has the database open), a read-only connection:
 *   it uses the existing WAL and never checkpoints.
 * - Otherwise a read-write connection with `query_only`: a read-only connection to a
 *   WAL database at rest would create `-wal`/`-shm` and leave them behind, while a
 *   read-write one removes them again on close (its WAL is empty, so the database
 *   file is not written).
 */
/** A connection that can also run a statement needing a write transaction (FTS5 integrity-check). */
export interface WriteCapable {
  readonly db: Database.Database;
  withWriteTransactionAllowed<T>(fn: (db: Database.Database) => T): T;
  /** Runs `fn` where it may write the connection's temp schema (never the database file). */
  withTempWrites<T>(fn: (db: Database.Database) => T): T;
}

export class ReadConnection implements WriteCapable {
  readonly db: Database.Database;
  private readonly target: BrainDatabase;
  private readonly timeoutMs: number;
  private readonly readonlyMode: boolean;

  constructor(target: BrainDatabase, facts: FileFacts, timeoutMs: number) {
    this.target = target;
    this.timeoutMs = timeoutMs;
    // With a rollback journal beside it, read-only too: a read-write connection (even query_only)
    // would roll a hot journal back, which writes the database; a read-only one refuses instead.
    this.readonlyMode = facts.walExists || facts.journalExists;
    // A WAL database at rest that this user may not write: SQLite would open it read-only and
    // create a -wal and -shm beside it that no reader removes. Reading only, refuse instead.
    if (!facts.walExists && facts.walMode && !writableByUs(target.path)) {
      throw new DbmError(
        'DB_UNREADABLE',
        `database ${target.name} (${target.path}) is in WAL mode and read-only for this user: reading it would leave a -wal and -shm beside it, so it is not read`,
        { hint: 'run db-maintenance as the user that owns the database (or while the application has it open)' },
      );
    }
    try {
      this.db = new Database(target.path, { readonly: this.readonlyMode, fileMustExist: true, timeout: timeoutMs });
    } catch (err) {
      throw sqliteError(target, err, 'opening it');
    }
    try {
      if (!this.readonlyMode) this.db.pragma('query_only = ON');
      // Forces the schema to be read now: not-a-database, corruption and locks surface here.
      this.db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get();
    } catch (err) {
      this.db.close();
      throw sqliteError(target, err, 'reading its schema');
    }
  }

  /**
   * Runs `fn` on a connection that may start a write transaction without writing
   * anything (FTS5's integrity-check is an INSERT that writes nothing).
   */
  withWriteTransactionAllowed<T>(fn: (db: Database.Database) => T): T {
    if (!this.readonlyMode) {
      this.db.pragma('query_only = OFF');
      try {
        return fn(this.db);
      } finally {
        this.db.pragma('query_only = ON');
      }
    }
    // Our read-only connection stays open meanwhile, so this one's close is not the
    // last and never checkpoints or removes the WAL.
    const rw = new Database(this.target.path, { fileMustExist: true, timeout: this.timeoutMs });
    try {
      return fn(rw);
    } finally {
      rw.close();
    }
  }

  withTempWrites<T>(fn: (db: Database.Database) => T): T {
    // A read-only connection writes its temp schema freely; query_only refuses even that.
    if (this.readonlyMode) return fn(this.db);
    this.db.pragma('query_only = OFF');
    try {
      return fn(this.db);
    } finally {
      this.db.pragma('query_only = ON');
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function writableByUs(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
