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

/**
 * A rule's keyColumn must identify one row: the table's primary key, or a column with a UNIQUE
 * index of its own (not partial). Otherwise moving one key moves every row sharing it (a dry
 * run would count one row, the run move all of them).
 */
export function requireUniqueKey(db: Database.Database, rule: string, table: string, key: string): void {
  const k = key.toLowerCase();
  const pk = (db.prepare('SELECT name FROM pragma_table_info(?) WHERE pk > 0').pluck().all(table) as string[]).map(
    (c) => c.toLowerCase(),
  );
  if (pk.length === 1 && pk[0] === k) return;
  const indexes = db
    .prepare('SELECT name FROM pragma_index_list(?) WHERE "unique" = 1 AND partial = 0')
    .pluck()
    .all(table) as string[];
  for (const ix of indexes) {
    const cols = db.prepare('SELECT name FROM pragma_index_info(?)').pluck().all(ix) as Array<string | null>;
    if (cols.length === 1 && cols[0]?.toLowerCase() === k) return;
  }
  throw new DbmError(
    'CONFIG_INVALID',
    `${rule}.keyColumn: column "${key}" of table "${table}" is not unique (neither its primary key nor a UNIQUE index of its own): moving one key would move every row sharing it`,
    { hint: `set ${rule}.keyColumn to the primary key of "${table}"` },
  );
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

/** A table with a foreign key to the conversations table, with the key's ON DELETE action. */
interface RootChild extends ChildTable {
  readonly onDelete: string;
  readonly configured: boolean;
}

function rootChildren(db: Database.Database, rule: ConversationsRule): RootChild[] {
  const lower = (s: string): string => s.toLowerCase();
  const out: RootChild[] = (rule.childTables ?? []).map((c) => ({ ...c, onDelete: 'CASCADE', configured: true }));
  for (const c of childTablesOf(db, rule.table, undefined)) {
    if (out.some((o) => lower(o.table) === lower(c.table) && lower(o.column) === lower(c.column))) continue;
    const onDelete = String(
      db
        .prepare('SELECT on_delete FROM pragma_foreign_key_list(?) WHERE "from" = ? COLLATE NOCASE')
        .pluck()
        .get(c.table, c.column) ?? 'NO ACTION',
    ).toUpperCase();
    out.push({ ...c, onDelete, configured: false });
  }
  return out;
}

/** A column that records when a row was written: declared as a date or time, or named like one. */
function looksLikeTimestamp(name: string, type: string): boolean {
  return /DATE|TIME/i.test(type) || /(^|_)(at|on|time|ts|timestamp|date)$/i.test(name);
}

/**
 * The child rows' timestamp columns that tell a conversation is still in use, per direct child
 * table: `conversations.activityColumns` where it names the table, else found from the schema.
 */
export function activityColumnsOf(
  db: Database.Database,
  rule: ConversationsRule,
): Array<RootChild & { columns: string[] }> {
  return rootChildren(db, rule).map((c) => {
    const given = Object.entries(rule.activityColumns ?? {}).find(([t]) => t.toLowerCase() === c.table.toLowerCase());
    const columns = given
      ? given[1]
      : (
          db.prepare('SELECT name, type FROM pragma_table_info(?)').all(c.table) as Array<{
            name: string;
            type: string;
          }>
        )
          .filter((col) => col.name.toLowerCase() !== c.column.toLowerCase() && looksLikeTimestamp(col.name, col.type))
          .map((col) => col.name);
    return { ...c, columns };
  });
}

/**
 * SQL selecting the keys of conversations the rule would archive (named parameters @cutoff,
 * @keep): older than the cut-off by their own timestamp and by every timestamp of their child
 * rows (a child value that is set but cannot be read as a time counts as recent: unknown is
 * never old), not among the newest `keepNewest`, and with no child row whose foreign key
 * forbids the delete (ON DELETE NO ACTION / RESTRICT, not listed in childTables).
 */
export function eligibleConversationsSql(
  db: Database.Database,
  rule: ConversationsRule,
  opts: { readonly blockers: boolean } = { blockers: true },
): string {
  const t = quoteIdent(rule.table);
  const key = quoteIdent(rule.keyColumn);
  const ts = epochSecondsExpr(rule.timestampColumn);
  const extra: string[] = [];
  for (const c of activityColumnsOf(db, rule)) {
    if (c.table.toLowerCase() === rule.table.toLowerCase()) continue;
    const child = quoteIdent(c.table);
    const link = `${child}.${quoteIdent(c.column)} = ${t}.${quoteIdent(c.references)}`;
    const blocks =
      !c.configured && c.onDelete !== 'CASCADE' && c.onDelete !== 'SET NULL' && c.onDelete !== 'SET DEFAULT';
    if (blocks) {
      if (opts.blockers) extra.push(`NOT EXISTS (SELECT 1 FROM ${child} WHERE ${link})`);
      continue;
    }
    if (c.columns.length === 0) continue;
    const recent = c.columns
      .map((col) => {
        const q = `${child}.${quoteIdent(col)}`;
        const e = epochSecondsExpr(col, c.table);
        return `(${q} IS NOT NULL AND (${e} IS NULL OR ${e} >= @cutoff))`;
      })
      .join(' OR ');
    extra.push(`NOT EXISTS (SELECT 1 FROM ${child} WHERE ${link} AND (${recent}))`);
  }
  return (
    `SELECT ${key} FROM ${t} WHERE ${ts} < @cutoff AND ${key} NOT IN ` +
    `(SELECT ${key} FROM ${t} ORDER BY ${ts} DESC, ${key} DESC LIMIT @keep)` +
    extra.map((e) => ` AND ${e}`).join('')
  );
}

export function countConversations(
  db: Database.Database,
  rule: ConversationsRule,
  now: Date,
  deep: boolean,
): ConversationsHealth {
  requireColumns(db, 'conversations', rule.table, [rule.keyColumn, rule.timestampColumn]);
  requireUniqueKey(db, 'conversations', rule.table, rule.keyColumn);
  const cutoffMs = now.getTime() - rule.archiveAfterDays * DAY_MS;
  const t = quoteIdent(rule.table);
  const ts = epochSecondsExpr(rule.timestampColumn);
  const totals = db.prepare(`SELECT count(*) AS total, coalesce(sum(${ts} IS NULL), 0) AS bad FROM ${t}`).get() as {
    total: number;
    bad: number;
  };
  const params = { cutoff: cutoffMs / 1000, keep: rule.keepNewest };
  const eligibleSql = eligibleConversationsSql(db, rule);
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
  requireUniqueKey(db, 'patterns', rule.table, rule.keyColumn);
  const cutoffMs = now.getTime() - rule.unusedDays * DAY_MS;
  const t = quoteIdent(rule.table);
  const conf = quoteIdent(rule.confidenceColumn);
  const lu = quoteIdent(rule.lastUsedColumn);
  // Never pruned whatever their age: a confidence that is no number, a last-used value in no known format.
  const unusable = `(typeof(${conf}) NOT IN ('integer', 'real') OR (${lu} IS NOT NULL AND ${epochSecondsExpr(rule.lastUsedColumn)} IS NULL))`;
  const row = db
    .prepare(
      `SELECT count(*) AS total, coalesce(sum(${eligiblePatternsWhere(rule)}), 0) AS eligible, coalesce(sum(${unusable}), 0) AS unusable FROM ${t}`,
    )
    .get({ minConfidence: rule.minConfidence, cutoff: cutoffMs / 1000 }) as {
    total: number;
    eligible: number;
    unusable: number;
  };
  return {
    database: rule.database,
    table: rule.table,
    cutoff: new Date(cutoffMs).toISOString(),
    total: Number(row.total),
    eligible: Number(row.eligible),
    unusableRows: Number(row.unusable),
  };
}
