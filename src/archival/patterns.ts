/**
 * `--prune-patterns`: patterns below the confidence threshold and unused for N days (never
 * used counts as unused) leave the live table. They are moved, not deleted: the pattern
 * archive keeps them (and their relationship rows) so a mistake can be undone. A guard
 * refuses to take more than `maxPruneShare` of the table unless --force.
 */
import { eligiblePatternsWhere } from '../assess/retention.js';
import type { Brain } from '../config/load.js';
import { DEFAULT_ARCHIVE_FILE } from '../config/archive-files.js';
import { archivePathFor, partRule, patternsDatabase } from '../config/select.js';
import { quoteIdent } from '../db/sql.js';
import { DAY_MS } from '../util/time.js';
import { archiveRows } from './archive-rows.js';
import type { RetentionOutcome, RetentionRequest } from './types.js';

export function patternArchivePath(brain: Brain): string {
  return archivePathFor(
    brain,
    partRule(brain, 'patterns').archivePath,
    patternsDatabase(brain),
    DEFAULT_ARCHIVE_FILE.patterns,
  );
}

export function prunePatterns(req: RetentionRequest): RetentionOutcome {
  const rule = partRule(req.brain, 'patterns');
  const days = req.days ?? rule.unusedDays;
  const cutoff = (req.now.getTime() - days * DAY_MS) / 1000;
  const share = rule.maxPruneShare;
  return archiveRows(
    {
      label: 'patterns',
      progressLabel: 'prune-patterns',
      source: patternsDatabase(req.brain),
      archivePath: patternArchivePath(req.brain),
      table: rule.table,
      key: rule.keyColumn,
      columns: [rule.keyColumn, rule.confidenceColumn, rule.lastUsedColumn],
      children: undefined,
      keysSql: () =>
        `SELECT ${quoteIdent(rule.keyColumn)} FROM ${quoteIdent(rule.table)} WHERE ${eligiblePatternsWhere(rule)}`,
      orderBy: quoteIdent(rule.keyColumn),
      params: { minConfidence: rule.minConfidence, cutoff },
      batchSize: rule.batchSize,
      guard: (eligible, total) =>
        !req.force && total > 0 && eligible / total > share
          ? `${eligible} of ${total} patterns (${((100 * eligible) / total).toFixed(0)}%) match, more than patterns.maxPruneShare (${(share * 100).toFixed(0)}%); nothing was pruned (check the thresholds, or pass --force)`
          : null,
    },
    req,
  );
}
