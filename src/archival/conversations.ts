/** `--archive`: conversations older than the cut-off, except the newest `keepNewest`, move to the archive database. */
import path from 'node:path';
import { eligibleConversationsSql } from '../assess/retention.js';
import type { BrainDatabase, ResolvedConfig } from '../config/load.js';
import { epochSecondsExpr, quoteIdent } from '../db/sql.js';
import { DbmError } from '../errors.js';
import { DAY_MS } from '../util/time.js';
import { archiveRows, restoreRows } from './archive-rows.js';
import type { RetentionOutcome, RetentionRequest } from './types.js';

export function conversationsDatabase(rc: ResolvedConfig): BrainDatabase {
  const name = rc.config.conversations.database;
  const db = rc.databases.find((d) => d.name === name);
  if (!db) throw new DbmError('CONFIG_INVALID', `conversations.database: "${name}" is not one of the databases in the config`, { hint: 'name a key of "databases"' });
  return db;
}

export function conversationArchivePath(rc: ResolvedConfig): string {
  const rule = rc.config.conversations;
  return rule.archivePath ? path.resolve(rc.baseDir, rule.archivePath) : path.join(path.dirname(conversationsDatabase(rc).path), 'conversation_archive.db');
}

export function archiveConversations(req: RetentionRequest): RetentionOutcome {
  const rule = req.rc.config.conversations;
  const days = req.days ?? rule.archiveAfterDays;
  const cutoff = (req.now.getTime() - days * DAY_MS) / 1000;
  const ts = epochSecondsExpr(rule.timestampColumn);
  return archiveRows(
    {
      label: 'conversations',
      source: conversationsDatabase(req.rc),
      archivePath: conversationArchivePath(req.rc),
      table: rule.table,
      key: rule.keyColumn,
      columns: [rule.keyColumn, rule.timestampColumn],
      children: rule.childTables,
      keysSql: eligibleConversationsSql(rule),
      orderBy: `${ts}, ${quoteIdent(rule.keyColumn)}`,
      params: { cutoff, keep: rule.keepNewest },
      batchSize: rule.batchSize,
    },
    req,
  );
}

export function restoreConversation(req: RetentionRequest, id: string): RetentionOutcome {
  const rule = req.rc.config.conversations;
  return restoreRows(
    {
      label: 'conversations',
      singular: 'conversation',
      source: conversationsDatabase(req.rc),
      archivePath: conversationArchivePath(req.rc),
      table: rule.table,
      key: rule.keyColumn,
      children: rule.childTables,
      id,
    },
    req,
  );
}
