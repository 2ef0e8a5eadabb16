/**
 * The retention commands: `--archive`, `--compress-events`, `--rotate-logs`, `--prune-patterns`
 * (any combination), `--enforce-retention` (all four), `--restore-conversation ID`; each with
 * `--dry-run`. Real runs hold the run lock (one run of any kind at a time), run the items in
 * order, record them in the state database and exit with the worst item's code.
 */
import fs from 'node:fs';
import type { Logger } from 'pino';
import type { TaskType } from '../assess/types.js';
import { archiveConversations, conversationsDatabase, restoreConversation } from '../archival/conversations.js';
import { compactLog } from '../archival/compaction.js';
import { compressEvents } from '../archival/events.js';
import { rotateLogs } from '../archival/logs.js';
import { patternsDatabase, prunePatterns } from '../archival/patterns.js';
import { outcome, type RetentionOutcome, type RetentionRequest, type RetentionResult } from '../archival/types.js';
import type { CliIo, CliOptions } from '../cli.js';
import { configPathFrom, loadConfig, type ResolvedConfig } from '../config/load.js';
import { DbmError, EXIT, worstExitCode, type ExitCode } from '../errors.js';
import { createLogger } from '../log.js';
import { RunLock } from '../maintenance/lock.js';
import { formatRetention } from '../report/retention-report.js';
import { recordRunIn } from '../state/state-db.js';
import { onDiskBytes } from '../db/open.js';
import { nowFrom } from '../util/time.js';

export interface RetentionItem {
  readonly flag: string;
  readonly type: TaskType;
  /** Key of the summary (seed 000's result dictionary). */
  readonly summaryKey: string;
  readonly target: (rc: ResolvedConfig) => { name: string; path: string | null };
  readonly run: (req: RetentionRequest) => RetentionOutcome | Promise<RetentionOutcome>;
}

export const RETENTION_ITEMS: readonly RetentionItem[] = [
  {
    flag: '--archive',
    type: 'ARCHIVE_CONVERSATIONS',
    summaryKey: 'conversations_archived',
    target: (rc) => ({ name: rc.config.conversations.database, path: safePath(() => conversationsDatabase(rc).path) }),
    run: archiveConversations,
  },
  { flag: '--compress-events', type: 'COMPRESS_EVENTS', summaryKey: 'events_compressed', target: (rc) => ({ name: 'events', path: rc.eventsPath }), run: compressEvents },
  { flag: '--rotate-logs', type: 'ROTATE_LOGS', summaryKey: 'logs_rotated', target: () => ({ name: 'logs', path: null }), run: rotateLogs },
  {
    flag: '--prune-patterns',
    type: 'PRUNE_PATTERNS',
    summaryKey: 'patterns_pruned',
    target: (rc) => ({ name: rc.config.patterns.database, path: safePath(() => patternsDatabase(rc).path) }),
    run: prunePatterns,
  },
];

function safePath(fn: () => string): string | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

export interface RetentionReport {
  readonly version: 1;
  readonly command: 'retention';
  readonly dryRun: boolean;
  readonly generatedAt: string;
  readonly configPath: string;
  readonly durationMs: number;
  readonly summary: Readonly<Record<string, number>>;
  readonly items: readonly RetentionResult[];
}

/** Which items the flags select, in the order they run. */
export function selectedItems(opts: CliOptions): RetentionItem[] {
  if (opts.enforceRetention) return [...RETENTION_ITEMS];
  const on: Record<string, boolean> = {
    '--archive': Boolean(opts.archive),
    '--compress-events': Boolean(opts.compressEvents),
    '--rotate-logs': Boolean(opts.rotateLogs),
    '--prune-patterns': Boolean(opts.prunePatterns),
  };
  return RETENTION_ITEMS.filter((i) => on[i.flag]);
}

function parseDays(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new DbmError('USAGE', `--days must be a positive number of days, not "${value}"`);
  return n;
}

function logsBytes(dir: string): number {
  let n = 0;
  try {
    for (const f of fs.readdirSync(dir)) {
      const st = fs.lstatSync(`${dir}/${f}`);
      if (st.isFile()) n += st.size;
    }
  } catch {
    // missing directory: 0
  }
  return n;
}

export interface RetentionWork {
  readonly type: TaskType;
  readonly summaryKey: string;
  readonly target: { name: string; path: string | null };
  readonly run: () => RetentionOutcome | Promise<RetentionOutcome>;
}

/** One work item per configured compaction job (`--compact-logs`, the compaction lane). */
export function compactionWork(req: RetentionRequest): RetentionWork[] {
  return req.rc.config.compaction.map((job) => ({
    type: 'COMPACT_LOG' as const,
    summaryKey: 'log_rows_compacted',
    target: { name: job.database, path: safePath(() => req.rc.databases.find((d) => d.name === job.database)!.path) },
    run: () => compactLog(req.rc, job, req.dryRun),
  }));
}

export function workFor(items: readonly RetentionItem[], req: RetentionRequest): RetentionWork[] {
  return items.map((i) => ({ type: i.type, summaryKey: i.summaryKey, target: i.target(req.rc), run: () => i.run(req) }));
}

/**
 * Runs retention work in order (the caller holds the run lock unless it is a dry run);
 * an item that throws is a failed item, the others still run. No output, no recording.
 */
export async function runRetention(req: RetentionRequest, work: readonly RetentionWork[]): Promise<{ report: RetentionReport; exitCode: ExitCode }> {
  const { rc, logger } = req;
  const started = Date.now();
  const results: RetentionResult[] = [];
  const codes: ExitCode[] = [];
  for (const w of work) {
    const t0 = Date.now();
    const startedAt = new Date().toISOString();
    const size = (): number => (w.type === 'ROTATE_LOGS' ? logsBytes(rc.logsDir) : w.target.path ? onDiskBytes(w.target.path) : 0);
    const sizeBefore = size();
    let out: RetentionOutcome;
    let code: ExitCode;
    try {
      out = await w.run();
      code = out.status === 'failed' ? EXIT.taskFailed : out.status === 'refused' ? EXIT.refused : EXIT.ok;
    } catch (err) {
      [out, code] = failure(err, logger);
    }
    codes.push(code);
    const result: RetentionResult = {
      taskId: `${w.target.name}:${w.type}`,
      type: w.type,
      database: w.target.name,
      status: out.status,
      startedAt,
      restored: false,
      durationMs: Date.now() - t0,
      sizeBefore,
      sizeAfter: req.dryRun ? sizeBefore : size(),
      rowsAffected: out.count,
      message: out.message,
      backup: null,
      counts: out.counts,
      files: out.files,
      removed: out.removed,
    };
    logger.info({ task: result.taskId, status: result.status, ms: result.durationMs }, result.message);
    results.push(result);
  }
  const report: RetentionReport = {
    version: 1,
    command: 'retention',
    dryRun: req.dryRun,
    generatedAt: req.now.toISOString(),
    configPath: rc.configPath,
    durationMs: Date.now() - started,
    summary: summaryOf(work, results),
    items: results,
  };
  return { report, exitCode: worstExitCode(codes) };
}

export async function retentionCommand(opts: CliOptions, io: CliIo): Promise<ExitCode> {
  const rc = loadConfig(configPathFrom(opts.config, io.env, io.cwd));
  const restoreId = opts.restoreConversation;
  const items = restoreId === undefined ? selectedItems(opts) : [];
  if (opts.days !== undefined && (opts.enforceRetention || items.length !== 1)) {
    throw new DbmError('USAGE', '--days goes with exactly one of --archive, --compress-events, --rotate-logs, --prune-patterns', {
      hint: '--enforce-retention uses the ages in the config',
    });
  }
  const days = parseDays(opts.days);
  const logger = createLogger({ level: rc.config.logging.level, file: rc.logFile, verbose: Boolean(opts.verbose), quiet: Boolean(opts.quiet) });
  const now = nowFrom(io.env);
  const req: RetentionRequest = { rc, now, dryRun: Boolean(opts.dryRun), days, force: Boolean(opts.force), logger, env: io.env };
  const command = restoreId !== undefined ? '--restore-conversation' : opts.enforceRetention ? '--enforce-retention' : [...items.map((i) => i.flag), ...(opts.compactLogs ? ['--compact-logs'] : [])].join(' ');
  const lock = req.dryRun ? null : RunLock.acquire(rc.stateDir, command, now);
  try {
    const work: RetentionWork[] =
      restoreId !== undefined
        ? [{ type: 'RESTORE_CONVERSATION', summaryKey: 'conversations_restored', target: RETENTION_ITEMS[0]!.target(rc), run: () => restoreConversation(req, restoreId) }]
        : [...workFor(items, req), ...(opts.compactLogs ? compactionWork(req) : [])];
    const { report, exitCode } = await runRetention(req, work);
    if (!req.dryRun) recordRunIn(rc.stateDir, { command, startedAt: now.toISOString(), finishedAt: new Date().toISOString(), exitCode }, report.items, [], logger);
    io.stdout(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatRetention(report));
    printItemProblems(report.items, io);
    return exitCode;
  } finally {
    lock?.release();
  }
}

/** One line on stderr per item that failed, was refused or skipped. */
export function printItemProblems(items: readonly RetentionResult[], io: CliIo): void {
  for (const r of items) {
    if (r.status === 'failed' || r.status === 'refused') io.stderr(`error: ${r.type} ${r.status}: ${r.message}\n`);
    else if (r.status === 'skipped') io.stderr(`warning: ${r.type} skipped: ${r.message}\n`);
  }
}

function summaryOf(work: ReadonlyArray<{ summaryKey: string }>, results: readonly RetentionResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  work.forEach((w, i) => {
    out[w.summaryKey] = (out[w.summaryKey] ?? 0) + (results[i]?.status === 'ok' || results[i]?.status === 'partial' ? results[i]!.rowsAffected : 0);
  });
  return out;
}

/** An item that threw: its result and exit code (the run goes on with the next item). */
function failure(err: unknown, logger: Logger): [RetentionOutcome, ExitCode] {
  if (err instanceof DbmError) {
    const status = err.code === 'NO_SPACE' ? 'refused' : 'failed';
    return [outcome(status, `${err.message}${err.hint ? ` (${err.hint})` : ''}`, 0), err.exitCode];
  }
  const e = err as Error;
  logger.debug({ err: e?.stack ?? String(err) }, 'internal error');
  return [outcome('failed', `internal error: ${e?.message ?? String(err)}`, 0), EXIT.internal];
}


