/** `--run [--dry-run]`, and the requested operations `--vacuum --analyze --reindex --rebuild-fts --checkpoint`. */
import { selectDatabases } from '../config/select.js';
import type { ExitCode } from '../errors.js';
import { runExitCode, runMaintenance } from '../maintenance/executor.js';
import { formatRun } from '../report/run-report.js';
import { REQUESTABLE_OPERATIONS, TASKS } from '../tasks.js';
import type { TaskType } from '../task-types.js';
import { commandContext, printFailures, progressFor, type CliIo, type CliOptions } from './context.js';
import { flagGiven } from './rules.js';

/** The operations the flags request, in registry order (none: --run, the planned tasks). */
export function requestedBy(opts: CliOptions): TaskType[] {
  return REQUESTABLE_OPERATIONS.filter((t) => flagGiven(opts, TASKS[t].flag!));
}

export async function runCommand(opts: CliOptions, io: CliIo): Promise<ExitCode> {
  const { brain, logger, now, print } = commandContext(opts, io);
  selectDatabases(brain, opts.db); // an unknown --db is a usage error before anything else
  const requested = requestedBy(opts);
  const report = await runMaintenance({
    brain,
    command: requested.length ? requested.map((t) => TASKS[t].flag).join(' ') : '--run',
    dbName: opts.db,
    dryRun: Boolean(opts.dryRun),
    requested,
    deep: Boolean(opts.deep),
    now,
    logger,
    env: io.env,
    progress: progressFor(opts, io),
  });
  print(report, formatRun);
  printFailures(io, { problems: report.problems, maintenance: report.results });
  return runExitCode(report);
}
