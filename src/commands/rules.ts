/**
 * The declared rules of the command line: which flags are actions (exactly one per invocation)
 * and which flag goes with which. Dispatch (src/cli.ts) checks them in this order, their
 * messages are the error lines, and `--help` lists them. Light to import (no config loader, no
 * SQLite): `--help` reads it.
 */
import { ENFORCED_RETENTION, REQUESTABLE_OPERATIONS, RETENTION_TYPES, TASKS } from '../tasks.js';
import type { CliOptions } from './context.js';

/** Whether `flag` (e.g. '--rebuild-fts') was given: commander stores it as `rebuildFts`. */
export function flagGiven(opts: CliOptions, flag: string): boolean {
  const key = flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  const v = (opts as Record<string, unknown>)[key];
  return v !== undefined && v !== false;
}

/** `--run` or an operation flag (`--vacuum` ...). */
export const isOperation = (o: CliOptions): boolean =>
  Boolean(o.run) || REQUESTABLE_OPERATIONS.some((t) => flagGiven(o, TASKS[t].flag!));
/** A retention flag (`--archive` ... `--compact-logs`, `--restore-conversation`) or `--enforce-retention`. */
export const isRetention = (o: CliOptions): boolean =>
  Boolean(o.enforceRetention) || RETENTION_TYPES.some((t) => flagGiven(o, TASKS[t].flag!));
/** The retention items of `--enforce-retention` given one by one. */
const singleItems = (o: CliOptions): number => ENFORCED_RETENTION.filter((t) => flagGiven(o, TASKS[t].flag!)).length;

export type ActionName =
  'assess' | 'run' | 'retention' | 'scheduled' | 'print-schedule' | 'doctor' | 'history' | 'init-demo' | 'init-config';

export interface Action {
  readonly name: ActionName;
  /** How it is named in "choose one action, not X and Y". */
  readonly label: string;
  readonly given: (o: CliOptions) => boolean;
}

/** The actions: exactly one per invocation. */
export const ACTIONS: readonly Action[] = [
  { name: 'assess', label: '--assess', given: (o) => Boolean(o.assess) },
  { name: 'run', label: '--run', given: isOperation },
  { name: 'retention', label: 'a retention action', given: isRetention },
  { name: 'scheduled', label: '--scheduled', given: (o) => Boolean(o.scheduled) },
  { name: 'print-schedule', label: '--print-schedule', given: (o) => o.printSchedule !== undefined },
  { name: 'doctor', label: '--doctor', given: (o) => Boolean(o.doctor) },
  { name: 'history', label: '--history', given: (o) => Boolean(o.history) },
  { name: 'init-demo', label: '--init-demo', given: (o) => o.initDemo !== undefined },
  { name: 'init-config', label: '--init-config', given: (o) => o.initConfig !== undefined },
];

export const NO_ACTION =
  'no action given: pass --assess, --run, an operation (--vacuum ...), a retention action (--enforce-retention ...), --history, --init-demo DIR or --init-config DIR';

export interface Rule {
  /** The usage error when `broken` holds (and its hint, if any). */
  readonly message: string;
  readonly hint?: string;
  readonly broken: (o: CliOptions) => boolean;
}

/** "X goes with Y", checked in this order once there is exactly one action. */
export const RULES: readonly Rule[] = [
  { message: '--fail-on goes with --assess', broken: (o) => o.failOn !== undefined && !o.assess },
  { message: '--deep goes with --assess or --run', broken: (o) => Boolean(o.deep) && !(o.assess || isOperation(o)) },
  {
    message:
      '--dry-run goes with --run, an operation flag (--vacuum ...), a retention action, --scheduled or --init-config',
    broken: (o) =>
      Boolean(o.dryRun) && !(isOperation(o) || isRetention(o) || o.scheduled || o.initConfig !== undefined),
  },
  {
    message: '--days goes with --archive, --compress-events, --rotate-logs or --prune-patterns',
    broken: (o) => o.days !== undefined && !isRetention(o),
  },
  {
    message: '--force goes with --prune-patterns or --enforce-retention',
    broken: (o) => Boolean(o.force) && !(o.prunePatterns || o.enforceRetention),
  },
  {
    message: '--restore-conversation goes alone (with --dry-run at most)',
    broken: (o) =>
      o.restoreConversation !== undefined &&
      (singleItems(o) > 0 || Boolean(o.enforceRetention) || Boolean(o.compactLogs)),
  },
  {
    message:
      '--db does not go with retention actions: their databases come from the config (conversations.database, patterns.database)',
    broken: (o) => o.db !== undefined && isRetention(o),
  },
  {
    message:
      '--metrics-file goes with --assess, --run, the operations, the retention actions, --scheduled or --history',
    broken: (o) =>
      o.metricsFile !== undefined &&
      (o.initDemo !== undefined || o.initConfig !== undefined || o.printSchedule !== undefined || Boolean(o.doctor)),
  },
  {
    // Its output is the product, not a report: `--print-schedule cron --quiet | crontab -` must not install nothing.
    message: '--quiet does not go with --print-schedule: the entry it prints is its output',
    broken: (o) => Boolean(o.quiet) && o.printSchedule !== undefined,
  },
  {
    message: '--db does not go with --scheduled: it maintains the whole brain',
    broken: (o) => o.db !== undefined && Boolean(o.scheduled),
  },
  {
    message: '--days goes with exactly one of --archive, --compress-events, --rotate-logs, --prune-patterns',
    hint: '--enforce-retention uses the ages in the config',
    broken: (o) =>
      o.days !== undefined &&
      (Boolean(o.enforceRetention) || o.restoreConversation !== undefined || singleItems(o) !== 1),
  },
  {
    message: '--init-config takes no --config or --db: it inspects DIR and writes DIR/maintenance.config.json',
    broken: (o) => o.initConfig !== undefined && (o.config !== undefined || o.db !== undefined),
  },
];

/** The rules as `--help` lists them. */
export function rulesHelp(): string {
  const lines = [
    `  one action per invocation: ${ACTIONS.map((a) => a.label).join(', ')} (an operation flag counts as --run)`,
  ];
  for (const r of RULES) lines.push(`  ${r.message}${r.hint ? ` (${r.hint})` : ''}`);
  return `\nRules:\n${lines.join('\n')}\n`;
}
