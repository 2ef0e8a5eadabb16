/** pino, to stderr or to the file named in config: stdout carries results only. */
import fs from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';

export interface LogOptions {
  readonly level: string;
  readonly file: string | undefined;
  readonly verbose: boolean;
  readonly quiet: boolean;
}

export function createLogger(opts: LogOptions): Logger {
  const level = opts.verbose ? 'debug' : opts.quiet ? 'error' : opts.level;
  if (opts.file) fs.mkdirSync(path.dirname(opts.file), { recursive: true });
  const dest = opts.file
    ? pino.destination({ dest: opts.file, sync: true, append: true })
    : pino.destination({ fd: 2, sync: true });
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}

/** For code paths that run before the config (and so the log settings) is known. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
