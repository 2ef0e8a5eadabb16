/** `--scheduled [--dry-run]`: the lanes that are due (src/schedule/scheduled.ts), their report and failure lines. */
import type { ExitCode } from '../errors.js';
import { formatScheduled } from '../report/scheduled-report.js';
import { runScheduled } from '../schedule/scheduled.js';
import { commandContext, printFailures, type CliIo, type CliOptions } from './context.js';

export async function scheduledCommand(opts: CliOptions, io: CliIo): Promise<ExitCode> {
  const { brain, logger, now, print } = commandContext(opts, io);
  const { report, exitCode } = await runScheduled({
    brain,
    now,
    dryRun: Boolean(opts.dryRun),
    logger,
    env: io.env,
    command: '--scheduled',
  });
  print(report, formatScheduled);
  for (const l of report.lanes) {
    if (l.retention) printFailures(io, { retention: l.retention.items });
    if (l.maintenance) printFailures(io, { problems: l.maintenance.problems, maintenance: l.maintenance.results });
  }
  return exitCode;
}
