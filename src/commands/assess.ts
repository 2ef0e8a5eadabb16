/** `--assess [--db NAME] [--deep] [--json]`: flags -> assess (in parallel for a fleet) -> report. */
import { assessmentExitCode, assessParallel } from '../assess/index.js';
import type { ExitCode } from '../errors.js';
import { formatAssessment } from '../report/assess-report.js';
import { commandContext, printFailures, progressFor, type CliIo, type CliOptions } from './context.js';

export async function assessCommand(opts: CliOptions, io: CliIo): Promise<ExitCode> {
  const { brain, logger, now, print } = commandContext(opts, io);
  const assessment = await assessParallel({
    brain,
    dbName: opts.db,
    deep: Boolean(opts.deep),
    now,
    logger,
    progress: progressFor(opts, io),
  });
  print(assessment, formatAssessment);
  printFailures(io, { problems: assessment.problems });
  return assessmentExitCode(assessment);
}
