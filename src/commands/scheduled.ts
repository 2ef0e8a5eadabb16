/**
 * `--scheduled [--dry-run]`: meant to be run often (hourly); runs the lanes that are due
 * (src/schedule/cadence.ts) under one lock, each lane its retention items then its maintenance
 * operations, and records every result plus each lane's outcome for its window. A lane with any
 * failure is not recorded as done, so the next invocation retries it.
 *
 *   daily:   compress events; ANALYZE where statistics are stale
 *   weekly:  archive conversations, rotate logs; VACUUM where fragmented
 *   monthly: prune patterns; FTS rebuild/optimize, REINDEX, VACUUM regardless of fragmentation
 *   compaction (daily): the configured append-only log tables, up to their consumers' watermarks;
 *     then a VACUUM of each job's database once per the job's own `vacuumEvery` window
 */
import type { TaskType } from '../assess/types.js';
import type { RetentionRequest } from '../archival/types.js';
import type { CliIo, CliOptions } from '../cli.js';
import { configPathFrom, loadConfig } from '../config/load.js';
import { EXIT, worstExitCode, type ExitCode } from '../errors.js';
import { createLogger } from '../log.js';
import { runExitCode, runMaintenance, type RunReport } from '../maintenance/executor.js';
import { RunLock } from '../maintenance/lock.js';
import type { MaintenanceResult } from '../maintenance/types.js';
import { formatProbes, formatRun } from '../report/run-report.js';
import { runProbes, type ProbeResult } from '../maintenance/probes.js';
import { formatRetention } from '../report/retention-report.js';
import { decideLanes, windowOf, type Lane, type LaneDecision, type WindowStart } from '../schedule/cadence.js';
import { WEEKDAYS, type Config } from '../config/schema.js';
import { recordRunIn, StateDb } from '../state/state-db.js';
import { nowFrom } from '../util/time.js';
import { compactionWork, printItemProblems, RETENTION_ITEMS, runRetention, workFor, type RetentionReport } from './retention.js';

interface LanePlan {
  /** Retention items, by flag. */
  readonly retention: readonly string[];
  /** Planned maintenance tasks of these types (only where the assessment finds them due) ... */
  readonly planned: readonly TaskType[];
  /** ... or these operations whatever the assessment says. */
  readonly forced: readonly TaskType[];
}

export const LANE_PLANS: Readonly<Record<Lane, LanePlan>> = {
  daily: { retention: ['--compress-events'], planned: ['ANALYZE'], forced: [] },
  weekly: { retention: ['--archive', '--rotate-logs'], planned: ['VACUUM'], forced: [] },
  monthly: { retention: ['--prune-patterns'], planned: [], forced: ['REBUILD_FTS', 'REINDEX', 'VACUUM'] },
  compaction: { retention: ['--compact-logs'], planned: [], forced: [] },
};

export interface LaneReport extends LaneDecision {
  /** not-due, or how the lane went. */
  readonly status: 'not-due' | 'ok' | 'failed' | 'planned';
  readonly exitCode: ExitCode;
  readonly retention: RetentionReport | null;
  readonly maintenance: RunReport | null;
  /** The compaction lane: each job's VACUUM on its own cadence ([] in the other lanes). */
  readonly vacuums: readonly CompactionVacuum[];
}

/** A compaction job's VACUUM (`vacuumEvery`), in the window `now` falls in. */
export interface CompactionVacuum {
  readonly job: string;
  readonly database: string;
  readonly every: 'daily' | 'weekly' | 'monthly';
  readonly window: string;
  /**
   * not-due: done for this window; not-run: due, but the job's compaction did not succeed this
   * time (tried again at the next invocation); else the status of the VACUUM (planned in a dry run).
   */
  readonly status: 'not-due' | 'not-run' | 'planned' | MaintenanceResult['status'];
}

export interface ScheduledReport {
  readonly version: 1;
  readonly command: 'scheduled';
  readonly dryRun: boolean;
  readonly generatedAt: string;
  readonly configPath: string;
  readonly timeZone: string;
  readonly lanes: readonly LaneReport[];
  /** The configured probes, timed before the first due lane and after the last ([] when nothing ran). */
  readonly probes: readonly ProbeResult[];
}

export async function scheduledCommand(opts: CliOptions, io: CliIo): Promise<ExitCode> {
  const rc = loadConfig(configPathFrom(opts.config, io.env, io.cwd));
  const logger = createLogger({ level: rc.config.logging.level, file: rc.logFile, verbose: Boolean(opts.verbose), quiet: Boolean(opts.quiet) });
  const now = nowFrom(io.env);
  const dryRun = Boolean(opts.dryRun);
  const schedule = rc.config.schedule;
  const lock = dryRun ? null : RunLock.acquire(rc.stateDir, '--scheduled', now);
  try {
    // Decided under the lock, from the recorded successes: two overlapping invocations cannot both run a lane.
    const state = StateDb.openReadOnly(rc.stateDir);
    let decisions: LaneDecision[];
    let vacuumPlan: CompactionVacuum[];
    try {
      decisions = decideLanes(now, schedule.timeZone, (l) => schedule[l].enabled, (l, w) => state?.laneSucceeded(l, w) ?? false, (l) => windowStart(schedule, l));
      vacuumPlan = rc.config.compaction.flatMap((j): CompactionVacuum[] => {
        if (j.vacuumEvery === 'never') return [];
        const window = windowOf(j.vacuumEvery, now, schedule.timeZone, windowStart(schedule, j.vacuumEvery));
        return [{ job: j.name, database: j.database, every: j.vacuumEvery, window, status: state?.compactionVacuumSucceeded(j.name, window) ? 'not-due' : 'planned' }];
      });
    } finally {
      state?.close();
    }
    const lanes: LaneReport[] = [];
    const results: MaintenanceResult[] = [];
    const timeProbes = !dryRun && rc.config.probes.length > 0 && decisions.some((d) => d.due);
    const probesBefore = timeProbes ? runProbes(rc, 'before') : [];
    for (const d of decisions) {
      if (!d.due) {
        lanes.push({ ...d, status: 'not-due', exitCode: EXIT.ok, retention: null, maintenance: null, vacuums: [] });
        continue;
      }
      const plan = LANE_PLANS[d.lane];
      const req: RetentionRequest = { rc, now, dryRun, days: undefined, force: false, logger, env: io.env };
      const items = RETENTION_ITEMS.filter((i) => plan.retention.includes(i.flag));
      const retention = await runRetention(req, [...workFor(items, req), ...(plan.retention.includes('--compact-logs') ? compactionWork(req) : [])]);
      const maintain = (forced: readonly TaskType[], only: readonly TaskType[], dbName?: readonly string[]): Promise<RunReport> =>
        runMaintenance({ rc, dbName, dryRun, forced, only, deep: false, now, logger, env: io.env, lockHeld: true, record: false, probes: false });
      let maintenance: RunReport | null = null;
      let vacuums: CompactionVacuum[] = [];
      if (plan.planned.length > 0 || plan.forced.length > 0) {
        maintenance = await maintain(plan.forced, plan.planned);
      } else if (d.lane === 'compaction') {
        // The compaction items are the jobs, in config order: a job's VACUUM follows only a compaction that succeeded.
        const compacted = new Set(rc.config.compaction.filter((_, i) => retention.report.items[i]?.status === 'ok').map((j) => j.name));
        vacuums = vacuumPlan.map((v) => (v.status === 'planned' && !compacted.has(v.job) ? { ...v, status: 'not-run' } : v));
        const databases = [...new Set(vacuums.filter((v) => v.status === 'planned').map((v) => v.database))];
        if (databases.length > 0) {
          const run = await maintain(['VACUUM'], [], databases);
          const status = (db: string): CompactionVacuum['status'] => (dryRun ? 'planned' : (run.results.find((r) => r.database === db && r.type === 'VACUUM')?.status ?? 'failed'));
          vacuums = vacuums.map((v) => (v.status === 'planned' ? { ...v, status: status(v.database) } : v));
          maintenance = run;
        }
      }
      const exitCode = worstExitCode([retention.exitCode, maintenance ? runExitCode(maintenance) : EXIT.ok]);
      results.push(...retention.report.items, ...(maintenance?.results ?? []));
      lanes.push({ ...d, status: dryRun ? 'planned' : exitCode === EXIT.ok ? 'ok' : 'failed', exitCode, retention: retention.report, maintenance, vacuums });
    }
    const exitCode = worstExitCode(lanes.map((l) => l.exitCode));
    const probes = timeProbes ? runProbes(rc, 'after', probesBefore) : [];
    if (!dryRun && lanes.some((l) => l.status !== 'not-due')) {
      const runId = recordRunIn(rc.stateDir, { command: '--scheduled', startedAt: now.toISOString(), finishedAt: new Date().toISOString(), exitCode }, results, probes, logger);
      recordLanes(rc.stateDir, lanes, runId, now);
    }
    const report: ScheduledReport = { version: 1, command: 'scheduled', dryRun, generatedAt: now.toISOString(), configPath: rc.configPath, timeZone: schedule.timeZone, lanes, probes };
    io.stdout(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatScheduled(report));
    for (const l of lanes) {
      if (l.retention) printItemProblems(l.retention.items, io);
      for (const p of l.maintenance?.problems ?? []) io.stderr(`${p.message}\n`);
      for (const r of l.maintenance?.results ?? []) {
        if (r.status === 'failed' || r.status === 'partial' || r.status === 'refused') io.stderr(`error: ${r.type} on ${r.database} ${r.status}: ${r.message}\n`);
      }
    }
    return exitCode;
  } finally {
    lock?.release();
  }
}

/** Where the windows of `lane` start (config schedule.LANE.startDay / startHour). */
function windowStart(schedule: Config['schedule'], lane: Lane): WindowStart {
  if (lane === 'weekly') return { day: WEEKDAYS.indexOf(schedule.weekly.startDay) + 1, hour: schedule.weekly.startHour };
  if (lane === 'monthly') return { day: schedule.monthly.startDay, hour: schedule.monthly.startHour };
  return { hour: schedule[lane].startHour };
}

function recordLanes(stateDir: string, lanes: readonly LaneReport[], runId: number | null, now: Date): void {
  const state = StateDb.open(stateDir);
  try {
    state.db.transaction(() => {
      for (const l of lanes) {
        if (l.status === 'ok' || l.status === 'failed') state.recordLane(l.lane, l.window, runId, now.toISOString(), l.status === 'ok');
        for (const v of l.vacuums) {
          if (v.status !== 'not-due' && v.status !== 'not-run' && v.status !== 'planned') state.recordCompactionVacuum(v.job, v.window, runId, now.toISOString(), v.status === 'ok');
        }
      }
    })();
  } finally {
    state.close();
  }
}

function formatScheduled(r: ScheduledReport): string {
  const out: string[] = [`db-maintenance scheduled${r.dryRun ? ' dry run (nothing is changed)' : ''}: ${r.configPath} (windows in ${r.timeZone})`, ''];
  for (const l of r.lanes) {
    out.push(`LANE ${l.lane} ${l.window}: ${l.status}${l.status === 'not-due' ? ` (${l.reason})` : ''}`);
    if (l.retention) out.push(formatRetention(l.retention).trimEnd());
    for (const v of l.vacuums) out.push(`  VACUUM of ${v.database} for compaction job ${v.job} (${v.every}, ${v.window}): ${v.status}`);
    if (l.maintenance) out.push(formatRun(l.maintenance).trimEnd());
    out.push('');
  }
  out.push(...formatProbes(r.probes));
  return `${out.join('\n')}\n`;
}
