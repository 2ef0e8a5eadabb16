/**
 * The CLI layer's own leaf module: what the program (src/cli.ts) hands every command, and what
 * every command does the same way: load the config, make the logger, read the clock, print the
 * result (`--json` or the human form) and the failure lines on stderr.
 */
import type { Logger } from 'pino';
import type { RetentionResult } from '../archival/types.js';
import type { AssessmentProblem } from '../assess/types.js';
import { configPathFrom, loadConfig, type Brain } from '../config/load.js';
import { createLogger } from '../log.js';
import { terminalProgress } from '../report/progress.js';
import { NO_PROGRESS, type Progress } from '../util/progress.js';
import type { MaintenanceResult } from '../maintenance/types.js';
import type { FailOnLevel } from '../task-types.js';
import { nowFrom } from '../util/time.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly isTTY: boolean;
  readonly stderrIsTTY: boolean;
  /** Waits until stdout has taken everything; the error that kept it from doing so, or null. */
  readonly flush?: () => Promise<NodeJS.ErrnoException | null>;
  /** Under --quiet (src/cli.ts): whether nothing has been said on stderr yet. */
  readonly quietStderrEmpty?: () => boolean;
}

/** The parsed flags (commander's attribute names; values already checked by their parsers). */
export interface CliOptions {
  config?: string;
  db?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  assess?: boolean;
  deep?: boolean;
  failOn?: FailOnLevel;
  run?: boolean;
  dryRun?: boolean;
  vacuum?: boolean;
  analyze?: boolean;
  reindex?: boolean;
  rebuildFts?: boolean;
  repairFtsTriggers?: boolean;
  checkpoint?: boolean;
  history?: boolean;
  archive?: boolean;
  days?: number;
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
  initConfig?: string;
  scale?: number;
  seed?: number;
  ftsDrift?: boolean;
}

export interface CommandContext {
  readonly brain: Brain;
  /** Made on first use: a command that logs nothing creates no log file. */
  readonly logger: Logger;
  readonly now: Date;
  /** Prints `doc` as JSON with --json, else its human form. */
  print<T>(doc: T, human: (doc: T) => string): void;
}

/** The config file the flags and environment name. */
export function configPathOf(opts: CliOptions, io: CliIo): string {
  return configPathFrom(opts.config, io.env, io.cwd);
}

export function commandContext(opts: CliOptions, io: CliIo): CommandContext {
  const brain = loadConfig(configPathOf(opts, io));
  let logger: Logger | undefined;
  return {
    brain,
    get logger(): Logger {
      logger ??= createLogger({
        level: brain.config.logging.level,
        file: brain.logFile,
        verbose: Boolean(opts.verbose),
        quiet: Boolean(opts.quiet),
      });
      return logger;
    },
    now: nowFrom(io.env),
    print: (doc, human) => io.stdout(opts.json ? printJson(doc) : human(doc)),
  };
}

/**
 * Where long work shows its progress: a line on stderr when stderr is a terminal, and never
 * with --json or --quiet (the output is for a program, or nothing but errors is wanted). Cron,
 * pipes and redirections get nothing: the test is stderr's own isTTY, so `2>file` is quiet
 * even at a terminal.
 */
export function progressFor(opts: CliOptions, io: CliIo): Progress {
  return io.stderrIsTTY && !opts.json && !opts.quiet ? terminalProgress() : NO_PROGRESS;
}

/** A `--json` document as printed: two-space indented, one trailing newline. */
export function printJson(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * The one printer of failure lines on stderr: each problem's message, then one line per
 * maintenance task that failed, did not complete or was refused, and per retention item that
 * failed or was refused (an error) or was skipped (a warning).
 */
export function printFailures(
  io: CliIo,
  what: {
    problems?: readonly AssessmentProblem[];
    maintenance?: readonly MaintenanceResult[];
    retention?: readonly RetentionResult[];
  },
): void {
  for (const p of what.problems ?? []) io.stderr(`${p.message}\n`);
  for (const r of what.maintenance ?? []) {
    if (r.status === 'failed' || r.status === 'partial' || r.status === 'refused')
      io.stderr(`error: ${r.type} on ${r.database} ${r.status}: ${r.message}\n`);
  }
  for (const r of what.retention ?? []) {
    if (r.status === 'failed' || r.status === 'refused') io.stderr(`error: ${r.type} ${r.status}: ${r.message}\n`);
    else if (r.status === 'skipped') io.stderr(`warning: ${r.type} skipped: ${r.message}\n`);
  }
}
