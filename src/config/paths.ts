/**
 * Every place a config makes the tool write, checked against every other before anything runs:
 * archives, the state database, backups, logs and their rotation, the event log and its
 * archives never overlap a configured database or each other. A config typo made as root must
 * never cost data: such a config is a config error (exit 2) naming both keys.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DbmError } from '../errors.js';
import { hasExtension } from '../util/platform.js';
import type { Config } from './schema.js';

/** A file the config names, by the key that names it. */
interface Place {
  readonly key: string;
  readonly file: string;
  /** What the tool does to it: a database it maintains, a file it writes, one it reads and rewrites. */
  readonly role: 'database' | 'archive' | 'state' | 'events' | 'log' | 'config';
}

/** The same file, by name or through a symlink (realpath of the file, else of its directory). */
function canonical(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    try {
      return path.join(fs.realpathSync(path.dirname(file)), path.basename(file));
    } catch {
      return path.resolve(file);
    }
  }
}

export interface PathsInput {
  readonly configPath: string;
  readonly config: Config;
  readonly databases: ReadonlyArray<{ readonly name: string; readonly path: string; readonly configKey: string }>;
  readonly stateDir: string;
  readonly eventsPath: string | undefined;
  readonly logsDir: string | undefined;
  readonly logFile: string | undefined;
  readonly backupDir: string;
  /** Absolute archive paths of the two rules (defaults applied). */
  readonly conversationsArchive: string | undefined;
  readonly patternsArchive: string | undefined;
  readonly eventsArchiveDir: string | undefined;
}

const SQLITE_SUFFIXES = ['', '-wal', '-shm', '-journal'];

/** Throws CONFIG_INVALID when two configured places are one file, or rotation would take a database. */
export function checkPaths(p: PathsInput): void {
  // Each file is resolved once: the same ones are compared against several rules below.
  const resolved = new Map<string, string>();
  const canon = (file: string): string => {
    let c = resolved.get(file);
    if (c === undefined) resolved.set(file, (c = canonical(file)));
    return c;
  };
  const fail = (message: string, hint: string): never => {
    throw new DbmError('CONFIG_INVALID', `config ${p.configPath}: ${message}`, { hint });
  };
  const places: Place[] = [
    ...p.databases.map((d) => ({ key: d.configKey, file: d.path, role: 'database' as const })),
    ...(p.conversationsArchive
      ? [{ key: 'conversations.archivePath', file: p.conversationsArchive, role: 'archive' as const }]
      : []),
    ...(p.patternsArchive ? [{ key: 'patterns.archivePath', file: p.patternsArchive, role: 'archive' as const }] : []),
    { key: 'stateDir', file: path.join(p.stateDir, 'state.db'), role: 'state' },
    ...(p.eventsPath ? [{ key: 'events.path', file: p.eventsPath, role: 'events' as const }] : []),
    { key: '--config', file: p.configPath, role: 'config' },
    ...(p.logFile ? [{ key: 'logging.file', file: p.logFile, role: 'log' as const }] : []),
  ];
  // One file, two roles: the second would write into (or over) the first.
  const seen = new Map<string, Place>();
  for (const place of places) {
    for (const suffix of place.role === 'database' || place.role === 'archive' || place.role === 'state'
      ? SQLITE_SUFFIXES
      : ['']) {
      const c = canon(place.file + suffix);
      const other = seen.get(c);
      if (other && !(other.role === 'database' && place.role === 'database')) {
        fail(
          `${place.key} and ${other.key} name the same file (${place.file + suffix})`,
          `give ${place.key} a file of its own: the tool would write ${describe(place.role)} into ${describe(other.role)}`,
        );
      }
      if (!other) seen.set(c, place);
    }
  }
  // An archive must be a database file (or not exist yet): never a device, a directory or a FIFO.
  for (const place of places) {
    if (place.role !== 'archive' && place.role !== 'log') continue;
    let st: fs.Stats;
    try {
      st = fs.statSync(place.file);
    } catch {
      continue;
    }
    if (!st.isFile())
      fail(
        `${place.key} (${place.file}) is ${kindOf(st)}, not a regular file`,
        `point ${place.key} at a file (it is created when missing)`,
      );
  }
  // Directories the tool writes into (or reads a listing of): a file in their place is a typo.
  for (const [key, dir] of [
    ['stateDir', p.stateDir],
    ['maintenance.backupDir', p.backupDir],
    ['events.archiveDir', p.eventsArchiveDir],
    ['logs.dir', p.logsDir],
  ] as const) {
    if (dir === undefined) continue;
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR')
        fail(`${key} (${dir}) is below a file, not a directory`, `point ${key} at a directory`);
    }
    if (st && !st.isDirectory())
      fail(
        `${key} (${dir}) is ${kindOf(st)}, not a directory`,
        `point ${key} at a directory (it is created when missing)`,
      );
  }
  // Backups (and their pruning by name) live apart from the databases they copy.
  const backups = canon(p.backupDir);
  for (const d of p.databases) {
    if (path.dirname(canon(d.path)) === backups)
      fail(
        `maintenance.backupDir is the directory of ${d.configKey} (${path.dirname(d.path)})`,
        'give the backups a directory of their own (the default is <stateDir>/backups)',
      );
  }
  if (p.config.logs && p.logsDir) checkLogsRule(p.config.logs.extension, canon(p.logsDir), places, canon, fail);
}

/** Log rotation gzips and removes every file in logs.dir ending with logs.extension: never one the tool needs. */
function checkLogsRule(
  ext: string,
  logsDir: string,
  places: readonly Place[],
  canon: (file: string) => string,
  fail: (message: string, hint: string) => never,
): void {
  if (/\.(gz|tmp)$/i.test(ext))
    fail(
      `logs.extension "${ext}" would match the tool's own archives (.gz): every run would compress them again`,
      'use the extension of the application logs, e.g. ".log"',
    );
  if (/^\.?(db|sqlite3?|db3|s3db|sl3)$/i.test(ext) || /-(wal|shm|journal)$/i.test(ext))
    fail(
      `logs.extension "${ext}" is a database extension: rotation would gzip and remove databases`,
      'use the extension of the application logs, e.g. ".log"',
    );
  for (const place of places) {
    if (place.role === 'log') continue;
    for (const suffix of place.role === 'events' ? [''] : SQLITE_SUFFIXES) {
      const f = canon(place.file + suffix);
      if (path.dirname(f) === logsDir && hasExtension(path.basename(f), ext) && !path.basename(f).startsWith('.'))
        fail(
          `logs.dir with logs.extension "${ext}" takes ${place.key} (${place.file + suffix}): --rotate-logs would gzip and remove it`,
          `move the logs to a directory of their own or change logs.extension`,
        );
    }
  }
}

function describe(role: Place['role']): string {
  return {
    database: 'a database it maintains',
    archive: 'an archive database',
    state: 'its state database',
    events: 'the event log',
    log: 'its own log',
    config: 'its config',
  }[role];
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}
