/**
 * The triggers that keep an external-content FTS5 index in sync with its content table, read
 * from the schema (O(1)) and classified. FTS5's documented form (fts5.html, "External Content
 * Tables"): after an INSERT, insert the new values; after a DELETE, the `'delete'` command with
 * the old values; after an UPDATE, both. The forms found in the wild that corrupt the index:
 *
 * - `DELETE FROM fts WHERE rowid = old.rowid`: FTS5 finds the terms to remove by reading the
 *   content row, which is gone (AFTER DELETE) or already holds the new values (AFTER UPDATE):
 *   the old terms stay in the index;
 * - `UPDATE fts SET a = new.a WHERE rowid = new.rowid`, and `INSERT OR REPLACE INTO fts ...`:
 *   the same, FTS5 deletes what the content table holds now, not what it indexed;
 * - a missing INSERT, DELETE or UPDATE trigger, an UPDATE OF that leaves indexed columns out.
 *
 * For a wrong set, `replacementSql` is the exact SQL that replaces the wrong triggers by correct
 * ones (same names, same WHEN clauses, their other statements kept) and adds the missing ones.
 */
import type Database from 'better-sqlite3';
import type { FtsTable } from './fts5.js';
import { escapeRegExp } from '../util/format.js';
import { quoteIdent } from './sql.js';
import { isName, isWord, parenthesized, splitTop, tokenize, type Token } from './sql-tokens.js';

export type TriggerEvent = 'INSERT' | 'DELETE' | 'UPDATE';

export interface TriggerProblem {
  /** The trigger at fault, or null for a missing one. */
  readonly trigger: string | null;
  readonly event: TriggerEvent;
  readonly problem: string;
}

export interface FtsTriggerCheck {
  /**
   * correct: the documented form for all three events; wrong: a form that corrupts the index or
   * a missing trigger; none: no trigger writes the index (the application keeps it itself, or
   * nobody does); unknown: a trigger writes the index in a form this tool cannot read.
   */
  readonly status: 'correct' | 'wrong' | 'none' | 'unknown';
  /** Triggers on the content table that write the index. */
  readonly triggers: readonly string[];
  readonly problems: readonly TriggerProblem[];
  /** DROP TRIGGER / CREATE TRIGGER statements that make the set correct ([] unless wrong). */
  readonly replacementSql: readonly string[];
}

interface Ref {
  readonly side: 'old' | 'new';
  readonly column: string;
}

type Statement =
  | { readonly kind: 'other' }
  | { readonly kind: 'unrecognized' }
  | { readonly kind: 'delete-from' }
  | { readonly kind: 'update' }
  | {
      readonly kind: 'insert' | 'delete-command';
      readonly replace: boolean;
      /** Value of each named column (lowercased name; 'rowid' for the rowid) as old./new. refs; null: an expression. */
      readonly values: ReadonlyMap<string, Ref | null>;
    };

interface Trigger {
  readonly name: string;
  readonly sql: string;
  readonly timing: 'BEFORE' | 'AFTER' | 'INSTEAD OF';
  readonly event: TriggerEvent;
  readonly ofColumns: readonly string[] | null;
  /** `WHEN expr` as written, or ''. */
  readonly when: string;
  /** Each body statement: its source text and what it does to the index. */
  readonly statements: ReadonlyArray<{ readonly text: string; readonly what: Statement }>;
}

const ROWID_NAMES = ['rowid', 'oid', '_rowid_'];

/** The column that aliases the rowid of `table` (its INTEGER PRIMARY KEY), if any. */
export function rowidAlias(db: Database.Database, table: string): string | undefined {
  const cols = db.prepare(`SELECT name, type, pk FROM pragma_table_info(?)`).all(table) as Array<{
    name: string;
    type: string;
    pk: number;
  }>;
  const pks = cols.filter((c) => c.pk > 0);
  if (pks.length !== 1 || pks[0]!.type.toUpperCase() !== 'INTEGER') return undefined;
  const wr = db.prepare(`SELECT wr FROM pragma_table_list WHERE name = ? AND schema = 'main'`).get(table) as
    { wr: number } | undefined;
  if (wr?.wr) return undefined; // WITHOUT ROWID: no rowid at all
  const sql = String(db.prepare("SELECT sql FROM sqlite_schema WHERE name = ? AND type = 'table'").pluck().get(table));
  // `INTEGER PRIMARY KEY DESC` is not an alias (a quirk SQLite keeps for compatibility).
  if (/primary\s+key\s+desc/i.test(sql)) return undefined;
  return pks[0]!.name;
}

/**
 * Whether VACUUM may renumber the rowids an external-content index points at: it is keyed by
 * the rowid of a table without an INTEGER PRIMARY KEY ("VACUUM may change the ROWIDs of entries
 * in any tables that do not have an explicit INTEGER PRIMARY KEY", lang_vacuum.html).
 */
export function vacuumMayRenumber(db: Database.Database, fts: FtsTable): boolean {
  if (fts.kind !== 'external' || !ROWID_NAMES.includes(fts.contentRowid.toLowerCase())) return false;
  const type = db.prepare('SELECT type FROM sqlite_schema WHERE name = ? COLLATE NOCASE').pluck().get(fts.contentTable);
  return type === 'table' && rowidAlias(db, fts.contentTable!) === undefined;
}

/** Reads and classifies the triggers of an external-content index's content table. */
export function checkFtsTriggers(db: Database.Database, fts: FtsTable): FtsTriggerCheck {
  const content = fts.contentTable!;
  const rows = db
    .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ? COLLATE NOCASE ORDER BY name")
    .all(content) as Array<{ name: string; sql: string | null }>;
  const alias = rowidAlias(db, content);
  const rowidRefs = new Set(
    fts.contentRowid === 'rowid' || fts.contentRowid.toLowerCase() === alias?.toLowerCase()
      ? [...ROWID_NAMES, ...(alias ? [alias.toLowerCase()] : [])]
      : [fts.contentRowid.toLowerCase()],
  );
  const triggers: Trigger[] = [];
  let unreadable = false;
  for (const r of rows) {
    const t = r.sql ? parseTrigger(r.name, r.sql, fts.name) : undefined;
    if (!t) {
      if (r.sql && new RegExp(escapeRegExp(fts.name), 'i').test(r.sql)) unreadable = true;
      continue;
    }
    if (t.statements.some((s) => s.what.kind !== 'other')) triggers.push(t);
  }
  const names = triggers.map((t) => t.name);
  if (triggers.length === 0) {
    return { status: unreadable ? 'unknown' : 'none', triggers: names, problems: [], replacementSql: [] };
  }
  const problems: TriggerProblem[] = [];
  const cols = fts.allColumns.map((c) => c.toLowerCase());
  const indexed = fts.columns.map((c) => c.toLowerCase());
  const refsOk = (s: Statement, side: 'old' | 'new'): string | null => {
    if (s.kind !== 'insert' && s.kind !== 'delete-command') return 'not an insert';
    const rid = s.values.get('rowid');
    if (!rid) return 'gives no rowid, so FTS5 assigns one that matches no content row';
    if (rid.side !== side || !rowidRefs.has(rid.column.toLowerCase()))
      return `gives ${rid.side}.${rid.column} as the rowid, not ${side}.${fts.contentRowid}`;
    for (const c of cols) {
      const v = s.values.get(c);
      if (v === undefined) return `leaves column "${c}" out`;
      if (v === null || v.side !== side || v.column.toLowerCase() !== c)
        return `gives column "${c}" a value other than ${side}."${c}"`;
    }
    return null;
  };
  const x = `"${content}"`;
  const f = `"${fts.name}"`;
  const have = { INSERT: false, DELETE: false, UPDATE_DELETE: new Set<string>(), UPDATE_INSERT: new Set<string>() };
  for (const t of triggers) {
    const ofCols = t.ofColumns ? new Set(t.ofColumns.map((c) => c.toLowerCase())) : null;
    const covered = indexed.filter((c) => !ofCols || ofCols.has(c));
    for (const { what: s } of t.statements) {
      const at = (problem: string): void => void problems.push({ trigger: t.name, event: t.event, problem });
      if (s.kind === 'other') continue;
      if (s.kind === 'unrecognized') {
        unreadable = true;
        continue;
      }
      if (s.kind === 'delete-from') {
        at(
          `DELETE FROM ${f}: every ${t.event} on ${x} leaves the old terms in ${f} (FTS5 looks up what to remove in ${x}, which no longer holds it)`,
        );
        continue;
      }
      if (s.kind === 'update') {
        at(
          `UPDATE ${f}: every ${t.event} on ${x} corrupts ${f} (FTS5 removes the terms ${x} holds now, not the ones it indexed)`,
        );
        continue;
      }
      if (t.event === 'INSERT') {
        const bad = s.kind === 'delete-command' ? "runs the 'delete' command" : refsOk(s, 'new');
        if (bad) at(`the INSERT trigger ${bad}: inserted rows are indexed wrongly`);
        else if (t.timing === 'BEFORE' && !alias)
          at(`a BEFORE INSERT trigger sees no rowid yet: inserted rows are indexed under the wrong rowid`);
        else have.INSERT = true;
      } else if (t.event === 'DELETE') {
        const bad = s.kind === 'insert' ? "inserts instead of running the 'delete' command" : refsOk(s, 'old');
        if (bad) at(`the DELETE trigger ${bad}: deleted rows stay in ${f}`);
        else have.DELETE = true;
      } else if (s.kind === 'delete-command') {
        const bad = refsOk(s, 'old');
        if (bad) at(`the 'delete' command ${bad}: updated rows keep their old terms`);
        else covered.forEach((c) => have.UPDATE_DELETE.add(c));
      } else {
        const bad = refsOk(s, 'new');
        if (bad) at(`the UPDATE trigger's insert ${bad}`);
        else if (s.replace && !t.statements.some((o) => o.what.kind === 'delete-command'))
          at(
            `INSERT OR REPLACE INTO ${f} without the 'delete' command: every UPDATE on ${x} corrupts ${f} (FTS5 removes the terms ${x} holds now, not the ones it indexed)`,
          );
        else covered.forEach((c) => have.UPDATE_INSERT.add(c));
      }
    }
  }
  const flagged = new Set(problems.map((p) => p.event));
  if (!have.INSERT && !flagged.has('INSERT'))
    problems.push({
      trigger: null,
      event: 'INSERT',
      problem: `no INSERT trigger: rows inserted into ${x} are missing from ${f}`,
    });
  if (!have.DELETE && !flagged.has('DELETE'))
    problems.push({
      trigger: null,
      event: 'DELETE',
      problem: `no DELETE trigger: rows deleted from ${x} stay in ${f}`,
    });
  if (!flagged.has('UPDATE')) {
    const noDelete = indexed.filter((c) => !have.UPDATE_DELETE.has(c));
    const noInsert = indexed.filter((c) => !have.UPDATE_INSERT.has(c));
    const updTriggers = triggers.filter((t) => t.event === 'UPDATE').map((t) => t.name);
    if (updTriggers.length === 0)
      problems.push({
        trigger: null,
        event: 'UPDATE',
        problem: `no UPDATE trigger: updated rows of ${x} keep their old terms in ${f}`,
      });
    else if (noDelete.length || noInsert.length) {
      const missing = [...new Set([...noDelete, ...noInsert])];
      problems.push({
        trigger: updTriggers[0]!,
        event: 'UPDATE',
        problem:
          noDelete.length === indexed.length
            ? `the UPDATE trigger does not run the 'delete' command with the old values: updated rows keep their old terms`
            : noInsert.length === indexed.length
              ? `the UPDATE trigger does not insert the new values: updated rows vanish from ${f}`
              : `updates of ${missing.map((c) => `"${c}"`).join(', ')} are not indexed (UPDATE OF leaves them out)`,
      });
    }
  }
  if (problems.length === 0) {
    return { status: unreadable ? 'unknown' : 'correct', triggers: names, problems, replacementSql: [] };
  }
  return { status: 'wrong', triggers: names, problems, replacementSql: replacement(db, fts, triggers, problems) };
}

/** DROP/CREATE statements for every event with a problem (see the module comment). */
function replacement(
  db: Database.Database,
  fts: FtsTable,
  triggers: readonly Trigger[],
  problems: readonly TriggerProblem[],
): string[] {
  const f = quoteIdent(fts.name);
  const x = quoteIdent(fts.contentTable!);
  const rid = (side: 'old' | 'new'): string =>
    fts.contentRowid === 'rowid' ? `${side}.rowid` : `${side}.${quoteIdent(fts.contentRowid)}`;
  const colList = fts.allColumns.map((c) => quoteIdent(c)).join(', ');
  const vals = (side: 'old' | 'new'): string => fts.allColumns.map((c) => `${side}.${quoteIdent(c)}`).join(', ');
  const insert = `INSERT INTO ${f}(rowid, ${colList}) VALUES (${rid('new')}, ${vals('new')});`;
  const del = `INSERT INTO ${f}(${f}, rowid, ${colList}) VALUES ('delete', ${rid('old')}, ${vals('old')});`;
  const correct: Record<TriggerEvent, string[]> = { INSERT: [insert], DELETE: [del], UPDATE: [del, insert] };
  const suffix: Record<TriggerEvent, string> = { INSERT: 'ai', DELETE: 'ad', UPDATE: 'au' };
  const taken = new Set(
    (db.prepare("SELECT lower(name) FROM sqlite_schema WHERE type = 'trigger'").pluck().all() as string[]).map(String),
  );
  const out: string[] = [];
  for (const event of ['INSERT', 'DELETE', 'UPDATE'] as const) {
    if (!problems.some((p) => p.event === event)) continue;
    const mine = triggers.filter((t) => t.event === event);
    if (mine.length === 0) {
      let name = `${fts.name}_${suffix[event]}`;
      for (let i = 2; taken.has(name.toLowerCase()); i++) name = `${fts.name}_${suffix[event]}${i}`;
      taken.add(name.toLowerCase());
      out.push(`CREATE TRIGGER ${quoteIdent(name)} AFTER ${event} ON ${x} BEGIN ${correct[event].join(' ')} END;`);
      continue;
    }
    mine.forEach((t, i) => {
      // The first trigger of the event gets the correct statements where its first index statement
      // was; the others lose their index statements; statements about other tables stay.
      const body: string[] = [];
      let placed = i > 0;
      for (const s of t.statements) {
        if (s.what.kind === 'other') body.push(`${s.text};`);
        else if (!placed) {
          body.push(...correct[event]);
          placed = true;
        }
      }
      out.push(`DROP TRIGGER ${quoteIdent(t.name)};`);
      if (body.length === 0) return;
      const when = t.when ? ` ${t.when}` : '';
      out.push(`CREATE TRIGGER ${quoteIdent(t.name)} AFTER ${event} ON ${x}${when} BEGIN ${body.join(' ')} END;`);
    });
  }
  return out;
}

/** CREATE [TEMP] TRIGGER [IF NOT EXISTS] [schema.]name [BEFORE|AFTER|INSTEAD OF] event [OF cols] ON tbl [FOR EACH ROW] [WHEN e] BEGIN ... END */
function parseTrigger(name: string, sql: string, fts: string): Trigger | undefined {
  const tk = tokenize(sql);
  let i = 0;
  const word = (kw: string): boolean => (isWord(tk[i], kw) ? (i++, true) : false);
  if (!word('create')) return undefined;
  if (!word('temp')) word('temporary');
  if (!word('trigger')) return undefined;
  if (word('if') && !(word('not') && word('exists'))) return undefined;
  i++; // name
  if (tk[i]?.value === '.') i += 2;
  let timing: Trigger['timing'] = 'BEFORE';
  if (word('before')) timing = 'BEFORE';
  else if (word('after')) timing = 'AFTER';
  else if (word('instead') && word('of')) timing = 'INSTEAD OF';
  let event: TriggerEvent;
  if (word('insert')) event = 'INSERT';
  else if (word('delete')) event = 'DELETE';
  else if (word('update')) event = 'UPDATE';
  else return undefined;
  let ofColumns: string[] | null = null;
  if (event === 'UPDATE' && word('of')) {
    ofColumns = [];
    while (tk[i] && !isWord(tk[i], 'on')) {
      if (tk[i]!.kind !== 'punct') ofColumns.push(tk[i]!.value);
      i++;
    }
  }
  if (!word('on')) return undefined;
  i++;
  if (tk[i]?.value === '.') i += 2;
  if (word('for')) {
    word('each');
    word('row');
  }
  let when = '';
  const begin = tk.findIndex((t, k) => k >= i && isWord(t, 'begin'));
  if (begin === -1) return undefined;
  if (isWord(tk[i], 'when')) when = sql.slice(tk[i]!.start, tk[begin - 1]!.end);
  let end = tk.length - 1;
  if (tk[end]?.value === ';') end--;
  if (!isWord(tk[end], 'end')) return undefined;
  const statements = splitTop(tk.slice(begin + 1, end), ';')
    .filter((s) => s.length > 0)
    .map((s) => ({ text: sql.slice(s[0]!.start, s[s.length - 1]!.end), what: classify(s, fts) }));
  return { name, sql, timing, event, ofColumns, when, statements };
}

/** What one trigger-body statement does to the index `fts`. */
function classify(s: readonly Token[], fts: string): Statement {
  let i = 0;
  const word = (kw: string): boolean => (isWord(s[i], kw) ? (i++, true) : false);
  // WITH ... is rare in trigger bodies; anything not starting with INSERT/REPLACE/DELETE/UPDATE is another statement.
  const target = (): boolean => {
    if (s[i + 1]?.value === '.' && s[i + 1]?.kind === 'punct') i += 2;
    return isName(s[i], fts) ? (i++, true) : false;
  };
  if (word('delete')) return word('from') && target() ? { kind: 'delete-from' } : { kind: 'other' };
  if (word('update')) {
    if (word('or')) i++;
    return target() ? { kind: 'update' } : { kind: 'other' };
  }
  let replace = false;
  if (word('replace')) replace = true;
  else if (word('insert')) {
    if (word('or')) {
      replace = isWord(s[i], 'replace');
      i++;
    }
  } else return { kind: 'other' };
  if (!word('into') || !target()) return { kind: 'other' };
  if (word('as')) i++;
  let columns: string[] | null = null;
  if (s[i]?.value === '(' && s[i]?.kind === 'punct') {
    const p = parenthesized(s, i);
    if (!p) return { kind: 'unrecognized' };
    columns = splitTop(p[0], ',').map((c) => (c.length === 1 ? c[0]!.value.toLowerCase() : '?'));
    i = p[1];
  }
  if (!word('values')) return { kind: 'unrecognized' };
  const p = parenthesized(s, i);
  if (!p || p[1] !== s.length) return { kind: 'unrecognized' }; // several rows, or an upsert clause
  const exprs = splitTop(p[0], ',');
  if (!columns) return { kind: 'insert', replace, values: new Map() }; // no column list: no rowid either
  if (columns.length !== exprs.length) return { kind: 'unrecognized' };
  const values = new Map<string, Ref | null>();
  let command: string | null = null;
  columns.forEach((c, k) => {
    const e = exprs[k]!;
    if (c === fts.toLowerCase()) {
      command = e.length === 1 && e[0]!.kind === 'string' ? e[0]!.value.toLowerCase() : '?';
      return;
    }
    const key = ROWID_NAMES.includes(c) ? 'rowid' : c;
    const ref =
      e.length === 3 && (isWord(e[0], 'old') || isWord(e[0], 'new')) && e[1]!.value === '.'
        ? { side: e[0]!.value.toLowerCase() as 'old' | 'new', column: e[2]!.value }
        : null;
    values.set(key, ref);
  });
  if (command === null) return { kind: 'insert', replace, values };
  return command === 'delete' ? { kind: 'delete-command', replace, values } : { kind: 'unrecognized' };
}
