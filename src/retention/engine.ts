/**
 * The retention engine: runs retention work in order (the caller holds the run lock unless it
 * is a dry run) and reports each item as a task result with its counts and files. An item that
 * throws is a failed item; the others still run. No output and no recording here: the
 * commands and the scheduler do that.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  outcome,
  type RetentionOutcome,
  type RetentionRequest,
  type RetentionResult,
  type RetentionWork,
} from '../archival/types.js';
import { partRule } from '../config/select.js';
import { onDiskBytes, sqliteError } from '../db/open.js';
import { DbmError, EXIT, worstExitCode, type ExitCode } from '../errors.js';
import { taskResult } from '../maintenance/types.js';
import type { RetentionReport } from '../report/json.js';
import { TASKS } from '../tasks.js';
import type { TaskType } from '../task-types.js';

/**
 * The work of these retention task types, in the order given (a restore needs the conversation's
 * key). A type whose part of the brain the config does not manage (no `events` section ...) is
 * left out (`--enforce-retention`, the lanes), or is a config error when asked for by its own flag.
 */
export function retentionWork(
  req: RetentionRequest,
  types: readonly TaskType[],
  opts: { readonly restoreId?: string | undefined; readonly unmanaged?: 'skip' | 'error' } = {},
): RetentionWork[] {
  return types.flatMap((t) => {
    const spec = TASKS[t].retention;
    if (!spec) return [];
    if (spec.part && !req.brain.config[spec.part]) {
      if (opts.unmanaged === 'error') partRule(req.brain, spec.part); // throws: names the missing section
      return [];
    }
    return spec.work(req, opts.restoreId);
  });
}

export async function runRetention(
  req: RetentionRequest,
  work: readonly RetentionWork[],
): Promise<{ report: RetentionReport; exitCode: ExitCode }> {
  const { brain, logger } = req;
  const started = Date.now();
  const results: RetentionResult[] = [];
  const codes: ExitCode[] = [];
  for (const w of work) {
    const t0 = Date.now();
    const startedAt = new Date().toISOString();
    const size = (): number =>
      w.type === 'ROTATE_LOGS'
        ? brain.logsDir
          ? logsBytes(brain.logsDir)
          : 0
        : w.target.path
          ? onDiskBytes(w.target.path)
          : 0;
    const sizeBefore = size();
    let out: RetentionOutcome;
    let code: ExitCode;
    try {
      out = await w.run();
      code =
        out.status === 'failed' || out.incomplete
          ? EXIT.taskFailed
          : out.status === 'refused'
            ? EXIT.refused
            : out.conflicts?.length
              ? EXIT.conflict
              : EXIT.ok;
    } catch (err) {
      [out, code] = failure(err, logger, w);
    } finally {
      req.progress?.end();
    }
    codes.push(code);
    const task = { id: `${w.target.name}:${w.type}`, type: w.type, database: w.target.name };
    const result: RetentionResult = {
      ...taskResult(task, startedAt, out.status, out.message, {
        durationMs: Date.now() - t0,
        sizeBefore,
        sizeAfter: req.dryRun ? sizeBefore : size(),
        rowsAffected: out.count,
        ...(out.writeLock ? { writeLock: out.writeLock } : {}),
      }),
      counts: out.counts,
      files: out.files,
      removed: out.removed,
      conflicts: out.conflicts ?? [],
    };
    logger.info({ task: result.taskId, status: result.status, ms: result.durationMs }, result.message);
    results.push(result);
  }
  const report: RetentionReport = {
    version: 1,
    command: 'retention',
    dryRun: req.dryRun,
    generatedAt: req.now.toISOString(),
    configPath: brain.configPath,
    durationMs: Date.now() - started,
    summary: summaryOf(work, results),
    items: results,
  };
  return { report, exitCode: worstExitCode(codes) };
}

/** Bytes of the regular files in the logs directory (0 when it is missing). */
function logsBytes(dir: string): number {
  let n = 0;
  try {
    for (const f of fs.readdirSync(dir)) {
      const st = fs.lstatSync(path.join(dir, f));
      if (st.isFile()) n += st.size;
    }
  } catch {
    // missing directory: 0
  }
  return n;
}

function summaryOf(work: readonly RetentionWork[], results: readonly RetentionResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  work.forEach((w, i) => {
    const key = TASKS[w.type].retention?.summaryKey ?? w.type;
    out[key] =
      (out[key] ?? 0) +
      (results[i]?.status === 'ok' || results[i]?.status === 'partial' ? results[i]!.rowsAffected : 0);
  });
  return out;
}

/** An item that threw: its result and exit code (the run goes on with the next item). */
function failure(err: unknown, logger: Logger, work: RetentionWork): [RetentionOutcome, ExitCode] {
  const target = work.target;
  const code = String((err as { code?: unknown })?.code ?? '');
  if (!(err instanceof DbmError) && code.startsWith('SQLITE_') && target.path) {
    // An SQLite error that escaped the item (a lock held past the busy timeout, a full disk):
    // about the item's database, with its documented code, not an internal error.
    err = sqliteError({ name: target.name, path: target.path, configKey: `databases.${target.name}` }, err, work.type);
  }
  if (err instanceof DbmError) {
    const status = err.code === 'NO_SPACE' ? 'refused' : 'failed';
    return [outcome(status, `${err.message}${err.hint ? ` (${err.hint})` : ''}`, 0), err.exitCode];
  }
  const e = err as Error;
  logger.debug({ err: e?.stack ?? String(err) }, 'internal error');
  return [outcome('failed', `internal error: ${e?.message ?? String(err)}`, 0), EXIT.internal];
}
