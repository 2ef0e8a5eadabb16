/**
 * The configuration schema: the single source of truth for maintenance.config.json.
 * Types are inferred from it and maintenance.config.schema.json is generated from it
 * (`npm run schema`); a test keeps the committed JSON Schema in step.
 *
 * Every path is relative to the directory of the config file, never to the current
 * directory: cron and Task Scheduler start in `/` or `C:\Windows\System32`.
 */
import { z } from 'zod';
import { isTimeZone } from '../schedule/cadence.js';

const name = z.string().min(1, 'must be a non-empty name');
const relPath = z.string().min(1, 'must be a non-empty path');
const timeoutMs = z
  .number()
  .int('must be a whole number of milliseconds')
  .min(0, 'must not be negative')
  .max(3_600_000, 'must be at most 3600000 ms (an hour)');
const days = z
  .number()
  .positive('must be a positive number of days')
  .max(36_500, 'must be at most 36500 days (100 years)');
const ratio = z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');
const count = z.number().int('must be a whole number').min(0, 'must be 0 or more');
const workers = z.number().int().min(1).max(64).default(2);

export const DatabaseEntrySchema = z.strictObject({
  path: relPath.describe('SQLite database file, relative to the config file.'),
});

export const ChildTableSchema = z.strictObject({
  table: name.describe('Table holding child rows of a conversation.'),
  column: name.describe('Column of the child table that refers to the conversation.'),
  references: name.describe('Column of the conversations table it refers to.'),
});

export const ConversationsSchema = z
  .strictObject({
    database: name.describe('Name of the database (a key of "databases") holding conversations.'),
    table: name.default('conversations'),
    keyColumn: name.default('id').describe('Column that identifies a conversation.'),
    timestampColumn: name
      .default('started_at')
      .describe('Column compared with the archive cut-off (any ISO-8601 or unix-epoch format).'),
    childTables: z
      .array(ChildTableSchema)
      .optional()
      .describe(
        'Child rows moved with a conversation whatever their foreign key says. Tables with a foreign key to the conversations table (and, recursively, to moving tables) follow its ON DELETE action: CASCADE moves them, SET NULL / SET DEFAULT keeps them live with the link cleared (the archive keeps a linked copy), NO ACTION / RESTRICT keeps the conversation live.',
      ),
    activityColumns: z
      .record(name, z.array(name))
      .optional()
      .describe(
        'Per child table, the timestamp columns that show a conversation is still in use: it is archived only when these are older than the cut-off too. Default: the columns of each child table declared as a date or time or named like one (created_at, updated_at, ...); [] for a table turns it off.',
      ),
    archiveAfterDays: days
      .default(30)
      .describe('--archive moves conversations older than this (their timestampColumn) ...'),
    keepNewest: count.default(20).describe('... except the newest N, which are active and never archived.'),
    archivePath: relPath
      .optional()
      .describe(
        'Archive database (created on first use). Default: conversation_archive.db beside the conversations database.',
      ),
    batchSize: z
      .number()
      .int()
      .min(1)
      .default(200)
      .describe('Conversations moved per transaction (the application waits at most one batch).'),
  })
  .describe('Retention of conversations (archival to a separate database).');

export const PatternsSchema = z
  .strictObject({
    database: name.describe('Name of the database (a key of "databases") holding the patterns.'),
    table: name.default('patterns'),
    keyColumn: name.default('id'),
    confidenceColumn: name.default('confidence'),
    lastUsedColumn: name.default('last_used'),
    minConfidence: ratio.default(0.3).describe('Patterns below this confidence are pruning candidates ...'),
    unusedDays: days.default(90).describe('... when also unused for this many days (or never used).'),
    maxPruneShare: ratio
      .default(0.5)
      .describe('--prune-patterns refuses to delete more than this share of the table unless --force.'),
    archivePath: relPath
      .optional()
      .describe(
        'Pruned patterns are kept in this database so a mistake can be undone. Default: pattern_archive.db beside the patterns database.',
      ),
    batchSize: z.number().int().min(1).default(500).describe('Patterns moved per transaction.'),
  })
  .describe('Pruning of low-confidence, unused patterns.');

const gzipLevel = z.number().int().min(1).max(9);

export const EventsSchema = z.strictObject({
  path: relPath.describe('The append-only event log (one JSON object per line).'),
  timestampField: name
    .default('timestamp')
    .describe('Field of each event holding its time (any ISO-8601 or unix-epoch format).'),
  compressAfterDays: days
    .default(7)
    .describe('--compress-events moves lines older than this into per-month gzip archives.'),
  archiveDir: relPath.optional().describe('Where events_archive_YYYYMM.jsonl.gz go. Default: beside the event log.'),
  gzipLevel: gzipLevel.default(3),
  settleMs: count
    .default(200)
    .describe(
      'How long to look for a moment when no other process holds events.jsonl open (appenders that open, append and close hold it for an instant); a file held all that time is left as it is.',
    ),
  afterSwapCommand: z
    .string()
    .min(1)
    .optional()
    .describe(
      'A shell command run (in the config\'s directory) right after events.jsonl was swapped, that makes the application reopen it, e.g. "kill -HUP $(cat app.pid)"; with it, a file held open is compressed too. DBM_EVENTS_FILE and DBM_EVENTS_PREVIOUS are set.',
    ),
});

export const LogsSchema = z.strictObject({
  dir: relPath.describe('The directory of the application logs.'),
  extension: z.string().min(1).default('.log').describe('Files in dir ending with this are application logs.'),
  rotateAfterDays: days
    .default(90)
    .describe('--rotate-logs gzips a log last written longer ago than this, then removes it.'),
  deleteArchivesAfterDays: days.default(365).describe('Rotated archives (.gz) older than this are deleted.'),
  keepArchives: count.default(50).describe('At most this many rotated archives are kept per log name (the newest).'),
  gzipLevel: gzipLevel.default(3),
});

export const ThresholdsSchema = z.strictObject({
  fragmentationRatio: ratio
    .default(0.2)
    .describe('VACUUM when free pages plus measured page waste exceed this share of the file.'),
  pageWasteAllowance: ratio
    .default(0.25)
    .describe(
      'Unused space inside b-tree pages up to this share is normal slack; only the excess counts as fragmentation.',
    ),
  minReclaimBytes: count.default(1024 * 1024).describe('Never VACUUM to reclaim less than this.'),
  analyzeScaleFactor: ratio
    .default(0.1)
    .describe('ANALYZE when a table changed by more than base + scale factor x rows.'),
  analyzeBaseRows: count.default(50),
  walMaxBytes: count.default(64 * 1024 * 1024).describe('CHECKPOINT when the -wal file exceeds this ...'),
  walRatio: z
    .number()
    .positive()
    .default(0.5)
    .describe('... or this multiple of the database file, whichever is larger.'),
  ftsMaxSegments: count.default(16).describe('OPTIMIZE an FTS5 index whose b-tree has more segments than this.'),
  ftsDeadRatio: ratio
    .default(0.2)
    .describe(
      "OPTIMIZE an FTS5 index (before the database's VACUUM) when more than this share of it is dead weight from deletes (and at least minReclaimBytes).",
    ),
});

export const AssessSchema = z.strictObject({
  busyTimeoutMs: timeoutMs.default(2000).describe('How long assess waits for a database locked by another process.'),
  quickCheckMaxBytes: count
    .default(32 * 1024 * 1024)
    .describe('quick_check runs by default on databases up to this size; --deep runs it on all.'),
  pageWasteMaxPages: count
    .default(16384)
    .describe('dbstat page-waste scan runs by default on databases up to this many pages; --deep on all.'),
  ftsFullCheckMaxBytes: count
    .default(8 * 1024 * 1024)
    .describe(
      "FTS5's integrity-check (rank 1: every row against the index) runs by default on indexes up to this size (about 15-40 ms per MB; it holds the write lock meanwhile); larger ones get the bounded check, --deep checks all.",
    ),
  ftsSampleRows: count
    .default(200)
    .describe('Rows, and index entries, sampled per FTS5 index by the bounded consistency check.'),
  ftsBloatSamplePages: count
    .min(1, 'must be at least 1')
    .default(512)
    .describe(
      "Leaf pages read per FTS5 index to estimate its dead weight (indexes up to ftsFullCheckMaxBytes, and all with --deep, get the exact figure: an 'optimize' of a copy).",
    ),
  workers: workers.describe(
    'Worker threads that assess a fleet (16 databases or more) in parallel; about one per core.',
  ),
});

export const MaintenanceSchema = z.strictObject({
  busyTimeoutMs: timeoutMs
    .default(10_000)
    .describe(
      'How long an operation waits for the database when the application holds it (its writers wait on theirs).',
    ),
  backupDir: relPath.optional().describe('Where backups go. Default: <stateDir>/backups.'),
  keepBackups: z
    .number()
    .int()
    .min(1, 'must keep at least 1 backup')
    .default(3)
    .describe('Backups kept per database; an older one is removed only after a newer one verified.'),
  cacheSizeMiB: z
    .number()
    .int()
    .min(2)
    .max(512)
    .default(16)
    .describe('SQLite page cache for maintenance connections (speeds VACUUM; counts toward memory).'),
  repairFtsTriggers: z
    .boolean()
    .default(false)
    .describe(
      "Unattended runs (--run, --scheduled) replace an external-content FTS5 index's wrong sync triggers by FTS5's documented form, then rebuild the index (as --repair-fts-triggers does).",
    ),
  maxWriterWaitMs: z
    .number()
    .int()
    .min(50, 'must be at least 50 (ms)')
    .max(3_600_000)
    .default(1000)
    .describe(
      "Unattended runs (--run, --scheduled): no single hold of a database's write lock may exceed this; longer work runs in a bounded form (incremental_vacuum batches, FTS5 'merge' steps, ANALYZE with analysis_limit) or is deferred with the command that runs it.",
    ),
  autoVacuum: z
    .enum(['keep', 'incremental'])
    .default('keep')
    .describe(
      "'incremental': the next full VACUUM (--vacuum, or a lane with allowBlocking) switches a database in auto_vacuum=NONE to INCREMENTAL, after which free pages are returned in bounded batches; 'keep' leaves the mode as it is.",
    ),
  workers: workers.describe(
    'Worker threads that maintain a fleet (16 databases or more with work) in parallel, one database per thread at a time; within free disk space.',
  ),
});

export const WatermarkSourceSchema = z.strictObject({
  database: name.optional().describe("Database of the watermark table (default: the log table's)."),
  table: name.describe('Table with one row per consumer ...'),
  column: name.describe('... and the column holding the last id that consumer processed.'),
});

export const CompactionJobSchema = z.strictObject({
  name: name.describe('A name for reports and metrics.'),
  database: name.describe('Database (a key of "databases") holding the append-only log table.'),
  table: name.describe('The append-only log (CDC) table.'),
  idColumn: name.describe('Its monotonically increasing id column.'),
  watermarks: z
    .array(WatermarkSourceSchema)
    .min(1, 'must name at least one watermark source')
    .describe('Where the consumers record how far they have read.'),
  marginRows: count.default(1000).describe('Keep this many ids below the lowest watermark as a safety margin.'),
  batchRows: z
    .number()
    .int()
    .min(1)
    .default(5000)
    .describe(
      'Rows deleted per transaction at most (the application keeps writing in between); fewer when a batch holds the write lock longer than a quarter of maintenance.maxWriterWaitMs (at most 250 ms).',
    ),
  vacuumEvery: z
    .enum(['never', 'daily', 'weekly', 'monthly'])
    .default('never')
    .describe(
      "--scheduled VACUUMs the job's database (backup, verification, restore) once per this window, after a compaction that succeeded; 'never' leaves it to the weekly (where fragmented) and monthly lanes.",
    ),
});

export const ProbeSchema = z.strictObject({
  name: name.describe('A name for reports and history.'),
  database: name.describe('The database (a key of "databases") to run it on.'),
  sql: z
    .string()
    .min(1)
    // A PRAGMA passes query_only and can change the database (journal_mode=DELETE leaves WAL mode).
    .regex(/^\s*(?:(?:--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)\s*)*(?:select|with|values)\b/i, {
      message: 'must be one SELECT (or WITH ... SELECT) query: a probe only reads',
    })
    .describe('A read-only query, e.g. an FTS search: SELECT rowid FROM patterns_fts WHERE patterns_fts MATCH ?'),
  params: z
    .array(z.union([z.string(), z.number(), z.null()]))
    .default([])
    .describe('Values for its ? placeholders.'),
  runs: z.number().int().min(1).max(1000).default(20).describe('Timed runs (after one warm-up) for p50/p95.'),
});

const enabled = (what: string) => z.boolean().default(true).describe(`Run the ${what} lane in --scheduled.`);
const allowBlocking = z
  .boolean()
  .default(false)
  .describe(
    "Let this lane's runs hold the write lock past maintenance.maxWriterWaitMs (a full VACUUM, FTS rebuild, REINDEX): the application's writers wait meanwhile. For a window in which the application is quiet, from startHour.",
  );
const startHour = z
  .number()
  .int()
  .min(0)
  .max(23)
  .default(0)
  .describe('Local hour (0-23, schedule.timeZone) at which its windows start.');
export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;

export const ScheduleSchema = z
  .strictObject({
    timeZone: z
      .string()
      .min(1)
      .default('UTC')
      .refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Berlin')
      .describe(
        'IANA time zone whose calendar days, ISO weeks and months are the windows of the lanes (e.g. Europe/Berlin).',
      ),
    daily: z
      .strictObject({ enabled: enabled('daily (ANALYZE where stale, compress events)'), startHour, allowBlocking })
      .prefault({}),
    weekly: z
      .strictObject({
        enabled: enabled('weekly (VACUUM where fragmented, archive conversations, rotate logs)'),
        startDay: z.enum(WEEKDAYS).default('monday').describe('Day on which its weekly windows start.'),
        startHour,
        allowBlocking,
      })
      .prefault({}),
    monthly: z
      .strictObject({
        enabled: enabled('monthly (FTS rebuild/optimize, REINDEX, prune patterns, full VACUUM)'),
        startDay: z
          .number()
          .int()
          .min(1, 'must be a day of the month from 1 to 28')
          .max(28, 'must be a day of the month from 1 to 28 (every month has it)')
          .default(1)
          .describe('Day of the month (1-28) on which its windows start.'),
        startHour,
        allowBlocking,
      })
      .prefault({}),
    compaction: z
      .strictObject({
        enabled: enabled('compaction (watermark-bounded compaction of the configured log tables, daily)'),
        startHour,
        allowBlocking,
      })
      .prefault({}),
  })
  .describe('--scheduled: each lane runs once per window, decided from the last successful run in the state database.');

export const LoggingSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
  file: relPath.optional().describe('Write logs to this file instead of stderr.'),
});

/**
 * A part of the brain the tool may manage: its section, or `false` (or no section): not
 * managed, not assessed, no warning. `false` is normalized to absent.
 */
function part<T extends z.ZodType>(schema: T, what: string) {
  return z
    .union([z.literal(false), schema])
    .optional()
    .transform((v): z.output<T> | undefined => (v === false ? undefined : (v as z.output<T> | undefined)))
    .describe(`${what} Omit it or set it to false when the brain has none: not managed, not assessed.`);
}

export const ConfigSchema = z.strictObject({
  $schema: z.string().optional(),
  databases: z
    .record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'database names use letters, digits, _ . -'), DatabaseEntrySchema)
    .refine((r) => Object.keys(r).length > 0, 'must name at least one database')
    .describe('The databases of the brain, by name (select one with --db NAME).'),
  conversations: part(ConversationsSchema, 'Retention of conversations.'),
  patterns: part(PatternsSchema, 'Pruning of patterns.'),
  events: part(EventsSchema, 'The append-only event log.'),
  logs: part(LogsSchema, 'Rotation of the application logs.'),
  thresholds: ThresholdsSchema.prefault({}),
  assess: AssessSchema.prefault({}),
  maintenance: MaintenanceSchema.prefault({}),
  probes: z
    .array(ProbeSchema)
    .default([])
    .describe('Queries timed before and after --run and --scheduled (p50/p95 before -> after).'),
  compaction: z
    .array(CompactionJobSchema)
    .default([])
    .describe('Append-only log tables compacted up to what every consumer has read (--compact-logs).'),
  schedule: ScheduleSchema.prefault({}),
  stateDir: relPath
    .default('.db-maintenance')
    .describe("The tool's own state (run history, snapshots); never inside a brain database."),
  logging: LoggingSchema.prefault({}),
});

/** The config as written in the file (defaults not yet applied). */
export type ConfigInput = z.input<typeof ConfigSchema>;
/** The config after validation, defaults applied, paths still relative. */
export type Config = z.output<typeof ConfigSchema>;
export type ConversationsRule = NonNullable<Config['conversations']>;
export type PatternsRule = NonNullable<Config['patterns']>;
export type EventsRule = NonNullable<Config['events']>;
export type LogsRule = NonNullable<Config['logs']>;
/** The optional parts of a brain (each may be absent from the config). */
export type BrainPart = 'conversations' | 'patterns' | 'events' | 'logs';
export type Thresholds = Config['thresholds'];
