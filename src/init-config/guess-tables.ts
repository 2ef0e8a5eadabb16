/**
 * Which table holds conversations and which holds patterns, from the schemas of the databases
 * found and samples of their rows. Every guess carries its evidence; a part with no candidate is
 * left out of the config.
 *
 * Conversations: a table named like conversations (then threads or chats, then sessions), with
 * a unique key and a timestamp column whose sampled values are times; the root of its
 * foreign-key tree wins over its children of the same name (conversation_tags), then the one with
 * more child tables, then more rows. Child tables come from foreign keys, which the tool follows
 * itself; a table that refers to the conversations by a column named `<conversation>_id` without
 * declaring a foreign key is written as `childTables`.
 *
 * Patterns: a table with a REAL-like column whose sampled values are all in [0, 1] (a
 * confidence) and a last-used timestamp column (last_used, last_accessed, last_seen, ...),
 * ranked by how its name and those columns' names read.
 */
import type { SchemaFacts, TableFacts, ColumnFacts } from './schema-facts.js';
import { describeTimes, mostlyTimes, sampleTimes, type TimeSample } from './timestamps.js';

export interface InspectedDatabase {
  readonly key: string;
  readonly rel: string;
  readonly facts: SchemaFacts;
}

export interface ConversationsGuess {
  readonly database: string;
  readonly table: string;
  readonly keyColumn: string;
  readonly timestampColumn: string;
  readonly childTables?: Array<{ table: string; column: string; references: string }>;
  readonly evidence: string;
  /** The other candidates, as `db.table`. */
  readonly others: string[];
}

export interface PatternsGuess {
  readonly database: string;
  readonly table: string;
  readonly keyColumn: string;
  readonly confidenceColumn: string;
  readonly lastUsedColumn: string;
  readonly evidence: string;
  readonly others: string[];
}

/** A table name without a tier or app prefix (tier1_conversations, app_sessions): the last word or two. */
const bare = (table: string): string => table.toLowerCase().replace(/^(tier\d+|t\d+|app|agent|memory|mem)_/, '');

function conversationsRank(table: string): number {
  const t = bare(table);
  if (/conversation/.test(t)) return 3;
  if (/thread|chat|dialog/.test(t)) return 2;
  if (/session/.test(t)) return 1;
  return 0;
}

/** A column that records a time: declared as a date or time, or named like one. */
function timeLike(c: ColumnFacts): boolean {
  return /DATE|TIME/i.test(c.type) || /(^|_)(at|on|time|ts|timestamp|date|created|started)$/i.test(c.name);
}

/** How well a column's name says "when this conversation started". */
function startRank(name: string): number {
  const n = name.toLowerCase();
  if (/^(started_at|start_time|started|begun_at|opened_at)$/.test(n)) return 5;
  if (/^(created_at|created|creation_time|created_on|create_time)$/.test(n)) return 4;
  if (/^(timestamp|ts|time|date)$/.test(n)) return 3;
  if (/(end|updated|modified|last|deleted|closed|expire)/.test(n)) return 1;
  return 2;
}

/** The table's key: its single-column primary key, else a UNIQUE column (TEXT UUIDs too). */
function keyOf(t: TableFacts): ColumnFacts | undefined {
  return t.columns.find((c) => c.primaryKey) ?? t.columns.find((c) => c.unique);
}

function keyText(k: ColumnFacts): string {
  return `${k.name} ${k.type || 'untyped'} ${k.primaryKey ? 'PRIMARY KEY' : 'UNIQUE'}`;
}

interface TimeColumn {
  readonly column: string;
  readonly sample: TimeSample;
}

/** The best time column of `t` among those `pick` allows: its sampled values must be times (any when the table is empty). */
function timeColumn(
  facts: SchemaFacts,
  t: TableFacts,
  pick: (c: ColumnFacts) => boolean,
  rank: (name: string) => number,
  acceptAllNull: boolean,
): TimeColumn | undefined {
  const cands = t.columns
    .filter(pick)
    .sort((a, b) => rank(b.name) - rank(a.name))
    .map((c) => ({ column: c.name, sample: sampleTimes(facts.sample(t.name, c.name)) }));
  return (
    cands.find((c) => mostlyTimes(c.sample)) ?? (acceptAllNull ? cands.find((c) => c.sample.sampled === 0) : undefined)
  );
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export function guessConversations(dbs: readonly InspectedDatabase[]): ConversationsGuess | { rejected: string[] } {
  interface Cand {
    db: InspectedDatabase;
    t: TableFacts;
    key: ColumnFacts;
    ts: TimeColumn;
    rank: number;
    isChildOfSameKind: boolean;
    fkChildren: string[];
    rows: number;
  }
  const cands: Cand[] = [];
  const rejected: string[] = [];
  for (const db of dbs) {
    for (const t of db.facts.tables) {
      const rank = conversationsRank(t.name);
      if (rank === 0) continue;
      const key = keyOf(t);
      if (!key) {
        rejected.push(`${db.key}.${t.name} has no single-column primary key or UNIQUE column`);
        continue;
      }
      const rows = db.facts.rowCount(t.name);
      const ts = timeColumn(db.facts, t, timeLike, startRank, rows === 0);
      if (db.facts.failed(t.name)) {
        rejected.push(`${db.key}.${t.name} cannot be read`);
        continue;
      }
      if (!ts) {
        rejected.push(`${db.key}.${t.name} has no column whose sampled values are times`);
        continue;
      }
      const fkChildren = db.facts.tables
        .filter((o) => o.name !== t.name && o.foreignKeys.some((fk) => same(fk.parent, t.name)))
        .map((o) => o.name);
      const isChildOfSameKind = t.foreignKeys.some(
        (fk) => !same(fk.parent, t.name) && conversationsRank(fk.parent) >= rank,
      );
      cands.push({ db, t, key, ts, rank, isChildOfSameKind, fkChildren, rows });
    }
  }
  if (cands.length === 0) return { rejected };
  cands.sort(
    (a, b) =>
      b.rank - a.rank ||
      Number(a.isChildOfSameKind) - Number(b.isChildOfSameKind) ||
      b.fkChildren.length - a.fkChildren.length ||
      b.rows - a.rows,
  );
  const best = cands[0]!;
  const implicit = implicitChildren(best.db.facts, best.t, best.key);
  const childText = [
    best.fkChildren.length > 0
      ? `${plural(best.fkChildren.length, 'child table')} by foreign key (${best.fkChildren.join(', ')})`
      : 'no child table by foreign key',
    ...implicit.map((c) => c.why),
  ].join('; ');
  return {
    database: best.db.key,
    table: best.t.name,
    keyColumn: best.key.name,
    timestampColumn: best.ts.column,
    ...(implicit.length > 0 ? { childTables: implicit.map((c) => c.child) } : {}),
    evidence: `key ${keyText(best.key)}; timestamp ${best.ts.column}, ${describeTimes(best.ts.sample)}; ${childText}; ${plural(best.rows, 'row')}`,
    others: cands.slice(1).map((c) => `${c.db.key}.${c.t.name}`),
  };
}

/**
 * Tables that refer to the conversations by a `<conversation>_id` column (or one named like its
 * key) without a foreign key: moved with them only when named in `childTables`. Taken when most
 * of their sampled values are keys of the conversations table (or the table is empty).
 */
function implicitChildren(
  facts: SchemaFacts,
  conv: TableFacts,
  key: ColumnFacts,
): Array<{ child: { table: string; column: string; references: string }; why: string }> {
  const singular = bare(conv.name).replace(/s$/, '');
  const names = new Set([`${singular}_id`, `${singular}id`]);
  if (!/^(id|rowid)$/i.test(key.name)) names.add(key.name.toLowerCase());
  const out: Array<{ child: { table: string; column: string; references: string }; why: string }> = [];
  for (const t of facts.tables) {
    if (same(t.name, conv.name) || t.foreignKeys.some((fk) => same(fk.parent, conv.name))) continue;
    const col = t.columns.find((c) => names.has(c.name.toLowerCase()));
    if (!col) continue;
    const m = facts.matchingKeys(t.name, col.name, conv.name, key.name);
    if (facts.failed(t.name) || (m.sampled > 0 && m.found * 10 < m.sampled * 9)) continue;
    out.push({
      child: { table: t.name, column: col.name, references: key.name },
      why: `${t.name}.${col.name} refers to ${conv.name}.${key.name} without a foreign key (${m.sampled === 0 ? 'no rows to check' : `${m.found}/${m.sampled} sampled values are its keys`}): written as childTables`,
    });
  }
  return out;
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

function patternsNameRank(table: string): number {
  const t = bare(table);
  if (/^(patterns?|learned_patterns?)$/.test(t)) return 3;
  if (/pattern/.test(t)) return 2;
  if (/knowledge|insight|lesson|fact|memor|skill|rule/.test(t)) return 1;
  return 0;
}

function confidenceRank(name: string): number {
  const n = name.toLowerCase();
  if (n === 'confidence') return 3;
  if (/confidence/.test(n)) return 2;
  if (/score|weight|strength|probability|certainty|relevance/.test(n)) return 1;
  return 0;
}

function lastUsedRank(name: string): number {
  const n = name.toLowerCase();
  if (/^last_?used(_at|_on|_time)?$|^used_at$/.test(n)) return 3;
  if (/^last_?(accessed|access|hit|referenced|applied|retrieved)(_at|_on|_time)?$|^accessed_at$/.test(n)) return 2;
  if (/^last_?(seen|active|activity)(_at|_on|_time)?$/.test(n)) return 1;
  return 0;
}

const realLike = (c: ColumnFacts): boolean => c.type === '' || /REAL|FLOA|DOUB|NUM|DEC/i.test(c.type);

export function guessPatterns(
  dbs: readonly InspectedDatabase[],
  exclude: { database: string; table: string } | undefined,
): PatternsGuess | { rejected: string[] } {
  interface Cand {
    db: InspectedDatabase;
    t: TableFacts;
    key: ColumnFacts;
    conf: { column: string; sampled: number };
    used: TimeColumn;
    score: number;
    rows: number;
  }
  const cands: Cand[] = [];
  const rejected: string[] = [];
  for (const db of dbs) {
    for (const t of db.facts.tables) {
      if (exclude && exclude.database === db.key && same(exclude.table, t.name)) continue;
      const confCols = t.columns.filter((c) => realLike(c) && confidenceRank(c.name) > 0);
      const usedCols = t.columns.filter((c) => lastUsedRank(c.name) > 0);
      if (confCols.length === 0 || usedCols.length === 0) continue;
      const conf = confCols
        .sort((a, b) => confidenceRank(b.name) - confidenceRank(a.name))
        .map((c) => ({ column: c.name, ...ratioSample(db.facts.sample(t.name, c.name)) }))
        .find((s) => s.ok);
      if (!conf) {
        rejected.push(`${db.key}.${t.name}: no confidence-like column has all its sampled values in [0, 1]`);
        continue;
      }
      const used = timeColumn(db.facts, t, (c) => lastUsedRank(c.name) > 0, lastUsedRank, true);
      if (db.facts.failed(t.name)) {
        rejected.push(`${db.key}.${t.name} cannot be read`);
        continue;
      }
      if (!used) {
        rejected.push(`${db.key}.${t.name}: no last-used column whose sampled values are times`);
        continue;
      }
      const key = keyOf(t);
      if (!key) {
        rejected.push(`${db.key}.${t.name} has no single-column primary key or UNIQUE column`);
        continue;
      }
      const score = patternsNameRank(t.name) + confidenceRank(conf.column) + lastUsedRank(used.column);
      cands.push({ db, t, key, conf, used, score, rows: db.facts.rowCount(t.name) });
    }
  }
  if (cands.length === 0) return { rejected };
  cands.sort((a, b) => b.score - a.score || b.rows - a.rows);
  const best = cands[0]!;
  const usedText =
    best.used.sample.sampled === 0 ? 'all NULL (never used) or no rows' : describeTimes(best.used.sample);
  return {
    database: best.db.key,
    table: best.t.name,
    keyColumn: best.key.name,
    confidenceColumn: best.conf.column,
    lastUsedColumn: best.used.column,
    evidence: `key ${keyText(best.key)}; confidence ${best.conf.column}, ${best.conf.sampled === 0 ? 'no rows to sample' : `in [0, 1] in ${best.conf.sampled}/${best.conf.sampled} sampled rows`}; last used ${best.used.column}, ${usedText}; ${plural(best.rows, 'row')}`,
    others: cands.slice(1).map((c) => `${c.db.key}.${c.t.name}`),
  };
}

/** Whether every sampled non-NULL value is a number in [0, 1]. */
function ratioSample(values: readonly unknown[]): { ok: boolean; sampled: number } {
  let sampled = 0;
  for (const v of values) {
    if (v === null) continue;
    sampled++;
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) return { ok: false, sampled };
  }
  return { ok: true, sampled };
}
