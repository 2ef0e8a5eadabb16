/**
 * Planning: health signals -> prioritized maintenance tasks. The one planner: `--assess`
 * shows its output and (later) `--run --dry-run` and `--run` use the same code.
 */
import type { Config } from '../config/schema.js';
import { bytes } from '../util/format.js';
import { lastRunKey, type StateDb } from '../state/state-db.js';
import type { DatabaseHealth, EventsHealth, LogsHealth, MaintenanceTask, Priority, RetentionHealth, TaskType } from './types.js';

/** Bytes (or items) per second assumed before there is history for a task. */
const HEURISTIC_RATE: Record<TaskType, number> = {
  VACUUM: 40e6,
  ANALYZE: 150e6,
  REINDEX: 60e6,
  REBUILD_FTS: 15e6,
  OPTIMIZE_FTS: 30e6,
  CHECKPOINT: 200e6,
  ARCHIVE_CONVERSATIONS: 500,
  PRUNE_PATTERNS: 5000,
  COMPRESS_EVENTS: 40e6,
  ROTATE_LOGS: 40e6,
  RESTORE_CONVERSATION: 500,
  COMPACT_LOG: 50000,
};

const PRIORITY: Record<TaskType, Priority> = {
  REBUILD_FTS: 1,
  VACUUM: 2,
  CHECKPOINT: 2,
  REINDEX: 2,
  ANALYZE: 3,
  OPTIMIZE_FTS: 3,
  ARCHIVE_CONVERSATIONS: 4,
  PRUNE_PATTERNS: 4,
  COMPRESS_EVENTS: 4,
  ROTATE_LOGS: 4,
  RESTORE_CONVERSATION: 4,
  COMPACT_LOG: 4,
};

export interface PlanHistory {
  lastRun(database: string, type: TaskType): string | null;
  /** Measured throughput in the unit of HEURISTIC_RATE, or null without history. */
  throughput(database: string, type: TaskType): number | null;
}

export const NO_HISTORY: PlanHistory = { lastRun: () => null, throughput: () => null };

export interface PlanInput {
  readonly config: Config;
  readonly databases: readonly DatabaseHealth[];
  readonly events: EventsHealth | null;
  readonly logs: LogsHealth | null;
  readonly retention: RetentionHealth | null;
  readonly history: PlanHistory;
}

const pct = (r: number): string => `${(r * 100).toFixed(1)}%`;

/**
 * A task with its estimate: `workUnits` (bytes, or items for retention) over the throughput
 * measured by recent successful runs, else over a heuristic rate.
 */
export function makeTask(
  type: TaskType,
  database: string,
  reason: string,
  workUnits: number,
  history: PlanHistory,
  extra: { reclaimableBytes?: number; priority?: Priority } = {},
): MaintenanceTask {
  const measured = history.throughput(database, type);
  const rate = measured ?? HEURISTIC_RATE[type];
  const { priority, ...rest } = extra;
  return {
    id: `${database}:${type}`,
    type,
    database,
    priority: priority ?? PRIORITY[type],
    reason,
    estimatedSeconds: Math.max(0.1, Math.round((workUnits / rate) * 10) / 10),
    estimateSource: measured === null ? 'heuristic' : 'history',
    lastRun: history.lastRun(database, type),
    ...rest,
  };
}

/** PlanHistory over the state database (NO_HISTORY without one). */
export function planHistoryFrom(state: StateDb | null): PlanHistory {
  if (!state) return NO_HISTORY;
  const last = state.lastRuns();
  return {
    lastRun: (d, t) => last.get(lastRunKey(d, t)) ?? null,
    throughput: (d, t) => state.throughput(d, t),
  };
}

export function planTasks(input: PlanInput): MaintenanceTask[] {
  const { thresholds } = input.config;
  const tasks: MaintenanceTask[] = [];
  const add = (type: TaskType, database: string, reason: string, workUnits: number, extra: { reclaimableBytes?: number } = {}): void => {
    tasks.push(makeTask(type, database, reason, workUnits, input.history, extra));
  };

  for (const h of input.databases) {
    if (h.status !== 'ok') continue;
    const size = h.fileBytes ?? 0;
    const broken = (h.fts ?? []).filter((f) => f.status === 'drift' || f.status === 'corrupt');
    if (broken.length > 0) {
      add('REBUILD_FTS', h.name, broken.map((f) => `FTS index "${f.table}": ${f.detail}`).join('; '), size);
    }
    const frag = h.fragmentationRatio ?? 0;
    const reclaim = h.reclaimableBytes ?? 0;
    if (frag > thresholds.fragmentationRatio && reclaim >= thresholds.minReclaimBytes) {
      const waste = h.pageWaste?.status === 'measured' ? ` and ${pct(h.pageWaste.ratio ?? 0)} unused space inside pages` : '';
      add(
        'VACUUM',
        h.name,
        `fragmentation ${pct(frag)} > ${pct(thresholds.fragmentationRatio)}: ${pct(h.freelistRatio ?? 0)} of pages free${waste}; about ${bytes(reclaim)} reclaimable`,
        size,
        { reclaimableBytes: reclaim },
      );
    }
    const wal = h.walBytes ?? 0;
    const walLimit = Math.max(thresholds.walMaxBytes, thresholds.walRatio * size);
    if (wal > walLimit) {
      const growth = h.walGrowth && h.walGrowth.bytes > 0 ? `, grew ${bytes(h.walGrowth.bytes)} since ${h.walGrowth.since.slice(0, 16)}` : '';
      add('CHECKPOINT', h.name, `WAL is ${bytes(wal)}${growth}, over ${bytes(walLimit)} (max of walMaxBytes and walRatio x database)`, wal);
    }
    const stats = h.statistics;
    if (stats && (stats.status === 'missing' || stats.status === 'stale')) {
      const shown = stats.staleTables.slice(0, 3).map((t) =>
        t.analyzedRows === null ? `"${t.table}" never analyzed (${t.currentRows} rows)` : `"${t.table}" ${t.analyzedRows} -> ${t.currentRows} rows`,
      );
      const more = stats.staleTables.length > 3 ? ` and ${stats.staleTables.length - 3} more` : '';
      const head = stats.status === 'missing' ? 'no statistics (sqlite_stat1 missing)' : 'statistics drifted past base + scale factor';
      add('ANALYZE', h.name, `${head}: ${shown.join(', ')}${more}`, size);
    }
    const bloated = (h.fts ?? []).filter((f) => f.status === 'bloated');
    if (bloated.length > 0) {
      add('OPTIMIZE_FTS', h.name, bloated.map((f) => `FTS index "${f.table}": ${f.detail}`).join('; '), size);
    }
  }

  const conv = input.retention?.conversations;
  if (conv && conv.eligible > 0) {
    add(
      'ARCHIVE_CONVERSATIONS',
      conv.database,
      `${conv.eligible} of ${conv.total} conversations started before ${conv.cutoff.slice(0, 10)} (the newest ${input.config.conversations.keepNewest} are kept active)`,
      conv.eligible,
    );
  }
  const pat = input.retention?.patterns;
  if (pat && pat.eligible > 0) {
    add(
      'PRUNE_PATTERNS',
      pat.database,
      `${pat.eligible} of ${pat.total} patterns below confidence ${input.config.patterns.minConfidence} and unused since ${pat.cutoff.slice(0, 10)}`,
      pat.eligible,
    );
  }
  const ev = input.events;
  if (ev && ev.exists && ev.olderLines > 0) {
    add('COMPRESS_EVENTS', 'events', `${ev.olderLines} event lines (${bytes(ev.olderBytes)}) older than ${ev.cutoff.slice(0, 10)}`, ev.olderBytes, {
      reclaimableBytes: ev.olderBytes,
    });
  }
  const logs = input.logs;
  if (logs && logs.eligible.length > 0) {
    const bytes = logs.eligible.reduce((s, f) => s + f.bytes, 0);
    add('ROTATE_LOGS', 'logs', `${logs.eligible.length} log files due: ${logs.eligible.map((f) => `${f.file} (${f.why})`).join(', ')}`, bytes);
  }
  return tasks.sort((a, b) => a.priority - b.priority || a.database.localeCompare(b.database) || a.type.localeCompare(b.type));
}
