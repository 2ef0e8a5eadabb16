/** `--archive`: conversations older than the cut-off, except the newest `keepNewest`, move to the archive database. */
import { eligibleConversationsSql } from '../assess/retention.js';
import type { Brain } from '../config/load.js';
import { DEFAULT_ARCHIVE_FILE } from '../config/archive-files.js';
import { archivePathFor, conversationsDatabase, partRule } from '../config/select.js';
import { epochSecondsExpr, quoteIdent } from '../db/sql.js';
import { DAY_MS } from '../util/time.js';
import { archiveRows, restoreRows } from './archive-rows.js';
import type { RetentionOutcome, RetentionRequest } from './types.js';

export function conversationArchivePath(brain: Brain): string {
  return archivePathFor(
    brain,
    partRule(brain, 'conversations').archivePath,
    conversationsDatabase(brain),
    DEFAULT_ARCHIVE_FILE.conversations,
  );
}

export function archiveConversations(req: RetentionRequest): RetentionOutcome {
  const rule = partRule(req.brain, 'conversations');
  const days = req.days ?? rule.archiveAfterDays;
  const cutoff = (req.now.getTime() - days * DAY_MS) / 1000;
  const ts = epochSecondsExpr(rule.timestampColumn);
  return archiveRows(
    {
      label: 'conversations',
      progressLabel: 'archive',
      source: conversationsDatabase(req.brain),
      archivePath: conversationArchivePath(req.brain),
      table: rule.table,
      key: rule.keyColumn,
      columns: [rule.keyColumn, rule.timestampColumn],
      children: rule.childTables,
      keysSql: (db) => eligibleConversationsSql(db, rule),
      oldSql: (db) => eligibleConversationsSql(db, rule, { blockers: false }),
      orderBy: `${ts}, ${quoteIdent(rule.keyColumn)}`,
      params: { cutoff, keep: rule.keepNewest },
      batchSize: rule.batchSize,
    },
    req,
  );
}

export function restoreConversation(req: RetentionRequest, id: string): RetentionOutcome {
  const rule = partRule(req.brain, 'conversations');
  return restoreRows(
    {
      label: 'conversations',
      singular: 'conversation',
      source: conversationsDatabase(req.brain),
      archivePath: conversationArchivePath(req.brain),
      table: rule.table,
      key: rule.keyColumn,
      children: rule.childTables,
      id,
    },
    req,
  );
}
