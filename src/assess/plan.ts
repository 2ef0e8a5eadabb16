/**
 * Planning: health signals -> prioritized maintenance tasks. The one planner: `--assess` shows
 * its output, `--run --dry-run` and `--run` (and the lanes of `--scheduled`) use the same tasks,
 * in the one order of the task registry (src/tasks.ts: priority, rank, database).
 */
import type { Config } from '../config/schema.js';
import { bytes } from '../util/format.js';
import { lastRunKey, type StateDb } from '../state/state-db.js';
import { compareTasks, TASKS } from '../tasks.js';
import type { Priority, TaskType } from '../task-types.js';
import type { Assessment } from '../report/json.js';
import { backupSeconds, firstRunEstimate, quantitiesOf, type Quantities } from './estimates.js';
import type { DatabaseHealth, EventsHealth, LogsHealth, MaintenanceTask, RetentionHealth } from './types.js';

export interface PlanHistory {
  lastRun(database: string, type: TaskType): string | null;
  /** Measured throughput (units of workUnits a second: the database's bytes, or a retention task's items), or null without history. */
  throughput(database: string, type: TaskType): number | null;
  /** Bytes per millisecond of the longest write-lock hold of recent full runs, or null. */
  holdRate?(database: string, type: TaskType): number | null;
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
 * A task with its estimate: `workUnits` (the database's bytes, or the items or bytes of a
 * retention task) over the throughput recorded runs measured; without history, the first-run
 * estimate (estimates.ts) from the database's measured `quantities`, or for a retention task
 * `workUnits` over the registry's rate.
 */
export function makeTask(
  type: TaskType,
  database: string,
  reason: string,
  workUnits: number,
  history: PlanHistory,
  extra: { reclaimableBytes?: number; priority?: Priority; quantities?: Quantities } = {},
): MaintenanceTask {
  const measured = history.throughput(database, type);
  const { priority, quantities, ...rest } = extra;
  const spec = TASKS[type];
  const firstRun = quantities
    ? firstRunEstimate(spec.firstRun, spec.operation?.guarded ?? false, quantities)
    : {
        seconds: (spec.firstRun.fixedSeconds ?? 0) + workUnits / spec.firstRun.rate,
        holdSeconds: workUnits / spec.firstRun.rate,
      };
  const seconds = measured === null ? firstRun.seconds : workUnits / measured;
  const estimatedSeconds = Math.max(0.1, Math.round(seconds * 10) / 10);
  // The longest hold of the write lock: from the holds recent full runs measured, else the
  // estimate's part that is not the backup (or with history, the whole task's): an upper bound.
  const holdRate = history.holdRate?.(database, type) ?? null;
  const heuristicHoldMs = measured === null ? firstRun.holdSeconds * 1000 : estimatedSeconds * 1000;
  return {
    id: `${database}:${type}`,
    type,
    database,
    priority: priority ?? spec.priority,
    reason,
    estimatedSeconds,
    estimateSource: measured === null ? 'heuristic' : 'history',
    estimatedHoldMs:
      holdRate === null ? Math.max(1, Math.round(heuristicHoldMs)) : Math.max(1, Math.round(workUnits / holdRate)),
    holdEstimateSource: holdRate === null ? (measured === null ? 'heuristic' : 'history') : 'history',
    lastRun: history.lastRun(database, type),
    ...rest,
  };
}

/**
 * The tasks of a run, in its order, with their first-run estimates as the run takes them: a
 * database's backup is taken once, before its first guarded task, so the later ones on the same
 * database do not include it. (--assess lists each task as if it ran alone.)
 */
export function inRunOrder(tasks: readonly MaintenanceTask[], databases: readonly DatabaseHealth[]): MaintenanceTask[] {
  const backedUp = new Set<string>();
  return tasks.map((t) => {
    if (!TASKS[t.type].operation?.guarded) return t;
    const first = !backedUp.has(t.database);
    backedUp.add(t.database);
    const h = databases.find((d) => d.name === t.database);
    if (first || t.estimateSource !== 'heuristic' || !h) return t;
    const less = Math.max(0.1, Math.round((t.estimatedSeconds - backupSeconds(quantitiesOf(h))) * 10) / 10);
    return { ...t, estimatedSeconds: less };
  });
}

/** PlanHistory over the state database (NO_HISTORY without one). */
export function planHistoryFrom(state: StateDb | null): PlanHistory {
  if (!state) return NO_HISTORY;
  const last = state.lastRuns();
  return {
    lastRun: (d, t) => last.get(lastRunKey(d, t)) ?? null,
    throughput: (d, t) => state.throughput(d, t, TASKS[t].firstRun.per === 'items' ? 'items' : 'bytes'),
    holdRate: (d, t) => state.holdRate(d, t),
  };
}

export function planTasks(input: PlanInput): MaintenanceTask[] {
  const { thresholds } = input.config;
  const tasks: MaintenanceTask[] = [];
  const add = (
    type: TaskType,
    database: string,
    reason: string,
    workUnits: number,
    extra: { reclaimableBytes?: number } = {},
  ): void => {
    // A maintenance task's first-run estimate comes from its database's measured quantities.
    const h = TASKS[type].operation ? input.databases.find((d) => d.name === database) : undefined;
    tasks.push(
      makeTask(type, database, reason, workUnits, input.history, h ? { ...extra, quantities: quantitiesOf(h) } : extra),
    );
  };

  for (const h of input.databases) {
    if (h.status !== 'ok') continue;
    const size = h.fileBytes ?? 0;
    const broken = (h.fts ?? []).filter((f) => f.status === 'drift' || f.status === 'corrupt');
    const wrongTriggers = (h.fts ?? []).filter((f) => f.triggers?.status === 'wrong');
    if (wrongTriggers.length > 0 && input.config.maintenance.repairFtsTriggers) {
      // Repairs the cause and rebuilds every drifted index of the database in one transaction.
      const why = [
        ...wrongTriggers.map((f) => `FTS index "${f.table}": ${f.triggers!.problems.map((p) => p.problem).join('; ')}`),
        ...broken.filter((f) => !wrongTriggers.includes(f)).map((f) => `FTS index "${f.table}": ${f.detail}`),
      ];
      add('REPAIR_FTS_TRIGGERS', h.name, why.join('; '), size);
    } else if (broken.length > 0) {
      const again = broken.filter((f) => f.triggers?.status === 'wrong');
      const note = again.length
        ? `; its triggers will break ${again.map((f) => `"${f.table}"`).join(', ')} again (--repair-fts-triggers, or maintenance.repairFtsTriggers)`
        : '';
      add('REBUILD_FTS', h.name, broken.map((f) => `FTS index "${f.table}": ${f.detail}`).join('; ') + note, size);
    }
    // What an optimize of the index's dead weight frees (it runs first), VACUUM then returns.
    const ftsFreed = (h.fts ?? [])
      .filter((f) => f.status === 'bloated' && f.bloat?.due)
      .reduce((sum, f) => sum + f.bloat!.reclaimableBytes, 0);
    const frag = h.fragmentationRatio ?? 0;
    const reclaim = h.reclaimableBytes ?? 0;
    const fragAfter = size > 0 ? frag + ftsFreed / size : frag;
    if (fragAfter > thresholds.fragmentationRatio && reclaim + ftsFreed >= thresholds.minReclaimBytes) {
      const waste =
        h.pageWaste?.status === 'measured' ? ` and ${pct(h.pageWaste.ratio ?? 0)} unused space inside pages` : '';
      const now = `${pct(h.freelistRatio ?? 0)} of pages free${waste}`;
      const why =
        ftsFreed === 0
          ? `fragmentation ${pct(frag)} > ${pct(thresholds.fragmentationRatio)}: ${now}; about ${bytes(reclaim)} reclaimable`
          : `fragmentation ${pct(fragAfter)} > ${pct(thresholds.fragmentationRatio)} once the FTS optimize before it frees about ${bytes(ftsFreed)}: ${now} now; about ${bytes(reclaim + ftsFreed)} reclaimable`;
      add('VACUUM', h.name, why, size, { reclaimableBytes: reclaim + ftsFreed });
    }
    const wal = h.walBytes ?? 0;
    const walLimit = Math.max(thresholds.walMaxBytes, thresholds.walRatio * size);
    if (wal > walLimit) {
      const growth =
        h.walGrowth && h.walGrowth.bytes > 0
          ? `, grew ${bytes(h.walGrowth.bytes)} since ${h.walGrowth.since.slice(0, 16)}`
          : '';
      add(
        'CHECKPOINT',
        h.name,
        `WAL is ${bytes(wal)}${growth}, over ${bytes(walLimit)} (max of walMaxBytes and walRatio x database)`,
        wal,
      );
    }
    const stats = h.statistics;
    if (stats && (stats.status === 'missing' || stats.status === 'stale')) {
      const shown = stats.staleTables
        .slice(0, 3)
        .map((t) =>
          t.analyzedRows === null
            ? `"${t.table}" never analyzed (${t.currentRows} rows)`
            : `"${t.table}" ${t.analyzedRows} -> ${t.currentRows} rows`,
        );
      const more = stats.staleTables.length > 3 ? ` and ${stats.staleTables.length - 3} more` : '';
      const head =
        stats.status === 'missing'
          ? 'no statistics (sqlite_stat1 missing)'
          : 'statistics drifted past base + scale factor';
      add('ANALYZE', h.name, `${head}: ${shown.join(', ')}${more}`, size);
    }
    const bloated = (h.fts ?? []).filter((f) => f.status === 'bloated');
    if (bloated.length > 0) {
      add(
        'OPTIMIZE_FTS',
        h.name,
        bloated.map((f) => `FTS index "${f.table}": ${f.detail}`).join('; '),
        size,
        ftsFreed > 0 ? { reclaimableBytes: ftsFreed } : {},
      );
    }
  }

  const conv = input.retention?.conversations;
  if (conv && input.config.conversations && conv.eligible > 0) {
    add(
      'ARCHIVE_CONVERSATIONS',
      conv.database,
      `${conv.eligible} of ${conv.total} conversations started before ${conv.cutoff.slice(0, 10)} (the newest ${input.config.conversations.keepNewest} are kept active)`,
      conv.eligible,
    );
  }
  const pat = input.retention?.patterns;
  if (pat && input.config.patterns && pat.eligible > 0) {
    add(
      'PRUNE_PATTERNS',
      pat.database,
      `${pat.eligible} of ${pat.total} patterns below confidence ${input.config.patterns.minConfidence} and unused since ${pat.cutoff.slice(0, 10)}`,
      pat.eligible,
    );
  }
  const ev = input.events;
  if (ev && ev.exists && ev.olderLines > 0) {
    add(
      'COMPRESS_EVENTS',
      'events',
      `${ev.olderLines} event lines (${bytes(ev.olderBytes)}) older than ${ev.cutoff.slice(0, 10)}`,
      ev.olderBytes,
      {
        reclaimableBytes: ev.olderBytes,
      },
    );
  }
  const logs = input.logs;
  if (logs && logs.eligible.length > 0) {
    const bytes = logs.eligible.reduce((s, f) => s + f.bytes, 0);
    add(
      'ROTATE_LOGS',
      'logs',
      `${logs.eligible.length} log files due: ${logs.eligible.map((f) => `${f.file} (${f.why})`).join(', ')}`,
      bytes,
    );
  }
  return tasks.sort(compareTasks);
}

/**
 * Tasks for operations requested whatever the assessment says (the operation flags, the monthly
 * lane), on every selected database the assessment could read. A requested task keeps the
 * priority the plan gave it when it is also due.
 */
export function requestedTasks(
  a: Pick<Assessment, 'databases' | 'tasks'>,
  types: readonly TaskType[],
  history: PlanHistory,
): MaintenanceTask[] {
  const out: MaintenanceTask[] = [];
  for (const h of a.databases) {
    if (h.status !== 'ok') continue;
    for (const type of types) {
      // Only where there is something it could repair: no backup of a database without such an index.
      if (type === 'REPAIR_FTS_TRIGGERS' && !(h.fts ?? []).some((f) => f.kind === 'external')) continue;
      const planned = a.tasks.find((t) => t.database === h.name && t.type === type);
      const flag = TASKS[type].flag ?? type;
      const reason = planned ? `requested with ${flag}; also due: ${planned.reason}` : `requested with ${flag}`;
      out.push(
        makeTask(type, h.name, reason, type === 'CHECKPOINT' ? (h.walBytes ?? 0) : (h.fileBytes ?? 0), history, {
          priority: planned?.priority ?? 2,
          quantities: quantitiesOf(h),
          ...(type === 'VACUUM' && h.reclaimableBytes !== undefined ? { reclaimableBytes: h.reclaimableBytes } : {}),
        }),
      );
    }
  }
  return out.sort(compareTasks);
}
