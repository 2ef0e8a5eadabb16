/**
 * `assess`: a read-only health report of the brain with a prioritized task list.
 * Nothing in the brain is written. A clean assessment records a statistics snapshot in
 * the tool's own state database (stateDir), from which the next one reports WAL growth.
 */
import type { Logger } from 'pino';
import { DbmError, formatError, worstExitCode, type ExitCode } from '../errors.js';
import { selectDatabases, type BrainDatabase, type ResolvedConfig } from '../config/load.js';
import { inspectDatabaseFile, ReadConnection, sqliteError } from '../db/open.js';
import { StateDb } from '../state/state-db.js';
import { checkDatabase } from './database-health.js';
import { checkEvents, checkLogs } from './files.js';
import { planHistoryFrom, planTasks } from './plan.js';
import { countConversations, countPatterns } from './retention.js';
import type { Assessment, DatabaseHealth, RetentionHealth } from './types.js';
import type { Config } from '../config/schema.js';

export interface AssessOptions {
  readonly rc: ResolvedConfig;
  /** --db NAME, or several names (--scheduled's compaction VACUUMs); all databases when absent. */
  readonly dbName?: string | readonly string[] | undefined;
  readonly deep: boolean;
  readonly now: Date;
  readonly logger: Logger;
  /** Record a statistics snapshot in the state database (default true). */
  readonly record?: boolean;
}

type Problem = Assessment['problems'][number];

/** What one database's assessment contributes; plain data (it crosses worker threads). */
export interface DbAssessment {
  readonly health: DatabaseHealth;
  readonly problems: Problem[];
  readonly conversations: RetentionHealth['conversations'];
  readonly patterns: RetentionHealth['patterns'];
  readonly ms: number;
}

/** Assesses one database (read-only). Never throws: what goes wrong is in `problems`. */
export function assessOne(target: BrainDatabase, config: Config, now: Date, deep: boolean): DbAssessment {
  const t0 = Date.now();
  const problems: Problem[] = [];
  const problem = (err: unknown): void => {
    const e = err instanceof DbmError ? err : new DbmError('INTERNAL', (err as Error).message ?? String(err));
    problems.push({ database: target.name, code: e.code, message: formatError(e), exitCode: e.exitCode });
  };
  let conversations: RetentionHealth['conversations'] = null;
  let patterns: RetentionHealth['patterns'] = null;
  let health: DatabaseHealth;
  try {
    health = withConnection(target, config.assess.busyTimeoutMs, (conn, facts) => {
      const h = checkDatabase(conn, target, facts, { deep, config });
      if (h.quickCheck?.status === 'failed') {
        problem(
          new DbmError('DB_CORRUPT', `database ${target.name} (${target.path}) is corrupt: quick_check reports ${h.quickCheck.messages[0]}`, {
            hint: 'restore it from a backup; run --assess --deep --json for the full list',
          }),
        );
      }
      if (target.name === config.conversations.database) {
        try {
          conversations = countConversations(conn.db, config.conversations, now, deep);
        } catch (err) {
          problem(retentionError(target, err, 'counting conversations'));
        }
      }
      if (target.name === config.patterns.database) {
        try {
          patterns = countPatterns(conn.db, config.patterns, now);
        } catch (err) {
          problem(retentionError(target, err, 'counting patterns'));
        }
      }
      return h;
    });
  } catch (err) {
    const e = sqliteError(target, err, 'assessing it');
    problem(e);
    health = { name: target.name, path: target.path, status: 'error', error: { code: e.code, message: e.message } };
  }
  return { health, problems, conversations, patterns, ms: Date.now() - t0 };
}

export function assess(opts: AssessOptions): Assessment {
  const started = process.hrtime.bigint();
  const selected = selectDatabases(opts.rc, opts.dbName);
  return finish(opts, started, selected.map((t) => assessOne(t, opts.rc.config, opts.now, opts.deep)));
}

/** Fewer databases than this are assessed (and maintained) on the main thread: starting workers would cost more. */
export const PARALLEL_MIN_DATABASES = 16;

/**
 * `assess`, with the databases spread over `assess.workers` worker threads when there are
 * many (a fleet): SQLite work is synchronous, so threads are what uses more than one core.
 */
export async function assessParallel(opts: AssessOptions): Promise<Assessment> {
  const started = process.hrtime.bigint();
  const selected = selectDatabases(opts.rc, opts.dbName);
  const workers = Math.min(opts.rc.config.assess.workers, Math.ceil(selected.length / 4));
  if (workers <= 1 || selected.length < PARALLEL_MIN_DATABASES) return assess(opts);
  opts.logger.debug({ workers, databases: selected.length }, 'assessing on worker threads');
  const { assessInWorkers } = await import('./pool.js');
  const perDb = await assessInWorkers(selected, opts.rc.config, opts.now, opts.deep, workers);
  return finish(opts, started, perDb);
}

function finish(opts: AssessOptions, started: bigint, perDb: readonly DbAssessment[]): Assessment {
  const { rc, now, logger } = opts;
  const config = rc.config;
  const problems: Problem[] = [];
  const problem = (database: string, err: unknown): void => {
    const e = err instanceof DbmError ? err : new DbmError('INTERNAL', (err as Error).message ?? String(err));
    problems.push({ database, code: e.code, message: formatError(e), exitCode: e.exitCode });
    logger.debug({ database, code: e.code }, e.message);
  };
  let conversations: RetentionHealth['conversations'] = null;
  let patterns: RetentionHealth['patterns'] = null;
  const databases: DatabaseHealth[] = [];
  for (const d of perDb) {
    databases.push(d.health);
    problems.push(...d.problems);
    conversations ??= d.conversations;
    patterns ??= d.patterns;
    logger.debug({ database: d.health.name, ms: d.ms }, 'assessed database');
  }

  // Files belong to the whole brain: checked unless --db limits the report to one database.
  const wholeBrain = opts.dbName === undefined;
  let events: Assessment['events'] = null;
  let logs: Assessment['logs'] = null;
  if (wholeBrain) {
    try {
      events = checkEvents({ ...config.events, path: rc.eventsPath, now, deep: opts.deep });
    } catch (err) {
      problem('events', err);
    }
    try {
      logs = checkLogs({ ...config.logs, dir: rc.logsDir, now });
    } catch (err) {
      problem('logs', err);
    }
  }
  const retention = conversations === null && patterns === null ? null : { conversations, patterns };

  const state = StateDb.openReadOnly(rc.stateDir);
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
  if (opts.record !== false && problems.length === 0) recordSnapshot(rc.stateDir, generatedAt, databases, logger);

  return {
    version: 1,
    command: 'assess',
    generatedAt,
    configPath: rc.configPath,
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

/** The exit code an assessment ends with: the worst problem's, else 0. */
/** The exit code an assessment ends with: the worst problem's (README "Exit codes"), else 0. */
export function assessmentExitCode(a: Assessment): ExitCode {
  return worstExitCode(a.problems.map((p) => p.exitCode as ExitCode));
}

function withConnection<T>(target: BrainDatabase, timeoutMs: number, fn: (conn: ReadConnection, facts: ReturnType<typeof inspectDatabaseFile>) => T): T {
  const facts = inspectDatabaseFile(target);
  const conn = new ReadConnection(target, facts, timeoutMs);
  try {
    return fn(conn, facts);
  } catch (err) {
    throw sqliteError(target, err, 'assessing it');
  } finally {
    conn.close();
  }
}

function retentionError(target: BrainDatabase, err: unknown, doing: string): DbmError {
  if (err instanceof DbmError) return new DbmError(err.code, `database ${target.name}: ${err.message}`, { hint: err.hint });
  return sqliteError(target, err, doing);
}

function recordSnapshot(stateDir: string, at: string, databases: readonly DatabaseHealth[], logger: Logger): void {
  let state: StateDb | undefined;
  try {
    state = StateDb.open(stateDir);
    state.recordSnapshot(at, databases);
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'could not record a statistics snapshot in the state database');
  } finally {
    state?.close();
  }
}
