/** What the retention rules would move: conversations to archive, patterns to prune. Read-only. */
import type Database from 'better-sqlite3';
import { DbmError } from '../errors.js';
import type { ConversationsRule, PatternsRule } from '../config/schema.js';
import { ordinaryTables } from '../db/schema.js';
import { epochSecondsExpr, quoteIdent } from '../db/sql.js';
import { DAY_MS } from '../util/time.js';
import type { RetentionHealth } from './types.js';

export interface ChildTable {
  readonly table: string;
  readonly column: string;
  readonly references: string;
}

type ConversationsHealth = NonNullable<RetentionHealth['conversations']>;
type PatternsHealth = NonNullable<RetentionHealth['patterns']>;

/** Columns of a table, or a config error naming the rule when the table or a column is missing. */
export function requireColumns(db: Database.Database, rule: string, table: string, columns: readonly string[]): void {
  const cols = (db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[]).map((c) =>
    c.toLowerCase(),
  );
  if (cols.length === 0) {
    throw new DbmError('CONFIG_INVALID', `${rule}.table: table "${table}" does not exist in the database`, {
      hint: `set ${rule}.table to the table of your schema`,
    });
  }
  for (const c of columns) {
    if (!cols.includes(c.toLowerCase())) {
      throw new DbmError('CONFIG_INVALID', `${rule}: column "${c}" does not exist in table "${table}"`, {
        hint: `set the ${rule} column names to those of your schema`,
      });
    }
  }
}

/** Child tables of `parent`: from config, else every foreign key that refers to it. */
export function childTablesOf(
  db: Database.Database,
  parent: string,
  configured: readonly ChildTable[] | undefined,
): ChildTable[] {
  if (configured) return [...configured];
  const pk =
    (db.prepare('SELECT name FROM pragma_table_info(?) WHERE pk = 1').pluck().get(parent) as string | undefined) ??
    'rowid';
  const out: ChildTable[] = [];
  for (const t of ordinaryTables(db)) {
    const fks = db
      .prepare('SELECT "table" AS parent, "from" AS col, "to" AS ref FROM pragma_foreign_key_list(?)')
      .all(t) as Array<{
      parent: string;
      col: string;
      ref: string | null;
    }>;
    for (const fk of fks) {
      if (fk.parent.toLowerCase() === parent.toLowerCase() && t.toLowerCase() !== parent.toLowerCase()) {
        out.push({ table: t, column: fk.col, references: fk.ref ?? pk });
      }
    }
  }
  return out;
}

/** SQL (and parameters) selecting the keys of conversations the rule would archive. */
export function eligibleConversationsSql(rule: ConversationsRule): string {
  const t = quoteIdent(rule.table);
  const key = quoteIdent(rule.keyColumn);
  const ts = epochSecondsExpr(rule.timestampColumn);
  return (
    `SELECT ${key} FROM ${t} WHERE ${ts} < @cutoff AND ${key} NOT IN ` +
    `(SELECT ${key} FROM ${t} ORDER BY ${ts} DESC, ${key} DESC LIMIT @keep)`
  );
}

export function countConversations(
  db: Database.Database,
  rule: ConversationsRule,
  now: Date,
  deep: boolean,
): ConversationsHealth {
  requireColumns(db, 'conversations', rule.table, [rule.keyColumn, rule.timestampColumn]);
  const cutoffMs = now.getTime() - rule.archiveAfterDays * DAY_MS;
  const t = quoteIdent(rule.table);
  const ts = epochSecondsExpr(rule.timestampColumn);
  const totals = db.prepare(`SELECT count(*) AS total, coalesce(sum(${ts} IS NULL), 0) AS bad FROM ${t}`).get() as {
    total: number;
    bad: number;
  };
  const params = { cutoff: cutoffMs / 1000, keep: rule.keepNewest };
  const eligibleSql = eligibleConversationsSql(rule);
  const eligible = Number(db.prepare(`SELECT count(*) FROM (${eligibleSql})`).pluck().get(params));
  const children = childTablesOf(db, rule.table, rule.childTables);
  const childRows = children.map((c) => {
    if (!deep) return { table: c.table, rows: null };
    const sql =
      `SELECT count(*) FROM ${quoteIdent(c.table)} WHERE ${quoteIdent(c.column)} IN ` +
      `(SELECT ${quoteIdent(c.references)} FROM ${t} WHERE ${quoteIdent(rule.keyColumn)} IN (${eligibleSql}))`;
    return { table: c.table, rows: Number(db.prepare(sql).pluck().get(params)) };
  });
  return {
    database: rule.database,
    table: rule.table,
    cutoff: new Date(cutoffMs).toISOString(),
    total: Number(totals.total),
    eligible,
    unparseableTimestamps: Number(totals.bad),
    childRows,
  };
}

export function eligiblePatternsWhere(rule: PatternsRule): string {
  const conf = quoteIdent(rule.confidenceColumn);
  const lu = quoteIdent(rule.lastUsedColumn);
  return `${conf} < @minConfidence AND (${lu} IS NULL OR ${epochSecondsExpr(rule.lastUsedColumn)} < @cutoff)`;
}

export function countPatterns(db: Database.Database, rule: PatternsRule, now: Date): PatternsHealth {
  requireColumns(db, 'patterns', rule.table, [rule.keyColumn, rule.confidenceColumn, rule.lastUsedColumn]);
  const cutoffMs = now.getTime() - rule.unusedDays * DAY_MS;
  const t = quoteIdent(rule.table);
  const row = db
    .prepare(`SELECT count(*) AS total, coalesce(sum(${eligiblePatternsWhere(rule)}), 0) AS eligible FROM ${t}`)
    .get({ minConfidence: rule.minConfidence, cutoff: cutoffMs / 1000 }) as { total: number; eligible: number };
  return {
    database: rule.database,
    table: rule.table,
    cutoff: new Date(cutoffMs).toISOString(),
    total: Number(row.total),
    eligible: Number(row.eligible),
  };
}
