/**
 * The command-line program. Flags map to one action; every error goes through one funnel
 * that prints a single line on stderr and returns a documented exit code (README "Exit codes").
 * Only commander is loaded up front: each action imports what it needs, so `--help` is fast.
 */
import { Command, CommanderError, Option } from 'commander';
import { DbmError, EXIT, formatError, worstExitCode, type ExitCode } from './errors.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly isTTY: boolean;
  readonly stderrIsTTY: boolean;
}

export interface CliOptions {
  config?: string;
  db?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  assess?: boolean;
  deep?: boolean;
  run?: boolean;
  dryRun?: boolean;
  vacuum?: boolean;
  analyze?: boolean;
  reindex?: boolean;
  rebuildFts?: boolean;
  checkpoint?: boolean;
  history?: boolean;
  archive?: boolean;
  days?: string;
  restoreConversation?: string;
  compressEvents?: boolean;
  rotateLogs?: boolean;
  prunePatterns?: boolean;
  force?: boolean;
  enforceRetention?: boolean;
  scheduled?: boolean;
  printSchedule?: string;
  metricsFile?: string;
  doctor?: boolean;
  compactLogs?: boolean;
  initDemo?: string;
  scale?: string;
  seed?: string;
  ftsDrift?: boolean;
}

export const EXAMPLES = `
Examples:
  db-maintenance --assess                      health report of the brain named in ./maintenance.config.json
  db-maintenance --assess --db tier1 --json    one database, as JSON
  db-maintenance --assess --deep               also the O(N) checks: quick_check, page waste, full FTS check
  db-maintenance --config /etc/brain.json --assess
  db-maintenance --run --dry-run                the plan: each task, its reason, its SQL; changes nothing
  db-maintenance --run                          do it: backup, operation, verification, restore on failure
  db-maintenance --vacuum --analyze --db tier1  forced operations on one database
  db-maintenance --history --json               past runs
  db-maintenance --scheduled                    hourly from cron: the daily, weekly and monthly lanes when due
  db-maintenance --print-schedule systemd       a systemd service + timer running --scheduled hourly
  db-maintenance --doctor                       can a scheduled run work here? (exit non-zero if not)
  db-maintenance --scheduled --metrics-file /var/lib/node_exporter/textfile/dbm.prom
  db-maintenance --enforce-retention --dry-run  what retention would move: exact counts and files
  db-maintenance --enforce-retention            archive, compress events, rotate logs, prune patterns (cron)
  db-maintenance --compact-logs --dry-run       what watermark-bounded compaction of the log tables would delete
  db-maintenance --archive --days 60            conversations older than 60 days to the archive database
  db-maintenance --restore-conversation 42      bring conversation 42 back from the archive
  db-maintenance --compress-events --days 14    event lines older than 14 days into monthly .gz archives
  db-maintenance --rotate-logs                  gzip logs not written for logs.rotateAfterDays
  db-maintenance --prune-patterns --force       prune even more than patterns.maxPruneShare of the table
  db-maintenance --init-demo ./demo-brain --scale 1 --seed 42 --fts-drift

Exit codes: 0 ok, 1 internal error, 2 usage or config error, 3 a database or file
cannot be used (missing, not SQLite, corrupt, unreadable), 4 a database stayed locked,
5 another run holds the lock, 6 a task failed (a failed change was restored) or did not
complete, 7 refused by a safety check: free-space preflight or the prune guard (nothing changed).
`;

/** Kept in step with package.json by a test (reading package.json would slow every start). */
export const VERSION = '0.1.0';

export function buildProgram(): Command {
  return new Command()
    .name('db-maintenance')
    .description('Keeps the SQLite databases and files of an AI-agent memory store ("brain") healthy.')
    .option('--config <path>', 'config file (default ./maintenance.config.json, or $DB_MAINTENANCE_CONFIG)')
    .option('--db <name>', 'limit to one database of the config (e.g. tier1)')
    .option('--json', 'print results as JSON on stdout (see README "JSON output")')
    .option('--quiet', 'log errors only')
    .option('--verbose', 'log debug details')
    .option('--assess', 'read-only health report with a prioritized task list')
    .option('--deep', 'with --assess or --run: also run the O(N) checks (quick_check, dbstat, FTS5 integrity-check)')
    .option('--run', 'assess, then run the due maintenance tasks behind backup, verification and restore')
    .option('--dry-run', 'with --run or an operation flag: show the plan (reasons, SQL, space, time) and change nothing')
    .option('--vacuum', 'VACUUM (then truncate the WAL), whatever the assessment says')
    .option('--analyze', 'ANALYZE: refresh the query planner statistics')
    .option('--reindex', 'REINDEX every index')
    .option('--rebuild-fts', 'FTS5: rebuild inconsistent indexes, optimize the others')
    .option('--checkpoint', 'WAL checkpoint (TRUNCATE); a busy, partial checkpoint is reported as such')
    .option('--history', 'past runs and their task results from the state database')
    .option('--archive', 'move conversations older than conversations.archiveAfterDays (except the newest keepNewest) to the archive database')
    .option('--days <n>', 'with one of --archive, --compress-events, --rotate-logs, --prune-patterns: the age in days instead of the config')
    .option('--restore-conversation <id>', 'move one archived conversation (its key) and its child rows back into the live database')
    .option('--compress-events', 'move event lines older than events.compressAfterDays into monthly gzip archives')
    .option('--rotate-logs', 'gzip logs not written for logs.rotateAfterDays, delete expired archives')
    .option('--prune-patterns', 'move low-confidence unused patterns to the pattern archive')
    .option('--force', 'with --prune-patterns: allow pruning more than patterns.maxPruneShare of the table')
    .option('--compact-logs', 'delete rows of the configured append-only log tables up to what every consumer has read (minus a margin)')
    .option('--enforce-retention', 'archive, compress events, rotate logs, prune patterns, in that order, under one lock')
    .option('--scheduled', 'run what is due of the daily, weekly and monthly lanes (invoke it hourly from cron or a timer)')
    .option('--doctor', 'check that a scheduled run can work here: runtime, SQLite features, config, paths, lock, disk, last run')
    .option('--metrics-file <path>', 'after the action, write Prometheus textfile metrics to <path> (atomically)')
    .option('--print-schedule <kind>', 'print a ready hourly --scheduled entry: cron, systemd (service + timer) or windows (schtasks)')
    .option('--init-demo <dir>', 'create a demo brain (and its maintenance.config.json) in <dir>')
    .addOption(new Option('--scale <n>', 'with --init-demo: size factor, 1 = about 5 MB, 240 = about 1 GB').default('1'))
    .addOption(new Option('--seed <n>', 'with --init-demo: random seed (same seed, same content)').default('42'))
    .option('--fts-drift', 'with --init-demo: make the tier1 FTS index drift from its content')
    .addHelpText('after', EXAMPLES)
    .helpOption('-h, --help', 'show this help')
    .version(VERSION, '-V, --version', 'print the version')
    .allowExcessArguments(false);
}


/** Runs the CLI; returns the exit code. Never throws. */
export async function run(argv: readonly string[], io: CliIo = processIo()): Promise<ExitCode> {
  const program = buildProgram();
  let commanderOut = '';
  program.exitOverride().configureOutput({
    writeOut: (s) => io.stdout(s),
    writeErr: (s) => {
      commanderOut += s;
    },
  });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT.ok; // --help, --version
      const first = (commanderOut.trim().split('\n')[0] ?? err.message).replace(/^error:\s*/, '');
      io.stderr(`error: ${first} (see db-maintenance --help)\n`);
      return EXIT.usage;
    }
    return funnel(err, io);
  }
  const opts = program.opts<CliOptions>();
  let code: ExitCode;
  try {
    code = await dispatch(opts, io);
  } catch (err) {
    code = funnel(err, io);
  }
  if (opts.metricsFile !== undefined && code !== EXIT.usage) {
    try {
      const { metricsCommand } = await import('./commands/metrics.js');
      metricsCommand(opts, io);
    } catch (err) {
      code = worstExitCode([code, funnel(err, io)]);
    }
  }
  return code;
}

async function dispatch(opts: CliOptions, io: CliIo): Promise<ExitCode> {
  const operation = Boolean(opts.run || opts.vacuum || opts.analyze || opts.reindex || opts.rebuildFts || opts.checkpoint);
  const retention = Boolean(
    opts.archive || opts.compressEvents || opts.rotateLogs || opts.prunePatterns || opts.enforceRetention || opts.compactLogs || opts.restoreConversation !== undefined,
  );
  const actions = [
    opts.assess && '--assess',
    operation && '--run',
    retention && 'a retention action',
    opts.scheduled && '--scheduled',
    opts.printSchedule !== undefined && '--print-schedule',
    opts.doctor && '--doctor',
    opts.history && '--history',
    opts.initDemo !== undefined && '--init-demo',
  ].filter(Boolean);
  if (actions.length === 0) {
    throw new DbmError('USAGE', 'no action given: pass --assess, --run, an operation (--vacuum ...), a retention action (--enforce-retention ...), --history or --init-demo DIR', {
      hint: 'see db-maintenance --help',
    });
  }
  if (actions.length > 1) throw new DbmError('USAGE', `choose one action, not ${actions.join(' and ')}`);
  if (opts.deep && !(opts.assess || operation)) throw new DbmError('USAGE', '--deep goes with --assess or --run');
  if (opts.dryRun && !(operation || retention || opts.scheduled)) throw new DbmError('USAGE', '--dry-run goes with --run, an operation flag (--vacuum ...), a retention action or --scheduled');
  if (opts.days !== undefined && !retention) throw new DbmError('USAGE', '--days goes with --archive, --compress-events, --rotate-logs or --prune-patterns');
  if (opts.force && !(opts.prunePatterns || opts.enforceRetention)) throw new DbmError('USAGE', '--force goes with --prune-patterns or --enforce-retention');
  if (opts.restoreConversation !== undefined && (opts.archive || opts.compressEvents || opts.rotateLogs || opts.prunePatterns || opts.enforceRetention || opts.compactLogs)) {
    throw new DbmError('USAGE', '--restore-conversation goes alone (with --dry-run at most)');
  }
  if (opts.db !== undefined && retention) throw new DbmError('USAGE', '--db does not go with retention actions: their databases come from the config (conversations.database, patterns.database)');
  if (opts.metricsFile !== undefined && (opts.initDemo !== undefined || opts.printSchedule !== undefined || opts.doctor)) {
    throw new DbmError('USAGE', '--metrics-file goes with --assess, --run, the operations, the retention actions, --scheduled or --history');
  }
  if (opts.doctor) {
    const { doctorCommand } = await import('./commands/doctor.js');
    return doctorCommand(opts, io);
  }
  if (opts.printSchedule !== undefined) {
    const { printScheduleCommand } = await import('./commands/print-schedule.js');
    return printScheduleCommand(opts, io);
  }
  if (opts.scheduled) {
    if (opts.db !== undefined) throw new DbmError('USAGE', '--db does not go with --scheduled: it maintains the whole brain');
    const { scheduledCommand } = await import('./commands/scheduled.js');
    return scheduledCommand(opts, io);
  }
  if (retention) {
    const { retentionCommand } = await import('./commands/retention.js');
    return retentionCommand(opts, io);
  }
  if (opts.initDemo !== undefined) {
    const { initDemoCommand } = await import('./commands/init-demo.js');
    return initDemoCommand(opts, io);
  }
  if (operation) {
    const { runCommand } = await import('./commands/run.js');
    return runCommand(opts, io);
  }
  if (opts.history) {
    const { historyCommand } = await import('./commands/history.js');
    return historyCommand(opts, io);
  }
  const { assessCommand } = await import('./commands/assess.js');
  return assessCommand(opts, io);
}

/** The one error funnel: one line on stderr, a documented exit code. */
function funnel(err: unknown, io: CliIo): ExitCode {
  if (err instanceof DbmError) {
    io.stderr(`${formatError(err)}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  io.stderr(`error: internal error: ${e?.message ?? String(err)} (please report it; run with --verbose for details)\n`);
  if (io.env['DB_MAINTENANCE_DEBUG']) io.stderr(`${e?.stack ?? ''}\n`);
  return EXIT.internal;
}

function processIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stdout.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
  };
}
