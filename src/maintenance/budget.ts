/**
 * The writer-wait budget (maintenance.maxWriterWaitMs) of unattended runs, as the safety net
 * applies it to each task: which form it runs in (full, bounded, or deferred with the command
 * that runs it), and whether its verification fits inside its own write transaction.
 */
import type Database from 'better-sqlite3';
import type { MaintenanceTask } from '../assess/types.js';
import { onDiskBytes } from '../db/open.js';
import { TASKS } from '../tasks.js';
import { heldTransaction } from './lock-meter.js';
import type { BoundedForm, OpContext, OpEnv, Operation, OpOutcome } from './ops/types.js';
import type { MaintenanceResult, Measured, RunRequest } from './types.js';

/** The budget of this run: given by the caller, else the configured one for a run of planned tasks, none for requested operations. */
export function writerWaitBudget(req: RunRequest): number | null {
  if (req.writerWaitBudgetMs !== undefined) return req.writerWaitBudgetMs;
  return req.requested.length === 0 ? req.brain.config.maintenance.maxWriterWaitMs : null;
}

/**
 * Within a budget, a task whose estimated hold exceeds it runs in its bounded form, or is
 * deferred when it has none; null: the full form (it fits, or the run may block).
 */
export function boundedFormFor(
  task: MaintenanceTask,
  op: Operation,
  ctx: OpContext,
  budgetMs: number | null,
): BoundedForm | 'defer' | null {
  if (budgetMs === null || !op.guarded) return null;
  if (task.estimatedHoldMs <= budgetMs) return null;
  return op.bounded?.(ctx) ?? 'defer';
}

/** What counting every table costs, about (0.4-0.9 s for the 1 GB benchmark database). */
const COUNT_MS_PER_MIB = 0.8;

/**
 * A transactional operation is verified inside its own transaction (exact, and a problem is a
 * ROLLBACK) unless that would hold the write lock past the budget: counting every table twice
 * and checking its FTS indexes under the lock on a large database takes seconds. It then runs
 * in one short transaction and is verified from read snapshots, as VACUUM is.
 */
export function verifyInOwnTransaction(
  form: BoundedForm | null,
  budgetMs: number | null,
  task: MaintenanceTask,
  file: string,
): boolean {
  if (form?.batches) return false;
  if (budgetMs === null) return true;
  const countMs = (onDiskBytes(file) / (1024 * 1024)) * COUNT_MS_PER_MIB;
  const opMs = form === null ? task.estimatedHoldMs : 0;
  return opMs + 3 * countMs <= budgetMs;
}

/** The operation outside the safety net's own verification transaction: its batches, or its one transaction, or VACUUM. */
export async function runOutsideVerification(
  db: Database.Database,
  op: Operation,
  ctx: OpContext,
  env: OpEnv,
  form: BoundedForm | null,
): Promise<OpOutcome> {
  if (!op.transactional || form?.batches) return op.run(db, ctx, env);
  // One transaction: a transactional operation's full (or in-transaction bounded) form is synchronous.
  return heldTransaction(db, env.meter, () => {
    const out = op.run(db, ctx, env);
    if (out instanceof Promise) throw new Error(`${op.type} cannot run inside one transaction`);
    return out;
  }).value;
}

export function deferredResult(
  req: RunRequest,
  task: MaintenanceTask,
  budgetMs: number,
  make: (status: MaintenanceResult['status'], message: string, extra?: Measured) => MaintenanceResult,
): MaintenanceResult {
  const flag = TASKS[task.type].flag ?? '--rebuild-fts';
  const command = `db-maintenance --config ${req.brain.configPath} ${flag} --db ${task.database}`;
  const est = task.estimatedHoldMs;
  return make(
    'skipped',
    `deferred: ${task.type} would hold the write lock about ${(est / 1000).toFixed(1)} s (${task.holdEstimateSource === 'history' ? 'from recorded runs' : 'size heuristic'}), over maintenance.maxWriterWaitMs = ${budgetMs} ms, and has no bounded form here; run it with \`${command}\` (the application's writers wait while it runs) or in a lane window with allowBlocking`,
    { deferred: { estimatedHoldMs: est, estimateSource: task.holdEstimateSource, budgetMs, command } },
  );
}
