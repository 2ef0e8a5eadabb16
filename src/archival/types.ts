/** What retention is asked and what each item reports (the `items` of `--enforce-retention --json`, docs/json-output.md). */
import type { WriteLockHolds } from '../maintenance/lock-meter.js';
import type { Logger } from 'pino';
import type { Brain } from '../config/load.js';
import type { MaintenanceResult, ResultStatus } from '../maintenance/types.js';
import type { FreeSpaceProbe } from '../maintenance/preflight.js';
import type { TaskType } from '../task-types.js';
import type { Progress } from '../util/progress.js';

export interface RetentionRequest {
  readonly brain: Brain;
  readonly now: Date;
  readonly dryRun: boolean;
  /** --days N: overrides the item's configured age (only with a single item). */
  readonly days: number | undefined;
  /** --force: lets --prune-patterns delete more than patterns.maxPruneShare of the table. */
  readonly force: boolean;
  readonly logger: Logger;
  readonly env: NodeJS.ProcessEnv;
  readonly probe?: FreeSpaceProbe;
  /** Where the items show how far they are (a terminal's stderr); none by default. */
  readonly progress?: Progress;
}

/** What an item did (or, with --dry-run, would do). */
export interface RetentionOutcome {
  readonly status: ResultStatus;
  readonly message: string;
  /** The item's headline count: conversations archived, lines compressed, logs rotated, patterns pruned. */
  readonly count: number;
  /** Rows per table, lines per kind, files per kind. */
  readonly counts: Readonly<Record<string, number>>;
  /** Files written (or that would be written). */
  readonly files: readonly string[];
  /** Files removed (or that would be removed). */
  readonly removed: readonly string[];
  /** Rows left where they were because their key collides with different rows on the other side (exit 8). */
  readonly conflicts?: readonly string[];
  /** Part of it failed (an I/O error on one of its files), the rest was done: exit 6. */
  readonly incomplete?: boolean;
  /** How long it held a database's write lock (its batches); none for work on files only. */
  readonly writeLock?: WriteLockHolds;
}

export interface RetentionResult extends MaintenanceResult {
  readonly counts: Readonly<Record<string, number>>;
  readonly files: readonly string[];
  readonly removed: readonly string[];
  readonly conflicts: readonly string[];
}

export function outcome(
  status: ResultStatus,
  message: string,
  count: number,
  extra: Partial<
    Pick<RetentionOutcome, 'counts' | 'files' | 'removed' | 'conflicts' | 'incomplete' | 'writeLock'>
  > = {},
): RetentionOutcome {
  return {
    status,
    message,
    count,
    counts: extra.counts ?? {},
    files: extra.files ?? [],
    removed: extra.removed ?? [],
    ...(extra.conflicts?.length ? { conflicts: extra.conflicts } : {}),
    ...(extra.incomplete ? { incomplete: true } : {}),
    ...(extra.writeLock ? { writeLock: extra.writeLock } : {}),
  };
}

/** One unit of retention work as the engine runs it (src/retention/engine.ts). */
export interface RetentionWork {
  readonly type: TaskType;
  /** What it works on: a database name and file, or 'events' / 'logs'. */
  readonly target: { readonly name: string; readonly path: string | null };
  readonly run: () => RetentionOutcome | Promise<RetentionOutcome>;
}
