/**
 * Moving rows between a live database and its archive: a set of parent rows (conversations,
 * patterns) with every descendant row (found from the schema's foreign keys, recursively).
 *
 * The protocol, per batch, so a crash at any instant converges on a re-run:
 *   1. the "from" side's write lock (BEGIN IMMEDIATE): its rows cannot change until step 3;
 *   2. the "to" side, in its own transaction: delete any earlier copy of these keys (a run
 *      killed between 2 and 3 leaves one), insert the rows by column names, check the counts
 *      against the "from" side, COMMIT (durable);
 *   3. the "from" side deletes exactly those rows, checks the counts, COMMIT.
 * A crash between 2 and 3 leaves the rows in both; the live database is the truth, so the next
 * archive run copies them again over the earlier copy and deletes them, and a restore re-run
 * only deletes the archive's copy. Never one transaction across both files: in WAL mode SQLite
 * commits attached databases one after the other, the live one first.
 *
 * Foreign-key enforcement is off on these connections: every descendant is moved explicitly,
 * and no ON DELETE CASCADE can delete a row that was not copied.
 */
import Database from 'better-sqlite3';
import { DbmError } from '../errors.js';
import { checkFtsTriggers } from '../db/fts-triggers.js';
import { contentRowidExpr, ftsCommandSql, type FtsTable } from '../db/fts5.js';
import { prepared } from '../db/statements.js';
import { quoteIdent } from '../db/sql.js';
import type { MoveNode, MoveSet, RefNode } from './move-set.js';

const KEYS = 'temp."_dbm_keys"';

export type { Blocker, Edge, FkAction, MoveNode, MoveSet, RefNode } from './move-set.js';
export { discoverMoveSet } from './move-set.js';

/** WHERE clause selecting the rows of `node` that belong to the keys in temp._dbm_keys, over `schema`. */
export function whereFor(set: MoveSet, node: MoveNode, schema: string, keysSql = `SELECT k FROM ${KEYS}`): string {
  const s = quoteIdent(schema);
  if (node.edges.length === 0) return `${quoteIdent(set.key)} IN (${keysSql})`;
  return node.edges
    .map((e) => {
      const parent = set.nodes.find((n) => n.table === e.parent)!;
      return `${quoteIdent(e.column)} IN (SELECT ${quoteIdent(e.references)} FROM ${s}.${quoteIdent(parent.table)} WHERE ${whereFor(set, parent, schema, keysSql)})`;
    })
    .map((w) => `(${w})`)
    .join(' OR ');
}

interface ColumnInfo {
  readonly name: string;
  readonly type: string;
  readonly notnull: boolean;
  readonly dflt: string | null;
  readonly pk: number;
}

function columnsOf(db: Database.Database, schema: string, table: string): ColumnInfo[] {
  const rows = prepared(
    db,
    `SELECT name, type, "notnull" AS nn, dflt_value AS dflt, pk FROM pragma_table_info(?, ?)`,
  ).all(table, schema) as Array<{
    name: string;
    type: string;
    nn: number;
    dflt: string | null;
    pk: number;
  }>;
  return rows.map((r) => ({ name: r.name, type: r.type, notnull: r.nn === 1, dflt: r.dflt, pk: r.pk }));
}

function tableSql(db: Database.Database, schema: string, table: string): string | undefined {
  return prepared(
    db,
    `SELECT sql FROM ${quoteIdent(schema)}.sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE`,
  )
    .pluck()
    .get(table) as string | undefined;
}

/** Whether rows of the table have a rowid that is not one of its columns (so it must be copied explicitly). */
function hasHiddenRowid(cols: readonly ColumnInfo[], sql: string): boolean {
  if (/\bWITHOUT\s+ROWID\b/i.test(sql)) return false;
  const pk = cols.filter((c) => c.pk > 0);
  return !(pk.length === 1 && pk[0]!.type.toUpperCase() === 'INTEGER');
}

/** The column list copied for a table from `fromSchema` to `toSchema` (names present on both sides). */
export function copyColumns(db: Database.Database, fromSchema: string, toSchema: string, table: string): string[] {
  const from = columnsOf(db, fromSchema, table);
  const to = columnsOf(db, toSchema, table);
  const toNames = new Set(to.map((c) => c.name.toLowerCase()));
  const fromNames = new Set(from.map((c) => c.name.toLowerCase()));
  const missing = to.filter((c) => c.notnull && c.dflt === null && c.pk === 0 && !fromNames.has(c.name.toLowerCase()));
  if (missing.length) {
    throw new DbmError(
      'ARCHIVE_SCHEMA',
      `table "${table}" of the ${toSchema === 'main' ? 'destination' : toSchema} database requires column(s) ${missing.map((c) => `"${c.name}"`).join(', ')} that the other side does not have`,
      {
        hint: 'the archive schema differs from the source in a way that cannot be bridged: add the column(s) to the source or drop the constraint; nothing was moved',
      },
    );
  }
  const cols = from.filter((c) => toNames.has(c.name.toLowerCase())).map((c) => c.name);
  const sql = tableSql(db, fromSchema, table) ?? '';
  return hasHiddenRowid(from, sql) ? ['rowid', ...cols] : cols;
}

/** Triggers that keep an external-content FTS5 index of the archive in step with its content table. */
function ftsTriggerSql(fts: FtsTable): string[] {
  const f = quoteIdent(fts.name);
  const c = quoteIdent(fts.contentTable!);
  const cols = fts.allColumns.map(quoteIdent);
  const rid = quoteIdent(fts.contentRowid);
  const vals = (p: string): string => [`${p}.${rid}`, ...fts.allColumns.map((x) => `${p}.${quoteIdent(x)}`)].join(', ');
  const ins = `INSERT INTO ${f}(rowid, ${cols.join(', ')}) VALUES (${vals('new')});`;
  const del = `INSERT INTO ${f}(${f}, rowid, ${cols.join(', ')}) VALUES ('delete', ${vals('old')});`;
  const name = (suffix: string): string => quoteIdent(`dbm_${fts.name}_${suffix}`);
  return [
    `CREATE TRIGGER IF NOT EXISTS ${name('ai')} AFTER INSERT ON ${c} BEGIN ${ins} END`,
    `CREATE TRIGGER IF NOT EXISTS ${name('ad')} AFTER DELETE ON ${c} BEGIN ${del} END`,
    `CREATE TRIGGER IF NOT EXISTS ${name('au')} AFTER UPDATE ON ${c} BEGIN ${del} ${ins} END`,
  ];
}

export interface SchemaChanges {
  readonly created: string[];
  readonly addedColumns: string[];
}

/**
 * Gives the archive (`main` of `db`, the live database attached as `src`) the tables of the
 * move set, their indexes and the external-content FTS5 indexes over them (kept by triggers
 * of our own, so the archive stays searchable). A table that exists gets the columns the
 * live one has grown (ADD COLUMN). Checks come first: on a mismatch nothing is changed.
 */
export function ensureArchiveSchema(
  db: Database.Database,
  set: MoveSet,
  sourceFts: readonly FtsTable[],
  dryRun = false,
): SchemaChanges {
  const created: string[] = [];
  const addedColumns: string[] = [];
  const statements: string[] = [];
  const rebuild: string[] = [];
  let backfill = false;
  const archived =
    (prepared(db, `SELECT count(*) FROM "main".sqlite_schema WHERE type = 'table'`).pluck().get() as number) > 0;
  for (const node of [...set.nodes, ...set.refs]) {
    const srcSql = tableSql(db, 'src', node.table);
    if (!srcSql) throw new DbmError('CONFIG_INVALID', `table "${node.table}" does not exist in the live database`);
    const existing = tableSql(db, 'main', node.table);
    if (!existing) {
      created.push(node.table);
      // A reference table new to an archive that already holds rows: what they refer to is copied once.
      if (archived && set.refs.includes(node as RefNode)) backfill = true;
      statements.push(srcSql);
      const idx = prepared(
        db,
        `SELECT sql FROM "src".sqlite_schema WHERE type = 'index' AND tbl_name = ? COLLATE NOCASE AND sql IS NOT NULL`,
      )
        .pluck()
        .all(node.table) as string[];
      statements.push(...idx);
      continue;
    }
    if (/^CREATE VIRTUAL/i.test(existing)) {
      throw new DbmError(
        'ARCHIVE_SCHEMA',
        `"${node.table}" is a virtual table in the archive but an ordinary table in the live database`,
        {
          hint: 'point the archive path at a different file; nothing was moved',
        },
      );
    }
    copyColumns(db, 'src', 'main', node.table); // throws on an unbridgeable difference
    const have = new Set(columnsOf(db, 'main', node.table).map((c) => c.name.toLowerCase()));
    for (const c of columnsOf(db, 'src', node.table)) {
      if (have.has(c.name.toLowerCase())) continue;
      const dflt = c.dflt !== null && !/^\(/.test(c.dflt) && !/CURRENT_/i.test(c.dflt) ? ` DEFAULT ${c.dflt}` : '';
      statements.push(`ALTER TABLE "main".${quoteIdent(node.table)} ADD COLUMN ${quoteIdent(c.name)} ${c.type}${dflt}`);
      addedColumns.push(`${node.table}.${c.name}`);
    }
  }
  const moved = new Set(set.nodes.map((n) => n.table.toLowerCase()));
  for (const fts of sourceFts) {
    if (fts.kind !== 'external' || !moved.has(fts.contentTable!.toLowerCase())) continue;
    const existing = prepared(db, `SELECT sql FROM "main".sqlite_schema WHERE name = ? COLLATE NOCASE`)
      .pluck()
      .get(fts.name) as string | undefined;
    if (!existing) {
      const ddl = prepared(db, `SELECT sql FROM "src".sqlite_schema WHERE name = ?`).pluck().get(fts.name) as string;
      statements.push(ddl);
      created.push(fts.name);
      // Rows the archive already holds (the index was added to the live schema later) get indexed once.
      if (!created.includes(fts.contentTable!)) rebuild.push(fts.name);
    }
    statements.push(...ftsTriggerSql(fts));
  }
  if (dryRun || statements.length === 0) return { created, addedColumns };
  db.transaction(() => {
    for (const s of statements) db.exec(s);
    for (const f of rebuild) prepared(db, ftsCommandSql(f, 'rebuild')).run();
    if (backfill) copyReferenced(db, set, 'src', 'all');
  })();
  return { created, addedColumns };
}

/** Fills temp._dbm_keys of `db` with `keys`. */
export function setKeys(db: Database.Database, keys: readonly unknown[]): void {
  // Keys are exact: integers arrive as BigInt (safeIntegers) and are bound as such.
  db.exec(`CREATE TEMP TABLE IF NOT EXISTS "_dbm_keys"(k)`);
  db.exec(`DELETE FROM ${KEYS}`);
  const ins = prepared(db, `INSERT INTO ${KEYS}(k) VALUES (?)`);
  for (const k of keys) ins.run(k as string | number | bigint | Buffer | null);
}

/** Rows of each table of the set belonging to the keys (temp._dbm_keys, or `keysSql`), in `schema` of `db`. */
export function countRows(
  db: Database.Database,
  set: MoveSet,
  schema: string,
  keysSql?: string,
  params: Record<string, unknown> = {},
): Map<string, number> {
  const out = new Map<string, number>();
  for (const node of set.nodes) {
    const n = prepared(
      db,
      `SELECT count(*) FROM ${quoteIdent(schema)}.${quoteIdent(node.table)} WHERE ${whereFor(set, node, schema, keysSql)}`,
    )
      .pluck()
      .get(params);
    out.set(node.table, Number(n));
  }
  return out;
}

/** Deletes the rows of the keys from `schema` of `db`, children first. Returns rows deleted per table. */
export function deleteRows(
  db: Database.Database,
  set: MoveSet,
  schema: string,
  which: 'all' | 'move' = 'all',
): Map<string, number> {
  const out = new Map<string, number>();
  for (const node of [...set.nodes].reverse()) {
    if (which === 'move' && node.kind !== 'move') continue;
    const r = prepared(
      db,
      `DELETE FROM ${quoteIdent(schema)}.${quoteIdent(node.table)} WHERE ${whereFor(set, node, schema)}`,
    ).run();
    out.set(node.table, r.changes);
  }
  return out;
}

/** Copies the rows of the keys from `fromSchema` into `toSchema` of `db`, parents first. */
export function copyRows(
  db: Database.Database,
  set: MoveSet,
  fromSchema: string,
  toSchema: string,
  which: 'all' | 'move' = 'all',
): Map<string, number> {
  const out = new Map<string, number>();
  for (const node of set.nodes) {
    if (which === 'move' && node.kind !== 'move') continue;
    const cols = copyColumns(db, fromSchema, toSchema, node.table).map(quoteIdent).join(', ');
    const sql =
      `INSERT INTO ${quoteIdent(toSchema)}.${quoteIdent(node.table)} (${cols}) ` +
      `SELECT ${cols} FROM ${quoteIdent(fromSchema)}.${quoteIdent(node.table)} WHERE ${whereFor(set, node, fromSchema)}`;
    out.set(node.table, prepared(db, sql).run().changes);
  }
  return out;
}

export interface MoveOptions {
  /**
   * Earlier copies of the keys on the `to` side are replaced (archiving: the live database is
   * the truth). Only a copy of the same rows is: one whose root row equals the `from` side's
   * in every column both have. A different row under the same key (the application reused
   * it) is a conflict: that key is not moved, and nothing of either side is touched.
   */
  readonly replace: boolean;
  /** Which side is the application's database: its triggers do not run during the move, and its FTS5 indexes are kept by us. */
  readonly live: 'from' | 'to';
  /** The live database's FTS5 indexes. */
  readonly liveFts: readonly FtsTable[];
}

export interface BatchResult {
  /** Rows moved per table ('link' tables: rows copied and unlinked). */
  readonly moved: Map<string, number>;
  /** Keys not moved: a different row holds the key on the other side. */
  readonly conflicts: unknown[];
  /** Keys not moved: rows with a NO ACTION / RESTRICT foreign key refer to them. */
  readonly blocked: unknown[];
}

/**
 * One batch (see the header). `from` must hold its write lock (BEGIN IMMEDIATE); `to` has the
 * `from` database attached as `fromAlias`. Returns rows moved per table and the keys left
 * where they were; the caller commits `from`, or rolls it back when this throws.
 */
export function moveBatch(
  from: Database.Database,
  to: Database.Database,
  fromAlias: string,
  set: MoveSet,
  keys: readonly unknown[],
  opts: MoveOptions,
): BatchResult {
  setKeys(to, keys);
  const conflicts = differingKeys(to, fromAlias, set);
  let rest = conflicts.length ? without(keys, conflicts) : keys;
  setKeys(from, rest);
  const blocked = opts.live === 'from' && rest.length ? blockedKeys(from, set) : [];
  if (blocked.length) {
    rest = without(rest, blocked);
    setKeys(from, rest);
  }
  if (rest.length === 0) return { moved: new Map(), conflicts, blocked };
  if (rest.length !== keys.length) setKeys(to, rest);
  const expected = countRows(from, set, 'main');
  const found = expected.get(set.root) ?? 0;
  if (found !== rest.length)
    throw new DbmError(
      'DB_ERROR',
      `${rest.length} keys of "${set.root}" selected, ${found} rows found by "${set.key}"${found > rest.length ? ': the key column is not unique' : ' (NULL keys?)'}; nothing was moved`,
      { hint: `set the key column to a unique column of "${set.root}"` },
    );
  // Restoring, the 'link' rows are still live: they are linked again, not copied.
  const copiedKinds = opts.live === 'to' ? 'move' : 'all';
  // Not IMMEDIATE: that would take the write lock of the attached `from` database too, which
  // `from` holds. But when `to` is the live database its write lock comes first, by a write
  // that changes nothing: a transaction that read first and wrote then would fail at once with
  // SQLITE_BUSY_SNAPSHOT (WAL) whenever the application committed in between.
  to.exec('BEGIN');
  if (opts.live === 'to') to.exec(`DELETE FROM "main".${quoteIdent(set.root)} WHERE 0`);
  try {
    const copy = (): Map<string, number> => {
      if (opts.replace) deleteRows(to, set, 'main');
      const copied = copyRows(to, set, fromAlias, 'main', copiedKinds);
      if (opts.live === 'to') {
        relink(to, set, fromAlias);
        indexInserted(to, set, opts.liveFts);
      } else copyReferenced(to, set, fromAlias, 'batch');
      return copied;
    };
    const copied = opts.live === 'to' ? withoutTriggers(to, set, copy) : copy();
    const bad = sameCounts(only(expected, set, copiedKinds), copied);
    if (bad) throw new DbmError('DB_ERROR', `copy check failed: ${bad}`);
    to.exec('COMMIT');
  } catch (err) {
    if (to.inTransaction) to.exec('ROLLBACK');
    throw err;
  }
  if (opts.live === 'from') {
    // Read before the triggers are dropped: which indexes a right delete trigger keeps.
    const unindex = ftsOver(set, opts.liveFts).filter(({ fts }) => hasFtsDeleteTrigger(from, fts));
    withoutTriggers(from, set, () => {
      unindexDeleted(from, set, unindex);
      const linked = unlink(from, set);
      const bad = sameCounts(only(expected, set, 'link'), linked);
      if (bad) throw new DbmError('DB_ERROR', `link check failed: ${bad}`);
      deleteExactly(from, set, expected, 'move');
    });
  } else deleteExactly(from, set, expected);
  return { moved: expected, conflicts, blocked };
}

/**
 * Keys (of temp._dbm_keys of `db`, the live side) whose rows are referred to by a blocker's
 * rows (ON DELETE NO ACTION / RESTRICT): deleting them would break the application's foreign keys.
 */
export function blockedKeys(db: Database.Database, set: MoveSet): unknown[] {
  if (set.blockers.length === 0) return [];
  const tests = set.blockers.map((b) => {
    const parent = set.nodes.find((n) => n.table === b.edge.parent)!;
    return (
      `EXISTS (SELECT 1 FROM "main".${quoteIdent(b.table)} WHERE ${quoteIdent(b.edge.column)} IN ` +
      `(SELECT ${quoteIdent(b.edge.references)} FROM "main".${quoteIdent(parent.table)} WHERE ${whereFor(set, parent, 'main', 'SELECT kk.k')}))`
    );
  });
  return prepared(db, `SELECT kk.k FROM ${KEYS} AS kk WHERE ${tests.join(' OR ')}`)
    .pluck()
    .safeIntegers(true)
    .all();
}

/** Archiving: the live 'link' rows of the keys get their ON DELETE action (SET NULL / SET DEFAULT) applied. */
function unlink(db: Database.Database, set: MoveSet): Map<string, number> {
  const out = new Map<string, number>();
  for (const node of set.nodes) {
    if (node.kind !== 'link') continue;
    const where = whereFor(set, node, 'main');
    const value = (col: string): string =>
      node.action === 'SET DEFAULT' ? (defaultOf(db, 'main', node.table, col) ?? 'NULL') : 'NULL';
    // Every link column that points at a moving row, in one statement: each row counted once.
    const sets = node.edges
      .map((e) => {
        const parent = set.nodes.find((n) => n.table === e.parent)!;
        const c = quoteIdent(e.column);
        return `${c} = CASE WHEN ${c} IN (SELECT ${quoteIdent(e.references)} FROM "main".${quoteIdent(parent.table)} WHERE ${whereFor(set, parent, 'main')}) THEN ${value(e.column)} ELSE ${c} END`;
      })
      .join(', ');
    out.set(
      node.table,
      prepared(db, `UPDATE "main".${quoteIdent(node.table)} SET ${sets} WHERE ${where}`).run().changes,
    );
  }
  return out;
}

/**
 * Restoring: the live 'link' rows the archive holds a linked copy of are linked again, where
 * the link is still what the archival left (NULL or the default); rows the application
 * changed or deleted since stay as it left them.
 */
function relink(db: Database.Database, set: MoveSet, fromAlias: string): void {
  const a = quoteIdent(fromAlias);
  for (const node of set.nodes) {
    if (node.kind !== 'link') continue;
    const t = quoteIdent(node.table);
    for (const e of node.edges) {
      const c = quoteIdent(e.column);
      const was = node.action === 'SET DEFAULT' ? (defaultOf(db, 'main', node.table, e.column) ?? 'NULL') : 'NULL';
      prepared(
        db,
        `UPDATE "main".${t} SET ${c} = (SELECT x.${c} FROM ${a}.${t} AS x WHERE x.rowid = "main".${t}.rowid) ` +
          `WHERE ${c} IS ${was} AND rowid IN (SELECT rowid FROM ${a}.${t} WHERE ${whereFor(set, node, fromAlias)})`,
      ).run();
    }
  }
}

function defaultOf(db: Database.Database, schema: string, table: string, column: string): string | null {
  return (
    (prepared(db, `SELECT dflt_value FROM pragma_table_info(?, ?) WHERE name = ? COLLATE NOCASE`)
      .pluck()
      .get(table, schema, column) as string | null | undefined) ?? null
  );
}

/**
 * Archiving: the rows of reference tables (outside the set) that the archive's rows refer to
 * are copied into the archive (INSERT OR IGNORE: a copy already there stays), so its foreign
 * keys hold. 'batch': what this batch's rows refer to; 'all': what every archived row refers to.
 */
export function copyReferenced(db: Database.Database, set: MoveSet, fromAlias: string, scope: 'batch' | 'all'): number {
  let n = 0;
  for (const ref of set.refs) {
    const cols = copyColumns(db, fromAlias, 'main', ref.table).map(quoteIdent).join(', ');
    const wanted = ref.edges
      .map((e) => {
        const node = set.nodes.find((x) => x.table === e.child);
        const where = node && scope === 'batch' ? ` WHERE ${whereFor(set, node, 'main')}` : '';
        return `${quoteIdent(e.references)} IN (SELECT ${quoteIdent(e.column)} FROM "main".${quoteIdent(e.child)}${where})`;
      })
      .join(' OR ');
    n += prepared(
      db,
      `INSERT OR IGNORE INTO "main".${quoteIdent(ref.table)} (${cols}) SELECT ${cols} FROM ${quoteIdent(fromAlias)}.${quoteIdent(ref.table)} WHERE ${wanted}`,
    ).run().changes;
  }
  return n;
}

function without(keys: readonly unknown[], drop: readonly unknown[]): unknown[] {
  const gone = new Set(drop.map(String));
  return keys.filter((k) => !gone.has(String(k)));
}

/**
 * Keys (of temp._dbm_keys of `to`) whose root row on the `to` side differs from the one on the
 * `fromAlias` side in a column both have: the same key, another conversation.
 */
export function differingKeys(to: Database.Database, fromAlias: string, set: MoveSet): unknown[] {
  const root = quoteIdent(set.root);
  const k = quoteIdent(set.key);
  const both = copyColumns(to, fromAlias, 'main', set.root).map(quoteIdent);
  const same = both.map((c) => `t.${c} IS f.${c}`).join(' AND ');
  return to
    .prepare(
      `SELECT t.${k} FROM "main".${root} AS t JOIN ${quoteIdent(fromAlias)}.${root} AS f ON f.${k} = t.${k} ` +
        `WHERE t.${k} IN (SELECT k FROM ${KEYS}) AND NOT (${same})`,
    )
    .pluck()
    .safeIntegers(true)
    .all();
}

/**
 * Runs `fn` with the application's triggers on the tables of the move set dropped, and
 * re-creates them (their own SQL) before returning: rows move without side effects (a cleanup
 * trigger deleting rows outside the set, a counter counting restored rows twice). `db` must be
 * in a transaction, so no other connection ever sees the schema without them, and a failure
 * rolls the drops back with everything else. Foreign-key enforcement being off does not stop
 * triggers; this does.
 */
export function withoutTriggers<T>(db: Database.Database, set: MoveSet, fn: () => T): T {
  if (!db.inTransaction) throw new Error('withoutTriggers needs a transaction');
  const tables = new Set(set.nodes.map((n) => n.table.toLowerCase()));
  const triggers = (
    prepared(
      db,
      `SELECT name, tbl_name AS tbl, sql FROM "main".sqlite_schema WHERE type = 'trigger' AND sql IS NOT NULL`,
    ).all() as Array<{ name: string; tbl: string; sql: string }>
  ).filter((t) => tables.has(t.tbl.toLowerCase()));
  for (const t of triggers) db.exec(`DROP TRIGGER "main".${quoteIdent(t.name)}`);
  const out = fn();
  for (const t of triggers) db.exec(t.sql);
  return out;
}

function ftsOver(set: MoveSet, fts: readonly FtsTable[]): Array<{ fts: FtsTable; node: MoveNode }> {
  const out: Array<{ fts: FtsTable; node: MoveNode }> = [];
  for (const f of fts) {
    if (f.kind !== 'external') continue;
    const node = set.nodes.find((n) => n.table.toLowerCase() === f.contentTable!.toLowerCase());
    if (node && node.kind === 'move') out.push({ fts: f, node });
  }
  return out;
}

function ftsColumns(f: FtsTable): { rid: string; cols: string } {
  return {
    rid: contentRowidExpr(f),
    cols: f.allColumns.map(quoteIdent).join(', '),
  };
}

/**
 * Before the live rows are deleted (their triggers off): FTS5's 'delete' command with their
 * values, what a right delete trigger does; `indexes` are those a right delete trigger keeps.
 * An index without one is left to the rebuild that follows the move (archive-rows.ts), as its
 * own trigger would have left it.
 */
function unindexDeleted(
  db: Database.Database,
  set: MoveSet,
  indexes: ReadonlyArray<{ fts: FtsTable; node: MoveNode }>,
): void {
  for (const { fts: f, node } of indexes) {
    const q = quoteIdent(f.name);
    const { rid, cols } = ftsColumns(f);
    prepared(
      db,
      `INSERT INTO ${q}(${q}, rowid, ${cols}) SELECT 'delete', ${rid}, ${cols} FROM "main".${quoteIdent(node.table)} WHERE ${whereFor(set, node, 'main')}`,
    ).run();
  }
}

/** After rows came back into the live database (its triggers off): each external-content index gets them. */
function indexInserted(db: Database.Database, set: MoveSet, fts: readonly FtsTable[]): void {
  for (const { fts: f, node } of ftsOver(set, fts)) {
    const { rid, cols } = ftsColumns(f);
    prepared(
      db,
      `INSERT INTO ${quoteIdent(f.name)}(rowid, ${cols}) SELECT ${rid}, ${cols} FROM "main".${quoteIdent(node.table)} WHERE ${whereFor(set, node, 'main')}`,
    ).run();
  }
}

/**
 * Whether the content table's DELETE trigger sends FTS5 the 'delete' command with the old values
 * for `fts` (src/db/fts-triggers.ts classifies it, as the assessment does).
 */
export function hasFtsDeleteTrigger(db: Database.Database, fts: FtsTable): boolean {
  const c = checkFtsTriggers(db, fts);
  return (c.status === 'correct' || c.status === 'wrong') && !c.problems.some((p) => p.event === 'DELETE');
}

/** Deletes the keys' rows from `main` of `db` (children first) and checks each table lost exactly `expected`. */
export function deleteExactly(
  db: Database.Database,
  set: MoveSet,
  expected: ReadonlyMap<string, number>,
  which: 'all' | 'move' = 'all',
): Map<string, number> {
  const deleted = deleteRows(db, set, 'main', which);
  const bad = sameCounts(only(expected, set, which), deleted);
  if (bad) throw new DbmError('DB_ERROR', `delete check failed: ${bad}`);
  return deleted;
}

/** The counts of `counts` for the nodes of one kind ('move') or all. */
function only(counts: ReadonlyMap<string, number>, set: MoveSet, which: 'all' | 'move' | 'link'): Map<string, number> {
  return new Map([...counts].filter(([t]) => which === 'all' || set.nodes.find((n) => n.table === t)?.kind === which));
}

export function sameCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): string | null {
  for (const [t, n] of a) {
    if (b.get(t) !== n) return `table "${t}": ${n} rows expected, ${b.get(t) ?? 0} moved`;
  }
  return null;
}

/** Opens a database for moving rows: busy timeout, no FK enforcement (see the header). */
export function openForMove(file: string, timeoutMs: number, create = false): Database.Database {
  const db = new Database(file, { fileMustExist: !create, timeout: timeoutMs });
  db.pragma('foreign_keys = OFF');
  return db;
}

export function attach(db: Database.Database, file: string, schema: string): void {
  db.prepare(`ATTACH DATABASE ? AS ${quoteIdent(schema)}`).run(file);
}
