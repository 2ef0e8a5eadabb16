/**
 * The bounded consistency check of an external-content FTS5 index too large for FTS5's own
 * rank-1 integrity-check by default (docs/safety.md, "FTS5 checks"). Each part reads what it
 * needs through indexes, whatever the size of the table:
 *
 * - totals (indexes of up to TOTALS_MAX_ROWS rows): the token totals FTS5 keeps in its averages
 *   record against the sum of the rows' sizes in `<fts>_docsize`. A DELETE or UPDATE through a
 *   wrong trigger removes the wrong terms, so the totals no longer add up; exact, O(rows of
 *   the small docsize table), about 2 us a row;
 * - rows -> index: evenly spaced content rows, each tokenized by the index's own tokenizer (a
 *   temporary FTS5 table with the same `tokenize` option): its size must be the one the index
 *   recorded, and its terms must be found at its rowid (writes around the triggers, rowids
 *   renumbered by VACUUM);
 * - index -> rows: random index entries (a term, then a random position in its doclist): the
 *   row they point at must exist and hold the term (stale terms of deleted or updated rows).
 *
 * Rowids are read and bound as BigInt: bound as a JS number, better-sqlite3 passes a REAL, and
 * FTS5 3.53 then ignores `rowid = ?`, which turned the old probe into "is the word anywhere".
 */
import type Database from 'better-sqlite3';
import type { WriteCapable } from '../db/open.js';
import { contentRowidExpr, ftsAverages, readVarints, type FtsTable } from '../db/fts5.js';
import { quoteIdent, quoteString } from '../db/sql.js';

/** The totals check runs on indexes of up to this many rows by default (about 0.2 s). */
export const TOTALS_MAX_ROWS = 100_000;
/** Terms of a sampled row looked up in the index (the longest first). */
const TERMS_PER_ROW = 2;

export interface ProbeOutcome {
  /** What is wrong, or null. */
  readonly problem: string | null;
  /** The parts that ran, for the report's detail: e.g. 'totals, 200 rows, 200 entries'. */
  readonly ran: string;
}

/** Runs the parts in order and stops at the first problem. The caller holds a read transaction. */
export function probeIndex(conn: WriteCapable, t: FtsTable, samples: number, docsizeRows: number | null): ProbeOutcome {
  const db = conn.db;
  const ran: string[] = [];
  if (t.hasDocsize && docsizeRows !== null && docsizeRows <= TOTALS_MAX_ROWS) {
    ran.push('token totals');
    const p = totalsProblem(db, t);
    if (p) return { problem: p, ran: ran.join(', ') };
  }
  if (samples <= 0) return { problem: null, ran: ran.join(', ') };
  const tok = Tokenizer.open(conn, t);
  if (!tok) return { problem: null, ran: [...ran, 'no samples (its tokenizer is not available here)'].join(', ') };
  try {
    const rows = rowsToIndex(db, t, tok, samples);
    ran.push(`${rows.probed} rows`);
    if (rows.problem) return { problem: rows.problem, ran: ran.join(', ') };
    const entries = indexToRows(db, t, tok, samples, rows.words);
    ran.push(`${entries.probed} index entries`);
    return { problem: entries.problem, ran: ran.join(', ') };
  } finally {
    tok.close();
  }
}

function totalsProblem(db: Database.Database, t: FtsTable): string | null {
  const avg = ftsAverages(db, t.name);
  if (!avg) return null;
  const sums: number[] = [];
  for (const [sz] of db
    .prepare(`SELECT sz FROM ${quoteIdent(`${t.name}_docsize`)}`)
    .raw()
    .iterate() as Iterable<[unknown]>) {
    if (!Buffer.isBuffer(sz)) continue;
    readVarints(sz).forEach((v, i) => (sums[i] = (sums[i] ?? 0) + v));
  }
  const cols = t.allColumns;
  for (let i = 0; i < cols.length; i++) {
    const recorded = avg[i + 1] ?? 0;
    const sum = sums[i] ?? 0;
    if (recorded !== sum) {
      return `the index records ${recorded} tokens in column "${cols[i]}" but its rows' sizes add up to ${sum}: rows were deleted or updated without removing the terms they were indexed with`;
    }
  }
  return null;
}

/** Tokenizes values with the index's own tokenizer, through a temporary FTS5 table holding one row at a time. */
class Tokenizer {
  private constructor(
    private readonly conn: WriteCapable,
    private readonly names: readonly string[],
    private readonly ins: Database.Statement,
    private readonly terms: Database.Statement,
    private readonly match: Database.Statement,
    private readonly clear: Database.Statement,
  ) {}

  static open(conn: WriteCapable, t: FtsTable): Tokenizer | undefined {
    const base = `dbm_probe_${process.pid}`;
    const tok = quoteIdent(base);
    const vocab = quoteIdent(`${base}_v`);
    const cols = t.allColumns.map((c, i) => `c${i}${t.columns.includes(c) ? '' : ' UNINDEXED'}`);
    const opt = t.tokenize === undefined ? '' : `, tokenize = ${quoteString(t.tokenize)}`;
    try {
      return conn.withTempWrites((db) => {
        db.exec(`DROP TABLE IF EXISTS temp.${vocab}; DROP TABLE IF EXISTS temp.${tok}`);
        // Contentless: 'delete-all' empties it at once, so it never grows with the samples.
        db.exec(`CREATE VIRTUAL TABLE temp.${tok} USING fts5(${cols.join(', ')}, content = ''${opt})`);
        db.exec(`CREATE VIRTUAL TABLE temp.${vocab} USING fts5vocab(temp, ${quoteString(base)}, 'instance')`);
        const marks = t.allColumns.map(() => '?').join(', ');
        return new Tokenizer(
          conn,
          [tok, vocab],
          db.prepare(
            `INSERT INTO temp.${tok}(rowid, ${t.allColumns.map((_, i) => `c${i}`).join(', ')}) VALUES (1, ${marks})`,
          ),
          db.prepare(`SELECT term, col FROM temp.${vocab}`).raw(),
          db.prepare(`SELECT 1 FROM temp.${tok} WHERE ${tok} MATCH ?`),
          db.prepare(`INSERT INTO temp.${tok}(${tok}) VALUES ('delete-all')`),
        );
      });
    } catch {
      return undefined; // e.g. a custom tokenizer the application registers and this process lacks
    }
  }

  /**
   * Runs `fn` with one row loaded: `sizes()` its tokens per column, `has(query)` whether a MATCH
   * query finds it, both through the index's own tokenizer and query parser.
   */
  withRow<T>(values: readonly unknown[], fn: (row: { sizes(): number[]; has(query: string): boolean }) => T): T {
    return this.conn.withTempWrites(() => {
      this.ins.run(...values.map((v) => (typeof v === 'string' || v === null ? v : String(v))));
      try {
        return fn({
          sizes: () => {
            const out = values.map(() => 0);
            for (const [, col] of this.terms.all() as Array<[string, string]>) {
              const k = Number(col.slice(1));
              out[k] = (out[k] ?? 0) + 1;
            }
            return out;
          },
          has: (query) => this.match.get(query) !== undefined,
        });
      } finally {
        this.clear.run();
      }
    });
  }

  close(): void {
    try {
      this.conn.withTempWrites((db) => {
        for (const n of this.names.slice().reverse()) db.exec(`DROP TABLE IF EXISTS temp.${n}`);
      });
    } catch {
      // temp tables go with the connection anyway
    }
  }
}

const phrase = (term: string): string => `"${term.replace(/"/g, '""')}"`;

/** The smallest and largest rowid of the content table (null when empty or not integers). */
function rowidRange(db: Database.Database, t: FtsTable): { lo: bigint; hi: bigint } | null {
  const rid = contentRowidExpr(t);
  const r = db
    .prepare(`SELECT min(${rid}) AS lo, max(${rid}) AS hi FROM ${quoteIdent(t.contentTable!)}`)
    .safeIntegers(true)
    .get() as { lo: unknown; hi: unknown };
  return typeof r.lo === 'bigint' && typeof r.hi === 'bigint' ? { lo: r.lo, hi: r.hi } : null;
}

/**
 * Words of a row to look up, longest (rarest) first. Each is used only if a MATCH of it finds the
 * row in the temporary table: the query then goes through the same tokenizer and query parser on
 * both sides (a stemmed term would be stemmed again by MATCH, and some tokenizers split otherwise).
 */
function candidateWords(values: readonly unknown[]): string[] {
  const words = new Set<string>();
  for (const v of values) {
    if (typeof v !== 'string') continue;
    for (const w of v.slice(0, 4000).match(/[\p{L}\p{N}]{3,32}/gu) ?? []) words.add(w);
  }
  return [...words].sort((a, b) => b.length - a.length).slice(0, 2 * TERMS_PER_ROW);
}

const text = (v: unknown): unknown => (typeof v === 'bigint' ? String(v) : v);

/** Content rows at evenly spaced rowids: indexed with their current size and words at their own rowid. */
function rowsToIndex(
  db: Database.Database,
  t: FtsTable,
  tok: Tokenizer,
  samples: number,
): { probed: number; problem: string | null; words: string[] } {
  const content = quoteIdent(t.contentTable!);
  const rid = contentRowidExpr(t);
  const fts = quoteIdent(t.name);
  const range = rowidRange(db, t);
  const words: string[] = [];
  if (!range) return { probed: 0, problem: null, words };
  const cols = t.allColumns.map((c) => quoteIdent(c)).join(', ');
  const at = db
    .prepare(`SELECT ${rid} AS r, ${cols} FROM ${content} WHERE ${rid} >= ? ORDER BY ${rid} LIMIT 1`)
    .safeIntegers(true)
    .raw();
  const size = t.hasDocsize
    ? db.prepare(`SELECT sz FROM ${quoteIdent(`${t.name}_docsize`)} WHERE id = ?`).pluck()
    : null;
  const match = db.prepare(`SELECT 1 FROM ${fts} WHERE ${fts} MATCH ? AND rowid = ?`).pluck();
  const span = range.hi - range.lo;
  let probed = 0;
  let last: bigint | null = null;
  for (let i = 0; i < samples; i++) {
    const target = range.lo + (span * BigInt(i)) / BigInt(Math.max(1, samples - 1));
    const row = at.get(target) as unknown[] | undefined;
    if (!row || typeof row[0] !== 'bigint' || row[0] === last) continue;
    const r: bigint = row[0];
    last = r;
    const values = row.slice(1).map(text);
    probed++;
    const here = `rowid ${r} of "${t.contentTable}"`;
    const problem = tok.withRow(values, (loaded) => {
      if (size) {
        const sz = size.get(r);
        if (!Buffer.isBuffer(sz)) return `${here} is not in the index`;
        const recorded = readVarints(sz);
        const sizes = loaded.sizes();
        const col = sizes.findIndex((n, k) => t.columns.includes(t.allColumns[k]!) && n !== (recorded[k] ?? 0));
        if (col !== -1)
          return `${here} holds ${sizes[col]} tokens in column "${t.allColumns[col]}" but was indexed with ${recorded[col] ?? 0}: it changed without its index entry`;
      }
      let used = 0;
      for (const w of candidateWords(values)) {
        if (used === TERMS_PER_ROW) break;
        if (!loaded.has(phrase(w))) continue;
        used++;
        words.push(w);
        if (match.get(phrase(w), r) === undefined)
          return `${here} holds "${w}" but the index does not have it at that rowid`;
      }
      return null;
    });
    if (problem) return { probed, problem, words };
  }
  return { probed, problem: null, words };
}

/** Random index entries (a word, a random place in its doclist): the row must exist and hold the word. */
function indexToRows(
  db: Database.Database,
  t: FtsTable,
  tok: Tokenizer,
  samples: number,
  words: readonly string[],
): { probed: number; problem: string | null } {
  if (words.length === 0) return { probed: 0, problem: null };
  const content = quoteIdent(t.contentTable!);
  const rid = contentRowidExpr(t);
  const fts = quoteIdent(t.name);
  const range = rowidRange(db, t);
  const cols = t.allColumns.map((c) => quoteIdent(c)).join(', ');
  const fetch = db.prepare(`SELECT ${cols} FROM ${content} WHERE ${rid} = ?`).raw().safeIntegers(true);
  const from = db
    .prepare(`SELECT rowid FROM ${fts} WHERE ${fts} MATCH ? AND rowid >= ? ORDER BY rowid LIMIT 1`)
    .pluck()
    .safeIntegers(true);
  const first = db
    .prepare(`SELECT rowid FROM ${fts} WHERE ${fts} MATCH ? ORDER BY rowid LIMIT 1`)
    .pluck()
    .safeIntegers(true);
  const { lo, hi } = range ?? { lo: 0n, hi: 0n };
  let probed = 0;
  for (let i = 0; i < samples; i++) {
    // Words as the content's own rows spell them (weighted like the index's entries), each at a
    // random place in its doclist: a stale entry of a deleted or updated row is as likely as any.
    const w = words[Math.floor(Math.random() * words.length)]!;
    const start = lo + BigInt(Math.floor(Math.random() * Number(hi - lo + 1n)));
    const r = (from.get(phrase(w), start) ?? first.get(phrase(w))) as bigint | undefined;
    if (typeof r !== 'bigint') continue;
    probed++;
    const row = fetch.get(r) as unknown[] | undefined;
    if (!row)
      return {
        probed,
        problem: `the index has "${w}" at rowid ${r}, which "${t.contentTable}" does not have: a deleted row stayed in the index`,
      };
    if (!tok.withRow(row.map(text), (loaded) => loaded.has(phrase(w))))
      return {
        probed,
        problem: `the index has "${w}" at rowid ${r} of "${t.contentTable}", which does not hold it: the row changed and its old terms stayed in the index`,
      };
  }
  return { probed, problem: null };
}
