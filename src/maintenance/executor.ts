/**
 * The executor: the one safety net every mutating operation goes through.
 *
 *   1. one run at a time (RunLock, exit 5 for the second instance);
 *   2. free-space preflight (refuse before anything changes);
 *   3. a consistent backup through SQLite, verified, old ones pruned only after;
 *   4. the operation;
 *   5. verification (quick_check, FTS consistency, row counts);
 *   6. on failure, restore through SQLite and verify again;
 *   7. the result recorded in the state database.
 *
 * `--run --dry-run` runs the same planning code and stops before step 1: no write of any kind.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { assessParallel, PARALLEL_MIN_DATABASES } from '../assess/index.js';
import { makeTask, planHistoryFrom, type PlanHistory } from '../assess/plan.js';
import type { Assessment, MaintenanceTask, TaskType } from '../assess/types.js';
import type { BrainDatabase, ResolvedConfig } from '../config/load.js';
import { quoteIdent } from '../db/sql.js';
import { onDiskBytes, type WriteCapable } from '../db/open.js';
import { DbmError, EXIT, worstExitCode, type ExitCode } from '../errors.js';
import { recordRunIn, StateDb } from '../state/state-db.js';
import { backupDirFor, commitBackup, createBackup, pruneBackups, removeStrayTempFiles, restoreBackup, type Backup } from './backup.js';
import { RunLock } from './lock.js';
import { EXECUTION_ORDER, OPERATIONS, type OpContext, type Operation, type OpOutcome } from './ops/index.js';
import { checkFreeSpace, spaceNeeds, statfsProbe, type FreeSpaceProbe, type SpaceNeed } from './preflight.js';
import type { MaintenanceResult, PlannedStep } from './types.js';
import { runProbes, type ProbeResult } from './probes.js';
import { quickCheckAll, takeSnapshot, tableCounts, verify, type ContentSnapshot } from './verify.js';

/** Shows that a long operation is alive; returns the function that stops showing it. */
export type ProgressStarter = (label: string, estimatedSeconds: number) => () => void;

export interface RunRequest {
  readonly rc: ResolvedConfig;
  /** --db NAME, or several names (--scheduled's compaction VACUUMs); all databases when absent. */
  readonly dbName?: string | readonly string[] | undefined;
  readonly dryRun: boolean;
  /** Operations requested by flags (--vacuum ...); empty for --run (the planned tasks). */
  readonly forced: readonly TaskType[];
  readonly deep: boolean;
  readonly now: Date;
  readonly logger: Logger;
  readonly env: NodeJS.ProcessEnv;
  readonly probe?: FreeSpaceProbe;
  readonly progress?: ProgressStarter;
  /** Of the planned tasks (--run), only these types (a lane of --scheduled). */
  readonly only?: readonly TaskType[];
  /** The caller holds the run lock already (--scheduled). */
  readonly lockHeld?: boolean;
  /** Record the run in the state database (default); --scheduled records its own. */
  readonly record?: boolean;
  /** Time the configured probes before and after (default); --scheduled times its own. */
  readonly probes?: boolean;
}

export interface RunReport {
  readonly version: 1;
  readonly command: 'run';
  readonly dryRun: boolean;
  readonly generatedAt: string;
  readonly configPath: string;
  readonly durationMs: number;
  readonly plan: readonly PlannedStep[];
  readonly results: readonly MaintenanceResult[];
  readonly problems: Assessment['problems'];
  /** The configured probes timed before and after the tasks ([] with --dry-run or none configured). */
  readonly probes: readonly ProbeResult[];
}

const NOT_BY_RUN = 'a retention task: run by --enforce-retention (or its own flag), not by --run';

export const FORCED_FLAGS: Readonly<Record<string, TaskType>> = {
  '--vacuum': 'VACUUM',
  '--analyze': 'ANALYZE',
  '--reindex': 'REINDEX',
  '--rebuild-fts': 'REBUILD_FTS',
  '--checkpoint': 'CHECKPOINT',
};

export async function runMaintenance(req: RunRequest): Promise<RunReport> {
  const started = Date.now();
  const { rc, now, logger } = req;
  const command = req.forced.length ? Object.keys(FORCED_FLAGS).filter((f) => req.forced.includes(FORCED_FLAGS[f]!)).join(' ') : '--run';
  const lock = req.dryRun || req.lockHeld ? null : RunLock.acquire(rc.stateDir, command, now);
  try {
    if (!req.dryRun) {
      for (const f of removeStrayTempFiles(rc.backupDir)) logger.info({ file: f }, 'removed a temp file a killed run left behind');
    }
    const assessment = await assessParallel({ rc, dbName: req.dbName, deep: req.deep, now, logger, record: !req.dryRun });
    const state = req.forced.length ? StateDb.openReadOnly(rc.stateDir) : null;
    let tasks: MaintenanceTask[];
    try {
      const planned = req.only ? assessment.tasks.filter((t) => req.only!.includes(t.type)) : [...assessment.tasks];
      tasks = orderTasks(req.forced.length ? forcedTasks(assessment, req.forced, planHistoryFrom(state)) : planned);
    } finally {
      state?.close();
    }
    const contexts = new Map<string, OpContext>();
    const contextFor = (dbName: string): OpContext | null => {
      if (!contexts.has(dbName)) {
        const ctx = buildContext(assessment, dbName, req.forced.length > 0);
        if (ctx) contexts.set(dbName, ctx);
      }
      return contexts.get(dbName) ?? null;
    };
    const plan = tasks.map((t) => planStep(t, contextFor(t.database)));
    if (req.dryRun) {
      return report(req, started, plan, [], assessment.problems);
    }

    const timeProbes = req.probes !== false && rc.config.probes.length > 0;
    const probesBefore = timeProbes ? runProbes(rc, 'before') : [];
    const chains = chainsByDatabase(tasks.filter((t) => OPERATIONS[t.type] !== undefined));
    const workers = Math.min(rc.config.maintenance.workers, chains.length);
    let results: MaintenanceResult[];
    if (workers > 1 && chains.length >= PARALLEL_MIN_DATABASES) {
      // A fleet (the same threshold as assessment's): each database's tasks in order on one of `workers` threads, several databases at once.
      logger.debug({ workers, databases: chains.length }, 'maintaining on worker threads');
      const { maintainInWorkers } = await import('./pool.js');
      const estimate = tasks.reduce((a, t) => a + t.estimatedSeconds, 0) / workers;
      const stop = req.progress?.(`${tasks.length} tasks on ${chains.length} databases, ${workers} at a time`, estimate);
      let done: MaintenanceResult[];
      try {
        const perChain = await maintainInWorkers(
          req,
          chains.map((c) => ({ tasks: c, ctx: contextFor(c[0]!.database), needs: chainNeeds(req, c) })),
          workers,
        );
        // The retention tasks the plan lists are reported as not run by --run, here.
        done = [...perChain.flat(), ...(await runTasks(req, tasks.filter((t) => OPERATIONS[t.type] === undefined), contextFor))];
      } finally {
        stop?.();
      }
      const byTask = new Map(done.map((r) => [r.taskId, r]));
      results = tasks.map((t) => byTask.get(t.id) ?? skipped(t, now, 'not run: its worker thread ended before it'));
    } else {
      results = await runTasks(req, tasks, contextFor);
    }

    const probes = timeProbes ? runProbes(rc, 'after', probesBefore) : [];
    const final = report(req, started, plan, results, assessment.problems, probes);
    if (req.record !== false) {
      recordRunIn(rc.stateDir, { command, startedAt: now.toISOString(), finishedAt: new Date().toISOString(), exitCode: runExitCode(final) }, final.results, final.probes, logger);
    }
    return final;
  } finally {
    lock?.release();
  }
}

/**
 * Runs tasks in order (all of a run's, or one database's on a worker thread); a failed or
 * refused task skips the rest of its database's. One verified backup per database per call.
 */
export async function runTasks(req: RunRequest, tasks: readonly MaintenanceTask[], contextFor: (dbName: string) => OpContext | null): Promise<MaintenanceResult[]> {
  const results: MaintenanceResult[] = [];
  const failedDbs = new Set<string>();
  const backups = new Map<string, Backup>();
  for (const task of tasks) {
    const op = OPERATIONS[task.type];
    const ctx = contextFor(task.database);
    const target = req.rc.databases.find((d) => d.name === task.database);
    if (!op || !ctx || !target) {
      results.push(skipped(task, req.now, op ? 'the database could not be assessed' : NOT_BY_RUN));
      continue;
    }
    if (failedDbs.has(task.database)) {
      results.push(skipped(task, req.now, `not run: an earlier task on ${task.database} failed`));
      continue;
    }
    const stop = req.progress?.(`${task.type} ${task.database}`, task.estimatedSeconds);
    let result: MaintenanceResult;
    try {
      result = await executeTask({ req, task, op, ctx, target, backups });
    } finally {
      stop?.();
    }
    req.logger.info({ task: task.id, status: result.status, ms: result.durationMs }, result.message);
    results.push(result);
    if (result.status === 'failed' || result.status === 'refused') failedDbs.add(task.database);
  }
  return results;
}

/** The tasks of each database, in the order of the run, databases in the order they first appear. */
function chainsByDatabase(tasks: readonly MaintenanceTask[]): MaintenanceTask[][] {
  const chains = new Map<string, MaintenanceTask[]>();
  for (const t of tasks) {
    const c = chains.get(t.database);
    if (c) c.push(t);
    else chains.set(t.database, [t]);
  }
  return [...chains.values()];
}

/** The free space one database's tasks need at most at once (its backup, and VACUUM's room if any task rewrites it). */
function chainNeeds(req: RunRequest, chain: readonly MaintenanceTask[]): SpaceNeed[] {
  const target = req.rc.databases.find((d) => d.name === chain[0]!.database);
  const ops = chain.map((t) => OPERATIONS[t.type]).filter((op): op is Operation => op !== undefined);
  if (!target || !ops.some((op) => op.guarded)) return [];
  return spaceNeeds({
    dbBytes: onDiskBytes(target.path),
    backupDir: backupDirFor(req.rc.backupDir, target),
    databaseDir: path.dirname(target.path),
    needsBackup: true,
    rewrites: ops.some((op) => op.rewritesDatabase),
    env: req.env,
  });
}

/** The exit code of a run: the worst of its problems and results (README "Exit codes"). */
export function runExitCode(r: RunReport): ExitCode {
  const codes: ExitCode[] = r.problems.map((p) => p.exitCode as ExitCode);
  for (const res of r.results) {
    if (res.status === 'failed' || res.status === 'partial') codes.push(EXIT.taskFailed);
    if (res.status === 'refused') codes.push(EXIT.refused);
  }
  return worstExitCode(codes);
}

function report(req: RunRequest, started: number, plan: PlannedStep[], results: MaintenanceResult[], problems: Assessment['problems'], probes: readonly ProbeResult[] = []): RunReport {
  return {
    version: 1,
    command: 'run',
    dryRun: req.dryRun,
    generatedAt: req.now.toISOString(),
    configPath: req.rc.configPath,
    durationMs: Date.now() - started,
    plan,
    results,
    problems,
    probes,
  };
}

function orderTasks(tasks: MaintenanceTask[]): MaintenanceTask[] {
  const rank = (t: TaskType): number => {
    const i = EXECUTION_ORDER.indexOf(t);
    return i === -1 ? EXECUTION_ORDER.length : i;
  };
  return tasks.sort((a, b) => a.priority - b.priority || rank(a.type) - rank(b.type) || a.database.localeCompare(b.database));
}

/** Tasks for operations requested by flags, on every selected database the assessment could read. */
function forcedTasks(a: Assessment, types: readonly TaskType[], history: PlanHistory): MaintenanceTask[] {
  const out: MaintenanceTask[] = [];
  for (const h of a.databases) {
    if (h.status !== 'ok') continue;
    for (const type of types) {
      const planned = a.tasks.find((t) => t.database === h.name && t.type === type);
      const flag = Object.keys(FORCED_FLAGS).find((f) => FORCED_FLAGS[f] === type)!;
      const reason = planned ? `requested with ${flag}; also due: ${planned.reason}` : `requested with ${flag}`;
      out.push(
        makeTask(type, h.name, reason, type === 'CHECKPOINT' ? (h.walBytes ?? 0) : (h.fileBytes ?? 0), history, {
          priority: planned?.priority ?? 2,
          ...(type === 'VACUUM' && h.reclaimableBytes !== undefined ? { reclaimableBytes: h.reclaimableBytes } : {}),
        }),
      );
    }
  }
  return out;
}

function buildContext(a: Assessment, dbName: string, forced: boolean): OpContext | null {
  const h = a.databases.find((d) => d.name === dbName);
  return h && h.status === 'ok' ? { fts: h.fts ?? [], forced } : null;
}

function planStep(t: MaintenanceTask, ctx: OpContext | null): PlannedStep {
  const op = OPERATIONS[t.type];
  return {
    taskId: t.id,
    type: t.type,
    database: t.database,
    priority: t.priority,
    reason: t.reason,
    sql: op && ctx ? op.sql(ctx) : [],
    reclaimableBytes: t.reclaimableBytes ?? null,
    estimatedSeconds: t.estimatedSeconds,
    estimateSource: t.estimateSource,
    notRunBecause: op ? null : NOT_BY_RUN,
  };
}

/** The result of a task that did not run (or whose outcome is known without running it). */
export function taskResult(task: MaintenanceTask, now: Date, status: MaintenanceResult['status'], message: string): MaintenanceResult {
  return {
    taskId: task.id,
    type: task.type,
    database: task.database,
    status,
    startedAt: now.toISOString(),
    restored: false,
    durationMs: 0,
    sizeBefore: 0,
    sizeAfter: 0,
    rowsAffected: 0,
    message,
    backup: null,
  };
}

const skipped = (task: MaintenanceTask, now: Date, message: string): MaintenanceResult => taskResult(task, now, 'skipped', message);

interface TaskRun {
  readonly req: RunRequest;
  readonly task: MaintenanceTask;
  readonly op: Operation;
  readonly ctx: OpContext;
  readonly target: BrainDatabase;
  /** This run's verified backup of each database (one per database per run). */
  readonly backups: Map<string, Backup>;
}

async function executeTask(run: TaskRun): Promise<MaintenanceResult> {
  const { req, task, op, ctx, target, backups } = run;
  const cfg = req.rc.config;
  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const sizeBefore = onDiskBytes(target.path);
  let tPhase = t0;
  const phase = (name: string): void => {
    const now = Date.now();
    req.logger.debug({ task: task.id, phase: name, ms: now - tPhase }, 'phase done');
    tPhase = now;
  };
  let backup: Backup | null = backups.get(target.name) ?? null;
  const result = (status: MaintenanceResult['status'], message: string, extra: { restored?: boolean; rowsAffected?: number } = {}): MaintenanceResult => ({
    taskId: task.id,
    type: task.type,
    database: task.database,
    status,
    startedAt,
    restored: extra.restored ?? false,
    durationMs: Date.now() - t0,
    sizeBefore,
    sizeAfter: onDiskBytes(target.path),
    rowsAffected: extra.rowsAffected ?? 0,
    message,
    backup: backup?.path ?? null,
  });

  let db: Database.Database;
  try {
    db = new Database(target.path, { fileMustExist: true, timeout: cfg.maintenance.busyTimeoutMs });
    db.pragma(`cache_size = -${cfg.maintenance.cacheSizeMiB * 1024}`);
  } catch (err) {
    return result('failed', `cannot open ${target.name}: ${(err as Error).message}; nothing was changed`);
  }
  const conn: WriteCapable = { db, withWriteTransactionAllowed: (fn) => fn(db) };
  try {
    if (!op.guarded) {
      const out = op.run(db, ctx);
      return result(out.status, out.message, { rowsAffected: out.rowsAffected });
    }

    // 2. preflight
    const needs = spaceNeeds({
      dbBytes: onDiskBytes(target.path),
      backupDir: backupDirFor(req.rc.backupDir, target),
      databaseDir: path.dirname(target.path),
      needsBackup: !backup,
      rewrites: op.rewritesDatabase,
      env: req.env,
    });
    try {
      checkFreeSpace(needs, req.probe ?? statfsProbe);
    } catch (err) {
      if (err instanceof DbmError && err.code === 'NO_SPACE') return result('refused', err.message);
      throw err;
    }

    // 3. backup, verified before anything changes
    const createdNow = !backup;
    if (!backup) {
      try {
        backup = createBackup(db, target, backupDirFor(req.rc.backupDir, target), req.now, cfg.maintenance.busyTimeoutMs);
      } catch (err) {
        return result('failed', `${(err as Error).message}; nothing was changed`);
      }
      backups.set(target.name, backup);
      phase('backup');
    }

    // 4. the operation, 5. verification
    const before: ContentSnapshot = takeSnapshot(db, ctx.fts, createdNow ? backup : undefined);
    phase('snapshot');
    let outcome: OpOutcome | null = null;
    let opError: Error | null = null;
    try {
      outcome = op.run(db, ctx);
      injectFault(db, req.env, task);
    } catch (err) {
      opError = err as Error;
    }
    phase('operation');
    const check = await verify(conn, target.path, before, {
      rebuiltFts: new Set(outcome?.rebuiltFts ?? []),
      touchedFts: new Set(outcome?.touchedFts ?? []),
      ftsSampleRows: cfg.assess.ftsSampleRows,
      fullQuickCheck: req.deep,
      busyTimeoutMs: cfg.maintenance.busyTimeoutMs,
    });
    phase('verification');
    const notes = check.notes.length ? ` (${check.notes.join('; ')})` : '';
    if (check.ok) {
      // Only now does the backup get its final name, and older ones make room for it.
      await commitBackup(backup);
      pruneBackups(backupDirFor(req.rc.backupDir, target), target.name, cfg.maintenance.keepBackups);
      if (outcome && !opError) return result(outcome.status, `${outcome.message}; verified${notes}`, { rowsAffected: outcome.rowsAffected });
      // SQLite rolled the failed statement back; verification shows the database as it was.
      return result('failed', `${task.type} failed: ${opError?.message ?? 'unknown error'}; the database is unchanged (verified)${notes}`);
    }

    // 6. restore through SQLite, then verify the restore
    const why = opError ? `${task.type} failed (${opError.message}) and verification found: ${check.problems.join('; ')}` : `verification failed after ${task.type}: ${check.problems.join('; ')}`;
    try {
      await restoreBackup(backup, target, cfg.maintenance.busyTimeoutMs);
    } catch (err) {
      return result('failed', `${why}; RESTORE FAILED: ${(err as Error).message}; the verified backup is ${backup.path}`);
    }
    const restoredState = verifyRestore(db, backup);
    return result('failed', `${why}; restored from the backup (${restoredState})`, { restored: true });
  } catch (err) {
    // Keep the verified backup under its final name: it is the state before this task.
    if (backup && !backup.committed) await commitBackup(backup).catch(() => undefined);
    return result('failed', `${task.type} could not run: ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

function verifyRestore(db: Database.Database, backup: Backup): string {
  const qc = quickCheckAll(db);
  if (qc.length > 0) return `after restore ${qc.slice(0, 3).join('; ')}`;
  const now = tableCounts(db);
  const differ = [...backup.counts].filter(([t, n]) => now.get(t) !== n).map(([t]) => t);
  return differ.length === 0 ? 'verified: quick_check ok, every row count equals the backup' : `quick_check ok; row counts of ${differ.join(', ')} differ from the backup: other connections wrote since`;
}

/**
 * Test hook (README "Development"): DB_MAINTENANCE_INJECT=after:TYPE[:DATABASE] deletes three
 * rows of the first non-empty table right after TYPE ran, so verification fails for real.
 */
function injectFault(db: Database.Database, env: NodeJS.ProcessEnv, task: MaintenanceTask): void {
  const spec = env['DB_MAINTENANCE_INJECT'];
  if (!spec) return;
  const [when, type, dbName] = spec.split(':');
  if (when !== 'after' || type !== task.type || (dbName && dbName !== task.database)) return;
  for (const [table, n] of tableCounts(db)) {
    if (n === 0) continue;
    const q = quoteIdent(table);
    try {
      db.prepare(`DELETE FROM ${q} WHERE rowid IN (SELECT rowid FROM ${q} LIMIT 3)`).run();
      return;
    } catch {
      // a WITHOUT ROWID table: try the next
    }
  }
}
