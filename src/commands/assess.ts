/** `--assess [--db NAME] [--deep] [--json]`: flags -> assess (in parallel for a fleet) -> report. */
import { assessmentExitCode, assessParallel } from '../assess/index.js';
import type { CliIo, CliOptions } from '../cli.js';
import { configPathFrom, loadConfig } from '../config/load.js';
import type { ExitCode } from '../errors.js';
import { createLogger } from '../log.js';
import { formatAssessment } from '../report/assess-report.js';
import { nowFrom } from '../util/time.js';

export async function assessCommand(opts: CliOptions, io: CliIo): Promise<ExitCode> {
  const rc = loadConfig(configPathFrom(opts.config, io.env, io.cwd));
  const logger = createLogger({
    level: rc.config.logging.level,
    file: rc.logFile,
    verbose: Boolean(opts.verbose),
    quiet: Boolean(opts.quiet),
  });
  const assessment = await assessParallel({ rc, dbName: opts.db, deep: Boolean(opts.deep), now: nowFrom(io.env), logger });
  io.stdout(opts.json ? `${JSON.stringify(assessment, null, 2)}\n` : formatAssessment(assessment));
  for (const p of assessment.problems) io.stderr(`${p.message}\n`);
  return assessmentExitCode(assessment);
}
