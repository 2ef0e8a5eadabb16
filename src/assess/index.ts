/**
 * `assess`: a read-only health report of the brain with a prioritized task list.
 * Nothing in the brain is written. A clean assessment records a statistics snapshot in
 * the tool's own state database (stateDir), from which the next one reports WAL growth.
 */
import type { Logger } from 'pino';
import { DbmError, formatError, worstExitCode, type ExitCode } from '../errors.js';
import type { Brain } from '../config/load.js';
import { selectDatabases } from '../config/select.js';
import type { Assessment } from '../report/json.js';
import type { Progress } from '../util/progress.js';
import { ensureStateDir } from '../state/state-dir.js';
import { failOnPriority, type FailOnLevel } from '../task-types.js';
import { StateDb } from '../state/state-db.js';
import { assessOne, type DbAssessment } from './assess-one.js';
import { checkEvents, checkLogs } from './files.js';
import { planHistoryFrom, planTasks } from './plan.js';
import type { AssessmentProblem, DatabaseHealth, RetentionHealth } from './types.js';

export interface AssessOptions {
  readonly brain: Brain;
  /** --db NAME, or several names (--scheduled's compaction VACUUMs); all databases when absent. */
  readonly dbName?: string | readonly string[] | undefined;
  readonly deep: boolean;
  readonly now: Date;
  readonly logger: Logger;
  /** Record a statistics snapshot in the state database (default true). */
  readonly record?: boolean;
  /**
   * What a part the action does not use (conversations, patterns, events, logs: the retention
   * actions use them) makes of its errors, e.g. a configured table missing: a problem with its
   * exit code (--assess, the default) or a warning in the log (--run and the operations).
   */
  readonly partErrors?: 'problem' | 'warn';
  /** Where a deep assessment (each database's full checks) and a fleet's show how far they are. */
  readonly progress?: Progress;
}

export function assess(opts: AssessOptions): Assessment {
  const started = process.hrtime.bigint();
  const selected = selectDatabases(opts.brain, opts.dbName);
  return finish(
    opts,
    started,
    selected.map((t, i) => {
      // --deep reads every page (quick_check, the FTS integrity-checks): one long statement each.
      const stop = opts.deep
        ? opts.progress?.during(`assess --deep ${t.name} (${i + 1}/${selected.length})`, null)
        : null;
      try {
        return assessOne(t, opts.brain.config, opts.now, opts.deep);
      } finally {
        stop?.();
      }
    }),
  );
}

/** Fewer databases than this are assessed (and maintained) on the main thread: starting workers would cost more. */
export const PARALLEL_MIN_DATABASES = 16;

/**
 * `assess`, with the databases spread over `assess.workers` worker threads when there are
 * many (a fleet): SQLite work is synchronous, so threads are what uses more than one core.
 */
export async function assessParallel(opts: AssessOptions): Promise<Assessment> {
  const started = process.hrtime.bigint();
  const selected = selectDatabases(opts.brain, opts.dbName);
  const workers = Math.min(opts.brain.config.assess.workers, Math.ceil(selected.length / 4));
  if (workers <= 1 || selected.length < PARALLEL_MIN_DATABASES) return assess(opts);
  opts.logger.debug({ workers, databases: selected.length }, 'assessing on worker threads');
  const { assessInWorkers } = await import('./pool.js');
  // This thread is free while the workers assess: the databases done are counted as they come back.
  const label = `assess${opts.deep ? ' --deep' : ''}, ${workers} at a time`;
  opts.progress?.count(label, 0, selected.length, 'databases');
  const perDb = await assessInWorkers(selected, opts.brain.config, opts.now, opts.deep, workers, (done) =>
    opts.progress?.count(label, done, selected.length, 'databases'),
  ).finally(() => opts.progress?.end());
  return finish(opts, started, perDb);
}

function finish(opts: AssessOptions, started: bigint, perDb: readonly DbAssessment[]): Assessment {
  const { brain, now, logger } = opts;
  const config = brain.config;
  const problems: AssessmentProblem[] = [];
  const warnOnly = opts.partErrors === 'warn';
  const partProblem = (p: AssessmentProblem): void => {
    if (!warnOnly) problems.push(p);
    else logger.warn({ database: p.database }, `${p.message} (retention will fail until fixed; maintenance goes on)`);
  };
  const problem = (database: string, err: unknown): void => {
    const e = err instanceof DbmError ? err : new DbmError('INTERNAL', (err as Error).message ?? String(err));
    partProblem({ database, code: e.code, message: formatError(e), exitCode: e.exitCode });
    logger.debug({ database, code: e.code }, e.message);
  };
  let conversations: RetentionHealth['conversations'] = null;
  let patterns: RetentionHealth['patterns'] = null;
  const databases: DatabaseHealth[] = [];
  for (const d of perDb) {
    databases.push(d.health);
    problems.push(...d.problems);
    d.partProblems.forEach(partProblem);
    conversations ??= d.conversations;
    patterns ??= d.patterns;
    logger.debug({ database: d.health.name, ms: d.ms }, 'assessed database');
  }

  // Files belong to the whole brain: checked unless --db limits the report to one database.
  const wholeBrain = opts.dbName === undefined;
  let events: Assessment['events'] = null;
  let logs: Assessment['logs'] = null;
  if (wholeBrain && config.events && brain.eventsPath) {
    // --deep reads every line of the events file (synchronously: the ticker shows it is alive).
    const stop = opts.deep ? opts.progress?.during('assess --deep events', null) : null;
    try {
      events = checkEvents({ ...config.events, path: brain.eventsPath, now, deep: opts.deep });
    } catch (err) {
      problem('events', err);
    } finally {
      stop?.();
    }
  }
  if (wholeBrain && config.logs && brain.logsDir) {
    try {
      logs = checkLogs({ ...config.logs, dir: brain.logsDir, now });
    } catch (err) {
      problem('logs', err);
    }
  }
  const retention = conversations === null && patterns === null ? null : { conversations, patterns };
  // A rule that can never match (every value in no known format) prunes and archives nothing: say so.
  if (
    config.conversations &&
    conversations &&
    conversations.total > 0 &&
    conversations.unparseableTimestamps === conversations.total
  )
    logger.warn(
      { table: conversations.table, column: config.conversations.timestampColumn },
      `no value of conversations.timestampColumn is a time in a known format: nothing will ever be archived (check the column)`,
    );
  if (config.patterns && patterns && patterns.total > 0 && patterns.unusableRows === patterns.total)
    logger.warn(
      { table: patterns.table, column: config.patterns.confidenceColumn },
      `no pattern has a numeric confidence and a last-used time in a known format: nothing will ever be pruned (check patterns.confidenceColumn and lastUsedColumn)`,
    );

  const state = StateDb.openReadOnly(brain.stateDir);
  const history = planHistoryFrom(state);
  let tasks;
  try {
    if (state) {
      // WAL growth since the previous assessment's snapshot.
      for (let i = 0; i < databases.length; i++) {
        const h = databases[i]!;
        const prev = h.status === 'ok' ? state.previousWalBytes(h.name) : null;
        if (prev) databases[i] = { ...h, walGrowth: { since: prev.at, bytes: (h.walBytes ?? 0) - prev.walBytes } };
      }
    }
    tasks = planTasks({ config, databases, events, logs, retention, history });
  } finally {
    state?.close();
  }

  const generatedAt = now.toISOString();
  // Only a clean assessment is recorded: with bad input nothing at all is written.
  if (opts.record !== false && problems.length === 0) recordSnapshot(brain, generatedAt, databases, logger);

  return {
    version: 1,
    command: 'assess',
    generatedAt,
    configPath: brain.configPath,
    deep: opts.deep,
    durationMs: Number((process.hrtime.bigint() - started) / 1_000_000n),
    databases,
    events,
    logs,
    retention,
    tasks,
    problems,
  };
}

/** The due tasks at or above a `--fail-on` level (their ids, most urgent first). */
export function failOnFindings(a: Assessment, level: FailOnLevel): NonNullable<Assessment['failOn']> {
  const priority = failOnPriority(level);
  return { level, priority, tasks: a.tasks.filter((t) => t.priority <= priority).map((t) => t.id) };
}

/** The exit code an assessment ends with: the worst problem's (README "Exit codes"), else 0. */
export function assessmentExitCode(a: Assessment): ExitCode {
  return worstExitCode(a.problems.map((p) => p.exitCode as ExitCode));
}

function recordSnapshot(brain: Brain, at: string, databases: readonly DatabaseHealth[], logger: Logger): void {
  let state: StateDb | undefined;
  try {
    ensureStateDir(brain);
    state = StateDb.open(brain.stateDir);
    state.recordSnapshot(at, databases);
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'could not record a statistics snapshot in the state database');
  } finally {
    state?.close();
  }
}
