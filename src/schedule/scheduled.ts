/**
 * `--scheduled`: meant to be run often (hourly); runs the lanes that are due (cadence.ts) under
 * one lock, each lane its retention work then its maintenance, and records every result plus
 * each lane's outcome for its window. A lane with any failure is not recorded as done, so the
 * next invocation retries it.
 *
 *   daily:   compress events; ANALYZE where statistics are stale
 *   weekly:  archive conversations, rotate logs; the FTS optimize of dead weight, then VACUUM where fragmented
 *   monthly: prune patterns; FTS rebuild/optimize, REINDEX, VACUUM regardless of fragmentation
 *   compaction (daily): the configured append-only log tables, up to their consumers' watermarks;
 *     then a VACUUM of each job's database once per the job's own `vacuumEvery` window
 */
import type { Logger } from 'pino';
import type { RetentionRequest } from '../archival/types.js';
import type { Brain } from '../config/load.js';
import { WEEKDAYS, type Config } from '../config/schema.js';
import { EXIT, worstExitCode, type ExitCode } from '../errors.js';
import { runExitCode, runMaintenance } from '../maintenance/executor.js';
import { runProbes } from '../maintenance/probes.js';
import { acquireRunLock, recordRun } from '../maintenance/safety-net.js';
import type { MaintenanceResult } from '../maintenance/types.js';
import type { CompactionVacuum, LaneReport, RunReport, ScheduledReport } from '../report/json.js';
import { retentionWork, runRetention } from '../retention/engine.js';
import { StateDb } from '../state/state-db.js';
import type { TaskType } from '../task-types.js';
import { rotateScheduledLog } from './scheduled-log.js';
import { decideLanes, windowOf, type Lane, type LaneDecision, type WindowStart } from './cadence.js';

interface LanePlan {
  /** Retention task types, in the order they run. */
  readonly retention: readonly TaskType[];
  /** Planned maintenance tasks of these types (only where the assessment finds them due) ... */
  readonly planned: readonly TaskType[];
  /** ... or these operations whatever the assessment says. */
  readonly requested: readonly TaskType[];
}

export const LANE_PLANS: Readonly<Record<Lane, LanePlan>> = {
  daily: { retention: ['COMPRESS_EVENTS'], planned: ['ANALYZE'], requested: [] },
  weekly: { retention: ['ARCHIVE_CONVERSATIONS', 'ROTATE_LOGS'], planned: ['OPTIMIZE_FTS', 'VACUUM'], requested: [] },
  monthly: {
    retention: ['PRUNE_PATTERNS'],
    planned: ['REPAIR_FTS_TRIGGERS'],
    requested: ['REBUILD_FTS', 'REINDEX', 'VACUUM'],
  },
  compaction: { retention: ['COMPACT_LOG'], planned: [], requested: [] },
};

export interface ScheduledRequest {
  readonly brain: Brain;
  readonly now: Date;
  readonly dryRun: boolean;
  readonly logger: Logger;
  readonly env: NodeJS.ProcessEnv;
  /** What the run is called in the run lock and the history. */
  readonly command: string;
}

export async function runScheduled(sr: ScheduledRequest): Promise<{ report: ScheduledReport; exitCode: ExitCode }> {
  const { brain, now, dryRun, logger, env } = sr;
  const schedule = brain.config.schedule;
  const lock = acquireRunLock({ brain, command: sr.command, now, dryRun });
  try {
    // Under the lock: one run at a time renames it (src/schedule/scheduled-log.ts says why at the start).
    if (!dryRun) rotateScheduledLog(brain.stateDir, { logger });
    // Decided under the lock, from the recorded successes: two overlapping invocations cannot both run a lane.
    const state = StateDb.openReadOnly(brain.stateDir);
    let decisions: LaneDecision[];
    let vacuumPlan: CompactionVacuum[];
    try {
      decisions = decideLanes(
        now,
        schedule.timeZone,
        (l) => schedule[l].enabled,
        (l, w) => state?.laneSucceeded(l, w) ?? false,
        (l) => windowStart(schedule, l),
      );
      vacuumPlan = brain.config.compaction.flatMap((j): CompactionVacuum[] => {
        if (j.vacuumEvery === 'never') return [];
        const window = windowOf(j.vacuumEvery, now, schedule.timeZone, windowStart(schedule, j.vacuumEvery));
        return [
          {
            job: j.name,
            database: j.database,
            every: j.vacuumEvery,
            window,
            status: state?.compactionVacuumSucceeded(j.name, window) ? 'not-due' : 'planned',
          },
        ];
      });
    } finally {
      state?.close();
    }
    const lanes: LaneReport[] = [];
    const results: MaintenanceResult[] = [];
    const timeProbes = !dryRun && brain.config.probes.length > 0 && decisions.some((d) => d.due);
    const probesBefore = timeProbes ? runProbes(brain, 'before') : [];
    for (const d of decisions) {
      if (!d.due) {
        lanes.push({ ...d, status: 'not-due', exitCode: EXIT.ok, retention: null, maintenance: null, vacuums: [] });
        continue;
      }
      const plan = LANE_PLANS[d.lane];
      const req: RetentionRequest = { brain, now, dryRun, days: undefined, force: false, logger, env };
      const retention = await runRetention(req, retentionWork(req, plan.retention));
      const maintain = (
        requested: readonly TaskType[],
        only: readonly TaskType[],
        dbName?: readonly string[],
      ): Promise<RunReport> =>
        runMaintenance({
          brain,
          command: sr.command,
          dbName,
          dryRun,
          requested,
          only,
          deep: false,
          now,
          logger,
          env,
          lockHeld: true,
          record: false,
          probes: false,
          // Unattended: within the writer-wait budget, unless this lane's window allows blocking.
          writerWaitBudgetMs: schedule[d.lane].allowBlocking ? null : brain.config.maintenance.maxWriterWaitMs,
        });
      let maintenance: RunReport | null = null;
      let vacuums: CompactionVacuum[] = [];
      if (plan.planned.length > 0 || plan.requested.length > 0) {
        maintenance = await maintain(plan.requested, plan.planned);
      } else if (d.lane === 'compaction') {
        // The compaction items are the jobs, in config order: a job's VACUUM follows only a compaction that succeeded.
        const compacted = new Set(
          brain.config.compaction.filter((_, i) => retention.report.items[i]?.status === 'ok').map((j) => j.name),
        );
        vacuums = vacuumPlan.map((v) =>
          v.status === 'planned' && !compacted.has(v.job) ? { ...v, status: 'not-run' } : v,
        );
        const databases = [...new Set(vacuums.filter((v) => v.status === 'planned').map((v) => v.database))];
        if (databases.length > 0) {
          const run = await maintain(['VACUUM'], [], databases);
          const status = (db: string): CompactionVacuum['status'] =>
            dryRun
              ? 'planned'
              : (run.results.find((r) => r.database === db && r.type === 'VACUUM')?.status ?? 'failed');
          vacuums = vacuums.map((v) => (v.status === 'planned' ? { ...v, status: status(v.database) } : v));
          maintenance = run;
        }
      }
      const exitCode = worstExitCode([retention.exitCode, maintenance ? runExitCode(maintenance) : EXIT.ok]);
      results.push(...retention.report.items, ...(maintenance?.results ?? []));
      lanes.push({
        ...d,
        status: dryRun ? 'planned' : exitCode === EXIT.ok ? 'ok' : 'failed',
        exitCode,
        retention: retention.report,
        maintenance,
        vacuums,
      });
    }
    const exitCode = worstExitCode(lanes.map((l) => l.exitCode));
    const probes = timeProbes ? runProbes(brain, 'after', probesBefore) : [];
    if (!dryRun && lanes.some((l) => l.status !== 'not-due')) {
      const runId = recordRun({ brain, command: sr.command, now, logger }, exitCode, results, probes);
      recordLanes(brain.stateDir, lanes, runId, now);
    }
    const report: ScheduledReport = {
      version: 1,
      command: 'scheduled',
      dryRun,
      generatedAt: now.toISOString(),
      configPath: brain.configPath,
      timeZone: schedule.timeZone,
      lanes,
      probes,
    };
    return { report, exitCode };
  } finally {
    lock?.release();
  }
}

/** Where the windows of `lane` start (config schedule.LANE.startDay / startHour). */
function windowStart(schedule: Config['schedule'], lane: Lane): WindowStart {
  if (lane === 'weekly')
    return { day: WEEKDAYS.indexOf(schedule.weekly.startDay) + 1, hour: schedule.weekly.startHour };
  if (lane === 'monthly') return { day: schedule.monthly.startDay, hour: schedule.monthly.startHour };
  return { hour: schedule[lane].startHour };
}

function recordLanes(stateDir: string, lanes: readonly LaneReport[], runId: number | null, now: Date): void {
  const state = StateDb.open(stateDir);
  try {
    state.db.transaction(() => {
      for (const l of lanes) {
        if (l.status === 'ok' || l.status === 'failed')
          state.recordLane(l.lane, l.window, runId, now.toISOString(), l.status === 'ok');
        for (const v of l.vacuums) {
          if (v.status !== 'not-due' && v.status !== 'not-run' && v.status !== 'planned')
            state.recordCompactionVacuum(v.job, v.window, runId, now.toISOString(), v.status === 'ok');
        }
      }
    })();
  } finally {
    state.close();
  }
}
