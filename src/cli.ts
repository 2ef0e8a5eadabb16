/**
 * The command-line program. Flags map to one action (the declared rules of
 * src/commands/rules.ts); every error goes through one funnel that prints a single line on
 * stderr and returns a documented exit code (README "Exit codes"). Each action imports what it
 * needs when it runs.
 */
import { Command, CommanderError, Option } from 'commander';
import type { CliIo, CliOptions } from './commands/context.js';
import { ACTIONS, NO_ACTION, RULES, rulesHelp, type ActionName } from './commands/rules.js';
import type { Assessment } from './report/json.js';
import { DbmError, EXIT, formatError, worstExitCode, type ExitCode } from './errors.js';
import { SCHEDULE_KINDS } from './schedule/entries.js';
import { FAIL_ON_LEVELS, type FailOnLevel } from './task-types.js';

export const EXAMPLES = `
Examples:
  db-maintenance --assess                      health report of the brain named in ./maintenance.config.json
  db-maintenance --assess --db tier1 --json    one database, as JSON
  db-maintenance --assess --deep               also the O(N) checks: quick_check, page waste, full FTS check
  db-maintenance --assess --fail-on high       exit 9 when a critical or high priority task is due (monitoring)
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
  db-maintenance --init-config /srv/brain --dry-run   the config it would write for an existing brain, each guess explained
  db-maintenance --init-config /srv/brain             write /srv/brain/maintenance.config.json (never over an existing one)

Exit codes: 0 ok, 1 internal error, 2 usage or config error, 3 a database or file
cannot be used (missing, not SQLite, corrupt, unreadable), 4 a database stayed locked,
5 another run holds the lock, 6 a task failed (a failed change was restored) or did not
complete, 7 refused by a safety check: free-space preflight or the prune guard (nothing changed),
8 a key conflict (rows left where they were), 9 --assess --fail-on found a task at that priority.
`;

/** Kept in step with package.json by a test (reading package.json would slow every start). */
export const VERSION = '0.1.0';

export function buildProgram(): Command {
  return new Command()
    .name('db-maintenance')
    .description('Keeps the SQLite databases and files of an AI-agent memory store ("brain") healthy.')
    .option('--config <path>', 'config file (default ./maintenance.config.json, or $DB_MAINTENANCE_CONFIG)')
    .option('--db <name>', 'limit to one database of the config (e.g. tier1)')
    .option('--json', 'print results as JSON on stdout (see docs/json-output.md)')
    .option('--quiet', 'errors only: no report on stdout (unless --json), no warnings; for cron')
    .option('--verbose', 'log debug details')
    .option('--assess', 'read-only health report with a prioritized task list')
    .option('--deep', 'with --assess or --run: also run the O(N) checks (quick_check, dbstat, FTS5 integrity-check)')
    .option(
      '--fail-on <level>',
      `with --assess: exit ${EXIT.finding} when a task of this priority or a more urgent one is due (choices: ${FAIL_ON_LEVELS.join(', ')})`,
      parseFailOn,
    )
    .option('--run', 'assess, then run the due maintenance tasks behind backup, verification and restore')
    .option(
      '--dry-run',
      'with --run or an operation flag: show the plan (reasons, SQL, space, time) and change nothing; with --init-config: print the config',
    )
    .option('--vacuum', 'VACUUM (then truncate the WAL), whatever the assessment says')
    .option('--analyze', 'ANALYZE: refresh the query planner statistics')
    .option('--reindex', 'REINDEX every index')
    .option('--rebuild-fts', 'FTS5: rebuild inconsistent indexes, optimize the others')
    .option(
      '--repair-fts-triggers',
      "FTS5: replace an external-content index's wrong sync triggers by FTS5's documented form, then rebuild it",
    )
    .option('--checkpoint', 'WAL checkpoint (TRUNCATE); a busy, partial checkpoint is reported as such')
    .option('--history', 'past runs and their task results from the state database')
    .option(
      '--archive',
      'move conversations older than conversations.archiveAfterDays (except the newest keepNewest) to the archive database',
    )
    .option(
      '--days <n>',
      'with one of --archive, --compress-events, --rotate-logs, --prune-patterns: the age in days instead of the config',
      parseDays,
    )
    .option(
      '--restore-conversation <id>',
      'move one archived conversation (its key) and its child rows back into the live database',
    )
    .option('--compress-events', 'move event lines older than events.compressAfterDays into monthly gzip archives')
    .option('--rotate-logs', 'gzip logs not written for logs.rotateAfterDays, delete expired archives')
    .option('--prune-patterns', 'move low-confidence unused patterns to the pattern archive')
    .option('--force', 'with --prune-patterns: allow pruning more than patterns.maxPruneShare of the table')
    .option(
      '--compact-logs',
      'delete rows of the configured append-only log tables up to what every consumer has read (minus a margin)',
    )
    .option(
      '--enforce-retention',
      'archive, compress events, rotate logs, prune patterns, in that order, under one lock',
    )
    .option(
      '--scheduled',
      'run what is due of the daily, weekly, monthly and compaction lanes (invoke it hourly from cron or a timer)',
    )
    .option(
      '--doctor',
      'check that a scheduled run can work here: runtime, SQLite features, config, paths, lock, disk, last run',
    )
    .option('--metrics-file <path>', 'after the action, write Prometheus textfile metrics to <path> (atomically)')
    .option(
      '--print-schedule <kind>',
      `print a ready hourly --scheduled entry: cron, systemd (service + timer) or windows (Task Scheduler XML) (choices: ${SCHEDULE_KINDS.join(', ')})`,
      parseScheduleKind,
    )
    .option('--init-demo <dir>', 'create a demo brain (and its maintenance.config.json) in <dir>')
    .option(
      '--init-config <dir>',
      'inspect an existing brain in <dir> (read-only) and write <dir>/maintenance.config.json, each guess explained (--dry-run: print it)',
    )
    .addOption(
      new Option('--scale <n>', 'with --init-demo: size factor, 1 = about 5 MB, 240 = about 1 GB')
        .argParser(parseScale)
        .default(1),
    )
    .addOption(
      new Option('--seed <n>', 'with --init-demo: random seed (same seed, same content)')
        .argParser(parseSeed)
        .default(42),
    )
    .option('--fts-drift', 'with --init-demo: make the tier1 FTS index drift from its content')
    .addHelpText('after', `${EXAMPLES}${rulesHelp()}`)
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
      if (err.exitCode === 0) return outputLost(io); // --help, --version
      const first = (commanderOut.trim().split('\n')[0] ?? err.message).replace(/^error:\s*/, '');
      io.stderr(`error: ${first} (see db-maintenance --help)\n`);
      return EXIT.usage;
    }
    return funnel(err, io);
  }
  const opts = program.opts<CliOptions>();
  return runAction(opts, opts.quiet ? quietIo(io, Boolean(opts.json)) : io);
}

async function runAction(opts: CliOptions, io: CliIo): Promise<ExitCode> {
  let code: ExitCode;
  // The assessment of --assess: the metrics file writes its findings instead of assessing again.
  let assessment: Assessment | undefined;
  try {
    if (opts.metricsFile !== undefined) (await import('./commands/metrics.js')).checkMetricsTarget(opts, io);
    // Every action but these needs SQLite: a broken install is one line, not a complaint about each file.
    if (opts.printSchedule === undefined && !opts.doctor) {
      const broken = (await import('./db/open.js')).sqliteUnavailable();
      if (broken) throw broken;
    }
  } catch (err) {
    return funnel(err, io);
  }
  try {
    code = await dispatch(opts, io, (a) => (assessment = a));
  } catch (err) {
    code = funnel(err, io);
  }
  if (opts.metricsFile !== undefined && code !== EXIT.usage) {
    try {
      const { metricsCommand } = await import('./commands/metrics.js');
      await metricsCommand(opts, io, assessment);
    } catch (err) {
      code = worstExitCode([code, funnel(err, io)]);
    }
  }
  code = worstExitCode([code, await outputLost(io)]);
  // Under --quiet the report is not printed: a failure must still be said on stderr.
  if (code !== EXIT.ok && io.quietStderrEmpty?.())
    io.stderr(
      `error: the action finished with exit code ${code} (see README "Exit codes"; db-maintenance --history, or the same command without --quiet, shows what failed)\n`,
    );
  return code;
}

/**
 * `--quiet`: nothing on stdout but a `--json` document, nothing on stderr but errors (the
 * `warning:` lines go); it remembers whether an error was said, for run()'s last word.
 */
function quietIo(io: CliIo, json: boolean): CliIo {
  let said = false;
  return {
    ...io,
    stdout: (t) => {
      if (json) io.stdout(t);
    },
    stderr: (t) => {
      if (t.startsWith('warning:')) return;
      said = true;
      io.stderr(t);
    },
    quietStderrEmpty: () => !said,
  };
}

/** Exit 3 (and one line) when stdout could not take the report: whoever reads it must not take silence for success. */
async function outputLost(io: CliIo): Promise<ExitCode> {
  const err = io.flush ? await io.flush() : null;
  if (!err) return EXIT.ok;
  const why = err.code === 'EPIPE' ? 'its reader closed it (EPIPE)' : (err.code ?? err.message);
  return funnel(
    new DbmError(
      'FILE_UNWRITABLE',
      `the output could not be written to stdout: ${why}; what it did is in the logs and the history`,
      {
        hint: 'read the whole output, or redirect it to a file with room',
      },
    ),
    io,
  );
}

// Value checks, run by commander as it parses: a DbmError goes through the funnel as it is.
function parseDays(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new DbmError('USAGE', `--days must be a positive number of days, not "${value}"`);
  return n;
}

function parseScale(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 100_000) {
    throw new DbmError('USAGE', `--scale must be a positive number (got "${value}")`, {
      hint: 'e.g. --scale 1 for about 5 MB, --scale 240 for about 1 GB',
    });
  }
  return n;
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new DbmError('USAGE', `--seed must be a whole number from 0 to 4294967295 (got "${value}")`);
  return n;
}

function parseFailOn(value: string): FailOnLevel {
  if (!(FAIL_ON_LEVELS as readonly string[]).includes(value))
    throw new DbmError('USAGE', `--fail-on takes one of ${FAIL_ON_LEVELS.join(', ')}, not "${value}"`);
  return value as FailOnLevel;
}

function parseScheduleKind(value: string): string {
  if (!(SCHEDULE_KINDS as readonly string[]).includes(value))
    throw new DbmError('USAGE', `--print-schedule takes one of ${SCHEDULE_KINDS.join(', ')}, not "${value}"`);
  return value;
}

/** The one action the flags name, once the declared rules hold. */
function actionOf(opts: CliOptions): ActionName {
  const given = ACTIONS.filter((a) => a.given(opts));
  if (given.length === 0) throw new DbmError('USAGE', NO_ACTION, { hint: 'see db-maintenance --help' });
  if (given.length > 1)
    throw new DbmError('USAGE', `choose one action, not ${given.map((a) => a.label).join(' and ')}`);
  const broken = RULES.find((r) => r.broken(opts));
  if (broken) throw new DbmError('USAGE', broken.message, broken.hint ? { hint: broken.hint } : {});
  return given[0]!.name;
}

async function dispatch(opts: CliOptions, io: CliIo, produced: (a: Assessment) => void): Promise<ExitCode> {
  switch (actionOf(opts)) {
    case 'doctor':
      return (await import('./commands/doctor.js')).doctorCommand(opts, io);
    case 'print-schedule':
      return (await import('./commands/print-schedule.js')).printScheduleCommand(opts, io);
    case 'scheduled':
      return (await import('./commands/scheduled.js')).scheduledCommand(opts, io);
    case 'retention':
      return (await import('./commands/retention.js')).retentionCommand(opts, io);
    case 'init-demo':
      return (await import('./commands/init-demo.js')).initDemoCommand(opts, io);
    case 'init-config':
      return (await import('./commands/init-config.js')).initConfigCommand(opts, io);
    case 'run':
      return (await import('./commands/run.js')).runCommand(opts, io);
    case 'history':
      return (await import('./commands/history.js')).historyCommand(opts, io);
    case 'assess':
      return (await import('./commands/assess.js')).assessCommand(opts, io, produced);
  }
}

/** The one error funnel: one line on stderr, a documented exit code. */
function funnel(err: unknown, io: CliIo): ExitCode {
  if (err instanceof DbmError) {
    io.stderr(`${formatError(err)}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  io.stderr(
    `error: internal error: ${e?.message ?? String(err)} (please report it; set DB_MAINTENANCE_DEBUG=1 to print its stack trace)\n`,
  );
  if (io.env['DB_MAINTENANCE_DEBUG']) io.stderr(`${e?.stack ?? ''}\n`);
  return EXIT.internal;
}

/**
 * The process's streams. A stdout that cannot take the output (a reader that went away: EPIPE;
 * a full disk or /dev/full: ENOSPC) is an error event of the stream, not a crash: the first one
 * is kept and `run` reports it (one line, exit 3); stderr's own errors are dropped.
 */
function processIo(): CliIo {
  let outError: NodeJS.ErrnoException | null = null;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    outError ??= e;
  });
  process.stderr.on('error', () => undefined);
  return {
    stdout: (t) => {
      if (outError) return;
      try {
        process.stdout.write(t);
      } catch (e) {
        outError ??= e as NodeJS.ErrnoException;
      }
    },
    stderr: (t) => {
      try {
        process.stderr.write(t);
      } catch {
        // nowhere left to say it
      }
    },
    flush: () =>
      new Promise((resolve) => {
        if (outError) return resolve(outError);
        process.stdout.write('', (e) => resolve(outError ?? (e as NodeJS.ErrnoException | null | undefined) ?? null));
      }),
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stdout.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
  };
}
