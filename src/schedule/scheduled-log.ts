/**
 * `<stateDir>/scheduled.log`, where the printed cron entry appends what `--scheduled --quiet`
 * says (errors only: one line each), is rotated by the tool itself: at the start of every
 * `--scheduled` run, under the run lock, once it is larger than 1 MiB it is renamed to
 * `scheduled.log.1` (replacing the previous generation). One generation, not compressed.
 *
 * Why a rename at the start: cron's shell opened the log (`>> scheduled.log`) before the tool
 * started, so the output of this run goes on into the renamed file, `.1`, and the next run's
 * shell makes a new `scheduled.log`. Nothing is lost: the old inode keeps every line and is
 * kept until the next rotation (another 1 MiB of errors later). Compressing `.1` would lose
 * this run's lines (still being written to it), and copy-then-truncate would lose what is
 * written between the copy and the truncation; both are wrong for a file held open.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { renameRetrying, type RenameOptions } from '../util/platform.js';

export const SCHEDULED_LOG = 'scheduled.log';
/** The size over which the log is rotated. */
export const SCHEDULED_LOG_MAX_BYTES = 1024 * 1024;

export type LogRotation =
  | { readonly status: 'small' | 'absent' }
  | { readonly status: 'rotated'; readonly bytes: number; readonly to: string }
  | { readonly status: 'failed'; readonly message: string };

/** Rotates `<stateDir>/scheduled.log` when it exceeds `maxBytes`; never throws (a log never stops the run). */
export function rotateScheduledLog(
  stateDir: string,
  opts: RenameOptions & { readonly maxBytes?: number; readonly logger?: Logger } = {},
): LogRotation {
  const file = path.join(stateDir, SCHEDULED_LOG);
  let size: number;
  try {
    const st = fs.lstatSync(file);
    if (!st.isFile()) return { status: 'absent' }; // a symlink or FIFO someone set up: theirs to manage
    size = st.size;
  } catch {
    return { status: 'absent' };
  }
  if (size <= (opts.maxBytes ?? SCHEDULED_LOG_MAX_BYTES)) return { status: 'small' };
  const to = `${file}.1`;
  try {
    renameRetrying(file, to, opts);
  } catch (err) {
    // On Windows a log held open by cmd.exe's redirection cannot be renamed: it grows until a run finds it free.
    const message = `${file} could not be rotated: ${(err as Error).message}`;
    opts.logger?.warn({ file }, message);
    return { status: 'failed', message };
  }
  opts.logger?.info({ file, to, bytes: size }, 'scheduled.log rotated');
  return { status: 'rotated', bytes: size, to };
}
