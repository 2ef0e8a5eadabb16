/** `--metrics-file PATH`, after any action: Prometheus textfile metrics (src/metrics/prometheus.ts). */
import fs from 'node:fs';
import path from 'node:path';
import { isSqliteHead, readHead } from '../db/open.js';
import { DbmError } from '../errors.js';
import { assessParallel } from '../assess/index.js';
import { writeMetricsFile } from '../metrics/prometheus.js';
import type { Assessment } from '../report/json.js';
import { commandContext, type CliIo, type CliOptions } from './context.js';

/**
 * Writes the metrics file. The findings are `assessment`'s (the one `--assess` made), else those
 * of a fresh read-only assessment (default depth, nothing recorded): after `--run` or
 * `--scheduled`, what is still due once the maintenance is done.
 */
export async function metricsCommand(opts: CliOptions, io: CliIo, assessment?: Assessment): Promise<void> {
  const { brain, now, logger } = commandContext(opts, io);
  const file = path.resolve(io.cwd, opts.metricsFile!);
  // Its warnings are the action's own assessment's, already given: only errors are logged again.
  const findings =
    assessment ??
    (await assessParallel({
      brain,
      dbName: opts.db,
      deep: false,
      now,
      logger: logger.child({}, { level: 'error' }),
      record: false,
    }));
  try {
    writeMetricsFile(file, brain, now, findings);
  } catch (err) {
    throw new DbmError(
      'FILE_UNWRITABLE',
      `cannot write the metrics file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        hint: 'check that its directory exists and is writable',
      },
    );
  }
}

/**
 * Before the action runs: the metrics file is replaced by a rename, so what is there now must be
 * a regular file of ours (or nothing): never a device, a symlink, a directory, a database, the
 * event log or the config. A usage error (exit 2), before anything is changed.
 */
export function checkMetricsTarget(opts: CliOptions, io: CliIo): void {
  const file = path.resolve(io.cwd, opts.metricsFile!);
  const refuse = (why: string): never => {
    throw new DbmError('USAGE', `--metrics-file ${file} ${why}`, {
      hint: 'name a file of its own, e.g. /var/lib/node_exporter/textfile/dbm.prom',
    });
  };
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(file);
  } catch {
    st = undefined;
  }
  if (st) {
    if (st.isSymbolicLink()) refuse('is a symlink: writing it would replace the link by a file');
    if (!st.isFile()) refuse(`is ${st.isDirectory() ? 'a directory' : 'a device, FIFO or socket'}, not a regular file`);
    const head = readHead(file, 256);
    if (isSqliteHead(head)) refuse('is an SQLite database: writing it would replace the database');
    if (/\.jsonl?$/i.test(file) || /\.(db|sqlite3?)$/i.test(file))
      refuse('looks like a data file (.json, .jsonl, .db): writing it would replace it');
    // Only ever replace a metrics file (ours, or another Prometheus textfile), or an empty file.
    if (st.size > 0 && !looksLikeMetrics(head))
      refuse('holds something other than Prometheus metrics: writing it would replace that');
  }
  // A directory that is missing or not writable only fails the write itself (exit 3, after the action).
}

/** Whether a file's first bytes look like a Prometheus textfile (# HELP / # TYPE, or a sample line). */
function looksLikeMetrics(head: Buffer | null): boolean {
  const first = head?.toString('utf8').split('\n')[0] ?? '';
  return (
    /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /.test(first) ||
    /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.eE+]+/.test(first)
  );
}
