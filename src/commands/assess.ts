/** `--assess [--db NAME] [--deep] [--fail-on LEVEL] [--json]`: flags -> assess (in parallel for a fleet) -> report. */
import { assessmentExitCode, assessParallel, failOnFindings } from '../assess/index.js';
import { EXIT, type ExitCode } from '../errors.js';
import type { Assessment } from '../report/json.js';
import { formatAssessment } from '../report/assess-report.js';
import { commandContext, printFailures, progressFor, type CliIo, type CliOptions } from './context.js';

/** `produced` receives the assessment (the metrics file writes its findings instead of assessing again). */
export async function assessCommand(
  opts: CliOptions,
  io: CliIo,
  produced?: (a: Assessment) => void,
): Promise<ExitCode> {
  const { brain, logger, now, print } = commandContext(opts, io);
  const assessed = await assessParallel({
    brain,
    dbName: opts.db,
    deep: Boolean(opts.deep),
    now,
    logger,
    progress: progressFor(opts, io),
  });
  const failOn = opts.failOn === undefined ? undefined : failOnFindings(assessed, opts.failOn);
  const assessment: Assessment = failOn ? { ...assessed, failOn } : assessed;
  produced?.(assessment);
  print(assessment, formatAssessment);
  printFailures(io, { problems: assessment.problems });
  const code = assessmentExitCode(assessment);
  // A problem (a database that could not be read ...) is the worse news: its code wins.
  if (code !== EXIT.ok || !failOn || failOn.tasks.length === 0) return code;
  const shown = failOn.tasks.slice(0, 3).join(', ');
  const more = failOn.tasks.length > 3 ? ` and ${failOn.tasks.length - 3} more` : '';
  io.stderr(
    `error: the assessment found ${failOn.tasks.length} ${failOn.tasks.length === 1 ? 'task' : 'tasks'} of priority ${failOn.level} or more urgent: ${shown}${more} (run db-maintenance --run to do them; the report lists why each is due)\n`,
  );
  return EXIT.finding;
}
