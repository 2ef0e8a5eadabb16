/**
 * The executor: what a maintenance run does, in order. It assesses, plans (assess/plan.ts), and
 * hands each database's tasks to the safety net (safety-net.ts: lock, preflight, backup,
 * operation, verification, restore, record) on this thread, or on worker threads for a fleet
 * (pool.ts); it times the probes and records the run.
 *
 * `--run --dry-run` runs the same planning code and stops before the lock: no write of any kind.
 */
import path from 'node:path';
import { assessParallel, PARALLEL_MIN_DATABASES } from '../assess/index.js';
import { inRunOrder, planHistoryFrom, requestedTasks } from '../assess/plan.js';
import type { MaintenanceTask } from '../assess/types.js';
import { databaseNamed } from '../config/select.js';
import { onDiskBytes } from '../db/open.js';
import { EXIT, worstExitCode, type ExitCode } from '../errors.js';
import type { Assessment, RunReport } from '../report/json.js';
import { StateDb } from '../state/state-db.js';
import { operationOf } from '../tasks.js';
import { backupDirFor, removeStrayTempFiles } from './backup.js';
import type { OpContext, Operation } from './ops/types.js';
import { spaceNeeds, type SpaceNeed } from './preflight.js';
import { runProbes } from './probes.js';
import { boundedFormFor, writerWaitBudget } from './budget.js';
import { acquireRunLock, recordRun, runTasks, skipped } from './safety-net.js';
import type { MaintenanceResult, PlannedStep, ProbeResult, RunRequest } from './types.js';

export async function runMaintenance(req: RunRequest): Promise<RunReport> {
  const started = Date.now();
  const { brain, now, logger } = req;
  const lock = acquireRunLock(req);
  try {
    if (!req.dryRun) {
      for (const f of removeStrayTempFiles(brain.backupDir))
        logger.info({ file: f }, 'removed a temp file a killed run left behind');
    }
    const assessment = await assessParallel({
      brain,
      dbName: req.dbName,
      deep: req.deep,
      now,
      ...(req.progress ? { progress: req.progress } : {}),
      logger,
      record: !req.dryRun,
      partErrors: 'warn',
    });
    const planned = planRun(req, assessment);
    // Retention belongs to its own commands: named once in the report, not planned, run or recorded here.
    const tasks = planned.filter((t) => operationOf(t.type) !== undefined);
    const retentionDue = planned
      .filter((t) => operationOf(t.type) === undefined)
      .map((t) => ({ type: t.type, database: t.database, reason: t.reason }));
    const contexts = new Map<string, OpContext>();
    const contextFor = (dbName: string): OpContext | null => {
      if (!contexts.has(dbName)) {
        const ctx = buildContext(assessment, dbName, req.requested.length > 0);
        if (ctx) contexts.set(dbName, ctx);
      }
      return contexts.get(dbName) ?? null;
    };
    const budget = writerWaitBudget(req);
    const plan = tasks.map((t) => planStep(t, contextFor(t.database), budget));
    if (req.dryRun) return report(req, started, plan, [], assessment.problems, [], retentionDue);

    const timeProbes = req.probes !== false && brain.config.probes.length > 0;
    const probesBefore = timeProbes ? runProbes(brain, 'before') : [];
    const results = await dispatch(req, tasks, contextFor);
    const probes = timeProbes ? runProbes(brain, 'after', probesBefore) : [];
    const final = report(req, started, plan, results, assessment.problems, probes, retentionDue);
    if (req.record !== false) recordRun(req, runExitCode(final), final.results, final.probes);
    return final;
  } finally {
    lock?.release();
  }
}

/** The run's tasks, in the one order: the requested operations, or the planned tasks (of the `only` types). */
function planRun(req: RunRequest, assessment: Assessment): MaintenanceTask[] {
  if (req.requested.length === 0)
    return inRunOrder(
      req.only ? assessment.tasks.filter((t) => req.only!.includes(t.type)) : assessment.tasks,
      assessment.databases,
    );
  const state = StateDb.openReadOnly(req.brain.stateDir);
  try {
    return inRunOrder(requestedTasks(assessment, req.requested, planHistoryFrom(state)), assessment.databases);
  } finally {
    state?.close();
  }
}

/** Runs the tasks through the safety net: here, or for a fleet each database's on one of the worker threads. */
async function dispatch(
  req: RunRequest,
  tasks: readonly MaintenanceTask[],
  contextFor: (dbName: string) => OpContext | null,
): Promise<MaintenanceResult[]> {
  const perDatabase = tasksByDatabase(tasks.filter((t) => operationOf(t.type) !== undefined));
  const workers = Math.min(req.brain.config.maintenance.workers, perDatabase.length);
  if (workers <= 1 || perDatabase.length < PARALLEL_MIN_DATABASES) return runTasks(req, tasks, contextFor);
  // A fleet (the same threshold as assessment's): each database's tasks in order on one of `workers` threads, several databases at once.
  req.logger.debug({ workers, databases: perDatabase.length }, 'maintaining on worker threads');
  const { maintainInWorkers } = await import('./pool.js');
  // The databases done of the fleet (counted as the worker threads finish them: this thread is free meanwhile).
  req.progress?.count(`maintain, ${workers} at a time`, 0, perDatabase.length, 'databases');
  const jobs = perDatabase.map((c) => ({ tasks: c, ctx: contextFor(c[0]!.database), needs: spaceNeededBy(req, c) }));
  const done = (await maintainInWorkers(req, jobs, workers).finally(() => req.progress?.end())).flat();
  const byTask = new Map(done.map((r) => [r.taskId, r]));
  return tasks.map((t) => byTask.get(t.id) ?? skipped(t, req.now, 'not run: its worker thread ended before it'));
}

/** The tasks of each database, in the order of the run, databases in the order they first appear. */
function tasksByDatabase(tasks: readonly MaintenanceTask[]): MaintenanceTask[][] {
  const out = new Map<string, MaintenanceTask[]>();
  for (const t of tasks) {
    const list = out.get(t.database);
    if (list) list.push(t);
    else out.set(t.database, [t]);
  }
  return [...out.values()];
}

/** The free space one database's tasks need at most at once (its backup, and VACUUM's room if any task rewrites it). */
function spaceNeededBy(req: RunRequest, tasks: readonly MaintenanceTask[]): SpaceNeed[] {
  const target = databaseNamed(req.brain, tasks[0]!.database);
  const ops = tasks.map((t) => operationOf(t.type)).filter((op): op is Operation => op !== undefined);
  if (!target || !ops.some((op) => op.guarded)) return [];
  return spaceNeeds({
    dbBytes: onDiskBytes(target.path),
    backupDir: backupDirFor(req.brain.backupDir, target),
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

function report(
  req: RunRequest,
  started: number,
  plan: PlannedStep[],
  results: MaintenanceResult[],
  problems: Assessment['problems'],
  probes: readonly ProbeResult[] = [],
  retentionDue: RunReport['retentionDue'] = [],
): RunReport {
  return {
    version: 1,
    command: 'run',
    dryRun: req.dryRun,
    generatedAt: req.now.toISOString(),
    configPath: req.brain.configPath,
    durationMs: Date.now() - started,
    plan,
    results,
    problems,
    probes,
    retentionDue,
  };
}

/** What an operation needs to know of its database from the assessment (null: it could not be assessed). */
export function buildContext(a: Pick<Assessment, 'databases'>, dbName: string, requested: boolean): OpContext | null {
  const h = a.databases.find((d) => d.name === dbName);
  return h && h.status === 'ok' ? { fts: h.fts ?? [], requested, autoVacuum: h.autoVacuum ?? 'none' } : null;
}

function planStep(t: MaintenanceTask, ctx: OpContext | null, budgetMs: number | null): PlannedStep {
  const op = operationOf(t.type);
  const form = op && ctx ? boundedFormFor(t, op, ctx, budgetMs) : null;
  const writerWait: PlannedStep['writerWait'] =
    form === 'defer' ? 'deferred' : form ? 'bounded' : budgetMs === null ? 'may-block' : 'within-budget';
  return {
    taskId: t.id,
    type: t.type,
    database: t.database,
    priority: t.priority,
    reason: t.reason,
    sql: op && ctx && form !== 'defer' ? op.sql(ctx, form !== null) : [],
    reclaimableBytes: t.reclaimableBytes ?? null,
    estimatedSeconds: t.estimatedSeconds,
    estimateSource: t.estimateSource,
    estimatedHoldMs: t.estimatedHoldMs,
    writerWait,
    boundedForm: form && form !== 'defer' ? form.describe : null,
    notRunBecause: null,
  };
}
