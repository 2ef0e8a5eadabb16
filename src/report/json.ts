/**
 * The `--json` documents, one named type per command: the contract documented in
 * docs/json-output.md. Within a `version`, fields are only ever added; removing a field or
 * changing what it means bumps `version`. The commands print these objects as they are
 * (`JSON.stringify(doc, null, 2)`), and the library builds them: nothing else defines them.
 *
 * This module only names types: it imports types from the modules that define the parts.
 */
import type { RetentionResult } from '../archival/types.js';
import type {
  AssessmentProblem,
  DatabaseHealth,
  EventsHealth,
  LogsHealth,
  MaintenanceTask,
  RetentionHealth,
} from '../assess/types.js';
import type { DemoSummary } from '../demo/generate.js';
import type { ExitCode } from '../errors.js';
import type { Evidence } from '../init-config/types.js';
import type { MaintenanceResult, PlannedStep, ProbeResult } from '../maintenance/types.js';
import type { LaneDecision } from '../schedule/cadence.js';
import type { HistoryRun } from '../state/state-db.js';
import type { FailOnLevel, Priority, TaskType } from '../task-types.js';

/** `--assess --json`. */
export interface Assessment {
  readonly version: 1;
  readonly command: 'assess';
  readonly generatedAt: string;
  readonly configPath: string;
  readonly deep: boolean;
  readonly durationMs: number;
  readonly databases: readonly DatabaseHealth[];
  readonly events: EventsHealth | null;
  readonly logs: LogsHealth | null;
  readonly retention: RetentionHealth | null;
  readonly tasks: readonly MaintenanceTask[];
  readonly problems: readonly AssessmentProblem[];
  /** With `--fail-on LEVEL` only: the level, the priority it stands for, and the ids of the due tasks at or above it. */
  readonly failOn?: { readonly level: FailOnLevel; readonly priority: Priority; readonly tasks: readonly string[] };
}

/** `--run --json`, the operation flags (`--vacuum ...`) with `--json`, and each lane's maintenance in `--scheduled --json`. */
export interface RunReport {
  readonly version: 1;
  readonly command: 'run';
  readonly dryRun: boolean;
  readonly generatedAt: string;
  readonly configPath: string;
  readonly durationMs: number;
  readonly plan: readonly PlannedStep[];
  readonly results: readonly MaintenanceResult[];
  readonly problems: readonly AssessmentProblem[];
  /** The configured probes timed before and after the tasks ([] with --dry-run or none configured). */
  readonly probes: readonly ProbeResult[];
  /** Retention the assessment found due: not run by --run (by --enforce-retention or its own flag), so not in plan or results. */
  readonly retentionDue: readonly RetentionDue[];
}

/** A retention task found due, named once in a run's report. */
export interface RetentionDue {
  readonly type: TaskType;
  readonly database: string;
  readonly reason: string;
}

/** The retention actions (`--archive` ... `--enforce-retention`, `--compact-logs`, `--restore-conversation`) with `--json`. */
export interface RetentionReport {
  readonly version: 1;
  readonly command: 'retention';
  readonly dryRun: boolean;
  readonly generatedAt: string;
  readonly configPath: string;
  readonly durationMs: number;
  /** What the items moved, by summary key (src/tasks.ts): conversations_archived, events_compressed, ... */
  readonly summary: Readonly<Record<string, number>>;
  readonly items: readonly RetentionResult[];
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

/** One lane of `--scheduled --json`. */
export interface LaneReport extends LaneDecision {
  /** not-due, or how the lane went. */
  readonly status: 'not-due' | 'ok' | 'failed' | 'planned';
  readonly exitCode: ExitCode;
  readonly retention: RetentionReport | null;
  readonly maintenance: RunReport | null;
  /** The compaction lane: each job's VACUUM on its own cadence ([] in the other lanes). */
  readonly vacuums: readonly CompactionVacuum[];
}

/** `--scheduled --json`. */
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

/** One check of `--doctor`. */
export interface DoctorCheck {
  readonly check: string;
  readonly status: 'ok' | 'warn' | 'fail';
  readonly detail: string;
  /** The exit code a failure stands for. */
  readonly exitCode: ExitCode;
}

/** `--doctor --json`. */
export interface DoctorReport {
  readonly version: 1;
  readonly command: 'doctor';
  readonly configPath: string;
  readonly checks: readonly DoctorCheck[];
}

/** `--history --json`: the newest runs first. */
export interface HistoryReport {
  readonly version: 1;
  readonly command: 'history';
  readonly runs: readonly HistoryRun[];
}

/** `--init-config DIR --json` (with `--dry-run`: `written` false). */
export interface InitConfigReport {
  readonly version: 1;
  readonly command: 'init-config';
  readonly configPath: string;
  readonly written: boolean;
  readonly config: Record<string, unknown>;
  readonly evidence: readonly Evidence[];
}

/** `--init-demo DIR --json`. */
export interface InitDemoReport extends DemoSummary {
  readonly version: 1;
  readonly command: 'init-demo';
}
