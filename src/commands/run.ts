/** `--run [--dry-run]`, and the forced operations `--vacuum --analyze --reindex --rebuild-fts --checkpoint`. */
import type { TaskType } from '../assess/types.js';
import type { CliIo, CliOptions } from '../cli.js';
import { configPathFrom, loadConfig, selectDatabases } from '../config/load.js';
import type { ExitCode } from '../errors.js';
import { createLogger } from '../log.js';
import { FORCED_FLAGS, runExitCode, runMaintenance } from '../maintenance/executor.js';
import { terminalProgress } from '../report/progress.js';
import { formatRun } from '../report/run-report.js';
import { nowFrom } from '../util/time.js';

export function forcedFrom(opts: CliOptions): TaskType[] {
  const out: TaskType[] = [];
  if (opts.vacuum) out.push(FORCED_FLAGS['--vacuum']!);
  if (opts.analyze) out.push(FORCED_FLAGS['--analyze']!);
  if (opts.reindex) out.push(FORCED_FLAGS['--reindex']!);
  if (opts.rebuildFts) out.push(FORCED_FLAGS['--rebuild-fts']!);
  if (opts.checkpoint) out.push(FORCED_FLAGS['--checkpoint']!);
  return out;
}

export async function runCommand(opts: CliOptions, io: CliIo): Promise<ExitCode> {
  const rc = loadConfig(configPathFrom(opts.config, io.env, io.cwd));
  selectDatabases(rc, opts.db); // an unknown --db is a usage error before anything else
  const logger = createLogger({ level: rc.config.logging.level, file: rc.logFile, verbose: Boolean(opts.verbose), quiet: Boolean(opts.quiet) });
  const report = await runMaintenance({
    rc,
    dbName: opts.db,
    dryRun: Boolean(opts.dryRun),
    forced: forcedFrom(opts),
    deep: Boolean(opts.deep),
    now: nowFrom(io.env),
    logger,
    env: io.env,
    ...(io.stderrIsTTY && !opts.dryRun ? { progress: terminalProgress() } : {}),
  });
  io.stdout(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatRun(report));
  for (const p of report.problems) io.stderr(`${p.message}\n`);
  const failed = report.results.filter((r) => r.status === 'failed' || r.status === 'partial' || r.status === 'refused');
  for (const f of failed) io.stderr(`error: ${f.type} on ${f.database} ${f.status}: ${f.message}\n`);
  return runExitCode(report);
}
