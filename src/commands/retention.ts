/**
 * The retention commands: `--archive`, `--compress-events`, `--rotate-logs`, `--prune-patterns`,
 * `--compact-logs` (any combination), `--enforce-retention` (the four, in order),
 * `--restore-conversation ID`; each with `--dry-run`. Real runs hold the run lock (one run of
 * any kind at a time), run the items in order (src/retention/engine.ts), record them in the
 * state database and exit with the worst item's code.
 */
import type { RetentionRequest } from '../archival/types.js';
import type { ExitCode } from '../errors.js';
import { acquireRunLock, recordRun } from '../maintenance/safety-net.js';
import { formatRetention } from '../report/retention-report.js';
import { retentionWork, runRetention } from '../retention/engine.js';
import { ENFORCED_RETENTION, RETENTION_TYPES, TASKS } from '../tasks.js';
import type { TaskType } from '../task-types.js';
import { commandContext, printFailures, progressFor, type CliIo, type CliOptions } from './context.js';
import { flagGiven } from './rules.js';

/** The retention task types the flags select, in the order they run (a restore goes alone). */
export function selectedRetention(opts: CliOptions): TaskType[] {
  if (opts.restoreConversation !== undefined) return ['RESTORE_CONVERSATION'];
  if (opts.enforceRetention) return [...ENFORCED_RETENTION, ...(opts.compactLogs ? (['COMPACT_LOG'] as const) : [])];
  return RETENTION_TYPES.filter((t) => flagGiven(opts, TASKS[t].flag!));
}

export async function retentionCommand(opts: CliOptions, io: CliIo): Promise<ExitCode> {
  const { brain, logger, now, print } = commandContext(opts, io);
  const types = selectedRetention(opts);
  const req: RetentionRequest = {
    brain,
    now,
    dryRun: Boolean(opts.dryRun),
    days: opts.days,
    force: Boolean(opts.force),
    logger,
    env: io.env,
    progress: progressFor(opts, io),
  };
  const command = opts.enforceRetention ? '--enforce-retention' : types.map((t) => TASKS[t].flag).join(' ');
  const lock = acquireRunLock({ brain, command, now, dryRun: req.dryRun });
  try {
    const { report, exitCode } = await runRetention(
      req,
      retentionWork(req, types, {
        restoreId: opts.restoreConversation,
        unmanaged: opts.enforceRetention ? 'skip' : 'error',
      }),
    );
    if (!req.dryRun) recordRun({ brain, command, now, logger }, exitCode, report.items, []);
    print(report, formatRetention);
    printFailures(io, { retention: report.items });
    return exitCode;
  } finally {
    lock?.release();
  }
}
