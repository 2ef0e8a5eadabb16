import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { describeFts, splitModuleArgs } from '../src/db/fts5.js';
import { epochSecondsExpr, quoteIdent, quoteString } from '../src/db/sql.js';
import { parseTimestampMs } from '../src/util/time.js';

describe('identifiers and literals', () => {
  it('quotes identifiers with double quotes and literals with single quotes, doubling embedded ones', () => {
    expect(quoteIdent('a"b; DROP TABLE x; --')).toBe('"a""b; DROP TABLE x; --"');
    expect(quoteString("it's")).toBe("'it''s'");
  });
});

describe('timestamps: SQL and JS agree on every format', () => {
  const cases: Array<[unknown, string | null]> = [
    ['2026-11-20T12:00:00Z', '2026-11-20T12:00:00.000Z'],
    ['2026-11-20 12:00:00', '2026-11-20T12:00:00.000Z'],
    ['2026-11-20T12:00:00.123456', '2026-11-20T12:00:00.123Z'],
    ['2026-11-20T14:00:00+02:00', '2026-11-20T12:00:00.000Z'],
    ['2026-11-20T07:00:00-05:00', '2026-11-20T12:00:00.000Z'],
    ['2026-11-20', '2026-11-20T00:00:00.000Z'],
    [1795176000, '2026-11-20T12:00:00.000Z'],
    [1795176000000, '2026-11-20T12:00:00.000Z'],
    ['1795176000', '2026-11-20T12:00:00.000Z'],
    ['yesterday', null],
    ['', null],
    // Digits and dots that are no number, and numbers too small to be a time: never 1970.
    ['.', null],
    ['1.2.3', null],
    ['30.11.2026', null],
    ['12.', null],
    [0, null],
    [42, null],
    ['5', null],
    [-1795176000, null],
    // Julian days (SQLite's julianday()), as REAL and as text.
    [2461365.0, '2026-11-20T12:00:00.000Z'],
    ['2461365.0', '2026-11-20T12:00:00.000Z'],
    [1795176000.5, '2026-11-20T12:00:00.500Z'],
  ];
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (ts)');
  const expr = db.prepare(`SELECT ${epochSecondsExpr('ts')} AS s FROM t`);
  for (const [value, iso] of cases) {
    it(`${JSON.stringify(value)} -> ${iso}`, () => {
      const js = parseTimestampMs(value);
      expect(js === null ? null : new Date(js).toISOString()).toBe(iso);
      db.exec('DELETE FROM t');
      db.prepare('INSERT INTO t VALUES (?)').run(value as string | number);
      const s = (expr.get() as { s: number | null }).s;
      expect(s === null ? null : new Date(Math.round(s * 1000)).toISOString()).toBe(iso);
    });
  }
});

describe('FTS5 declarations', () => {
  it('parses options and hostile column names', () => {
    const sql = `CREATE VIRTUAL TABLE "my fts; x" USING fts5("body ""text""", 'ti,tle' UNINDEXED, content='msg "log"; drop', content_rowid='id', tokenize = 'porter unicode61')`;
    expect(splitModuleArgs(sql)).toHaveLength(5);
    const d = describeFts('my fts; x', sql)!;
    expect(d).toMatchObject({
      kind: 'external',
      contentTable: 'msg "log"; drop',
      contentRowid: 'id',
      columns: ['body "text"'],
      allColumns: ['body "text"', 'ti,tle'],
    });
  });

  it('tells regular, external and contentless indexes apart', () => {
    expect(describeFts('a', 'CREATE VIRTUAL TABLE a USING fts5(x)')!.kind).toBe('regular');
    expect(describeFts('a', "CREATE VIRTUAL TABLE a USING fts5(x, content='')")!.kind).toBe('contentless');
    expect(describeFts('a', 'CREATE VIRTUAL TABLE a USING fts5(x, content=t, columnsize=0)')).toMatchObject({
      kind: 'external',
      hasDocsize: false,
    });
  });
});
