/** pino, to stderr or to the file named in config: stdout carries results only. */
import fs from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { DbmError } from './errors.js';

export interface LogOptions {
  readonly level: string;
  readonly file: string | undefined;
  readonly verbose: boolean;
  readonly quiet: boolean;
}

export function createLogger(opts: LogOptions): Logger {
  const level = opts.verbose ? 'debug' : opts.quiet ? 'error' : opts.level;
  if (opts.file) openableLogFile(opts.file);
  const dest = opts.file
    ? pino.destination({ dest: opts.file, sync: true, append: true })
    : pino.destination({ fd: 2, sync: true });
  // A log that can no longer be written (a full disk) never stops the run it describes.
  dest.on('error', () => undefined);
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}

/**
 * logging.file must be a regular file (or not exist yet) in a directory that exists or can be
 * made: a config error (exit 2) otherwise. Missing directories are made one level at a time
 * (a recursive mkdir under /proc never returns), at most 32 levels.
 */
function openableLogFile(file: string): void {
  const fail = (why: string): never => {
    throw new DbmError('CONFIG_INVALID', `logging.file ${file} ${why}`, {
      hint: 'point logging.file at a regular file in a writable directory, or remove it to log to stderr',
    });
  };
  const missing: string[] = [];
  let dir = path.dirname(file);
  for (;;) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') fail(`cannot be used: ${dir}: ${code ?? (err as Error).message}`);
    }
    if (st) {
      if (!st.isDirectory()) fail(`cannot be created: ${dir} is not a directory`);
      break;
    }
    missing.unshift(dir);
    if (missing.length > 32 || path.dirname(dir) === dir) fail('cannot be created: no existing directory above it');
    dir = path.dirname(dir);
  }
  if (/^\/(proc|sys|dev)(\/|$)/.test(path.resolve(file)) && !fs.existsSync(file))
    fail('is under a kernel file system (/proc, /sys, /dev)');
  for (const d of missing) {
    try {
      fs.mkdirSync(d);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') fail(`cannot be created: mkdir ${d}: ${code ?? (err as Error).message}`);
    }
  }
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file);
  } catch {
    st = undefined;
  }
  if (st && !st.isFile())
    fail(`is ${st.isDirectory() ? 'a directory' : 'a device, FIFO or socket'}, not a regular file`);
  try {
    fs.closeSync(fs.openSync(file, 'a'));
  } catch (err) {
    fail(`cannot be opened for writing: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** For code paths that run before the config (and so the log settings) is known. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
