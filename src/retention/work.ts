/**
 * The work of each retention task type, as the task registry (src/tasks.ts) hands it to the
 * retention engine: what it works on (for its result's sizes) and the function that does it.
 * The movers are imported when the work runs, so that the registry stays light to load
 * (`--help` and the CLI's rules read it).
 */
import type { RetentionRequest, RetentionWork } from '../archival/types.js';
import type { Brain } from '../config/load.js';
import { conversationsDatabase, databaseNamed, patternsDatabase } from '../config/select.js';

/** A database's path, or null when the config does not name it (the item then reports the error). */
function pathOrNull(fn: () => string): string | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

const conversationsTarget = (brain: Brain): RetentionWork['target'] => ({
  name: brain.config.conversations?.database ?? 'conversations',
  path: pathOrNull(() => conversationsDatabase(brain).path),
});

export const archiveWork = (req: RetentionRequest): RetentionWork[] => [
  {
    type: 'ARCHIVE_CONVERSATIONS',
    target: conversationsTarget(req.brain),
    run: async () => (await import('../archival/conversations.js')).archiveConversations(req),
  },
];

export const eventsWork = (req: RetentionRequest): RetentionWork[] => [
  {
    type: 'COMPRESS_EVENTS',
    target: { name: 'events', path: req.brain.eventsPath ?? null },
    run: async () => (await import('../archival/events.js')).compressEvents(req),
  },
];

export const logsWork = (req: RetentionRequest): RetentionWork[] => [
  {
    type: 'ROTATE_LOGS',
    target: { name: 'logs', path: null },
    run: async () => (await import('../archival/logs.js')).rotateLogs(req),
  },
];

export const patternsWork = (req: RetentionRequest): RetentionWork[] => [
  {
    type: 'PRUNE_PATTERNS',
    target: {
      name: req.brain.config.patterns?.database ?? 'patterns',
      path: pathOrNull(() => patternsDatabase(req.brain).path),
    },
    run: async () => (await import('../archival/patterns.js')).prunePatterns(req),
  },
];

export const restoreWork = (req: RetentionRequest, id?: string): RetentionWork[] => [
  {
    type: 'RESTORE_CONVERSATION',
    target: conversationsTarget(req.brain),
    run: async () => (await import('../archival/conversations.js')).restoreConversation(req, id ?? ''),
  },
];

/** One work item per configured compaction job, in config order (`--compact-logs`, the compaction lane). */
export const compactionWork = (req: RetentionRequest): RetentionWork[] =>
  req.brain.config.compaction.map((job) => ({
    type: 'COMPACT_LOG' as const,
    target: { name: job.database, path: pathOrNull(() => databaseNamed(req.brain, job.database)!.path) },
    run: async () =>
      (await import('../archival/compaction.js')).compactLog(req.brain, job, req.dryRun, req.now, req.progress),
  }));
