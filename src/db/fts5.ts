/** Discovery and description of the FTS5 tables of a database. */
import type Database from 'better-sqlite3';
import { quoteIdent } from './sql.js';

export type FtsKind = 'regular' | 'external' | 'contentless';

export interface FtsTable {
  readonly name: string;
  readonly kind: FtsKind;
  /** The indexed columns, in declaration order (UNINDEXED ones excluded). */
  readonly columns: readonly string[];
  readonly allColumns: readonly string[];
  /** External content table (kind 'external'). */
  readonly contentTable: string | undefined;
  readonly contentRowid: string;
  /** Whether `<name>_docsize` exists (columnsize=1, the default). */
  readonly hasDocsize: boolean;
  /** The `tokenize` option as written (unquoted), or undefined for the default tokenizer. */
  readonly tokenize: string | undefined;
  /** The `detail` option: what the index stores of each token ('full' by default). */
  readonly detail: 'full' | 'column' | 'none';
}

/** Splits the argument list of `CREATE VIRTUAL TABLE x USING fts5(...)` at top-level commas. */
export function splitModuleArgs(sql: string): string[] | undefined {
  const m = /\busing\s+fts5\s*\(/i.exec(sql);
  if (!m) return undefined;
  const args: string[] = [];
  let depth = 0;
  let cur = '';
  let quote: string | null = null;
  for (let i = m.index + m[0].length; i < sql.length; i++) {
    const ch = sql[i]!;
    if (quote) {
      cur += ch;
      if (ch === quote) {
        if (sql[i + 1] === quote && quote !== ']') {
          cur += sql[++i];
        } else quote = null;
      }
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if (ch === '[') quote = ']';
    else if (ch === '(') depth++;
    else if (ch === ')') {
      if (depth === 0) {
        if (cur.trim()) args.push(cur.trim());
        return args;
      }
      depth--;
    } else if (ch === ',' && depth === 0) {
      args.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  return undefined;
}

/** Removes SQL quoting from an identifier or string token. */
export function unquote(token: string): string {
  const t = token.trim();
  const first = t[0];
  const last = t[t.length - 1];
  if (
    t.length >= 2 &&
    ((first === "'" && last === "'") || (first === '"' && last === '"') || (first === '`' && last === '`'))
  ) {
    return t
      .slice(1, -1)
      .split(first + first)
      .join(first);
  }
  if (t.length >= 2 && first === '[' && last === ']') return t.slice(1, -1);
  return t;
}

export function describeFts(name: string, sql: string): FtsTable | undefined {
  const args = splitModuleArgs(sql);
  if (!args) return undefined;
  const options = new Map<string, string>();
  const columns: string[] = [];
  const allColumns: string[] = [];
  for (const arg of args) {
    const eq = /^([A-Za-z_]+)\s*=\s*([\s\S]*)$/.exec(arg);
    if (eq) {
      options.set(eq[1]!.toLowerCase(), unquote(eq[2]!));
      continue;
    }
    // a column: its name (quoted or bare) then optional UNINDEXED
    const col = /^("(?:[^"]|"")*"|'(?:[^']|'')*'|`(?:[^`]|``)*`|\[[^\]]*\]|\S+)\s*(.*)$/.exec(arg);
    if (!col) continue;
    const colName = unquote(col[1]!);
    allColumns.push(colName);
    if (!/\bunindexed\b/i.test(col[2] ?? '')) columns.push(colName);
  }
  const content = options.get('content');
  const kind: FtsKind = content === undefined ? 'regular' : content === '' ? 'contentless' : 'external';
  return {
    name,
    kind,
    columns,
    allColumns,
    contentTable: kind === 'external' ? content : undefined,
    contentRowid: options.get('content_rowid') ?? 'rowid',
    hasDocsize: options.get('columnsize') !== '0',
    tokenize: options.get('tokenize'),
    detail: detailOf(options.get('detail')),
  };
}

function detailOf(v: string | undefined): FtsTable['detail'] {
  const d = v?.toLowerCase();
  return d === 'column' || d === 'none' ? d : 'full';
}

export function listFtsTables(db: Database.Database): FtsTable[] {
  const rows = db
    .prepare(
      "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name",
    )
    .all() as Array<{ name: string; sql: string }>;
  const out: FtsTable[] = [];
  for (const r of rows) {
    const d = describeFts(r.name, r.sql);
    if (d) out.push(d);
  }
  return out;
}

/** An FTS5 special command (`'rebuild'`, `'optimize'`) as the INSERT that runs it. */
export function ftsCommandSql(name: string, command: 'rebuild' | 'optimize'): string;
export function ftsCommandSql(name: string, command: 'merge', pages: number): string;
export function ftsCommandSql(name: string, command: 'rebuild' | 'optimize' | 'merge', pages?: number): string {
  const q = quoteIdent(name);
  if (command === 'merge') return `INSERT INTO ${q}(${q}, rank) VALUES ('merge', ${Math.trunc(pages ?? 0)})`;
  return `INSERT INTO ${q}(${q}) VALUES ('${command}')`;
}

/** The content table's expression for the rowid an external-content index is keyed by. */
export function contentRowidExpr(t: FtsTable): string {
  return t.contentRowid === 'rowid' ? 'rowid' : quoteIdent(t.contentRowid);
}

/** The shadow tables FTS5 keeps for `name`; they are ordinary tables and are counted like others. */
export function ftsShadowNames(name: string): string[] {
  return ['data', 'idx', 'content', 'docsize', 'config'].map((s) => `${name}_${s}`);
}

/** Reads an SQLite varint (as FTS5 stores them) at `pos`; returns [value, bytesRead]. */
export function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const b = buf[pos + i];
    if (b === undefined) return [value, i];
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  const last = buf[pos + 8] ?? 0;
  return [value * 256 + last, 9];
}

/** One segment of an FTS5 index, as its structure record lists it. */
export interface FtsSegment {
  readonly id: number;
  /** Its level: 0 holds the newest segments, the last level the oldest. */
  readonly level: number;
  readonly firstPage: number;
  readonly lastPage: number;
}

/** What the structure record (id 10 of `<name>_data`) says about an FTS5 index. */
export interface FtsStructure {
  readonly segments: number;
  /** Leaf pages of all its segments: the index's size is about this times its page size. */
  readonly leafPages: number;
  /** Its segments, level by level, each level's oldest first. */
  readonly list: readonly FtsSegment[];
  /** Per level: how many of its segments are the inputs of an incremental merge in progress. */
  readonly merging: readonly number[];
}

/** Parses the structure record: levels, then per level its segments (id, first and last leaf page). */
export function ftsStructure(db: Database.Database, name: string): FtsStructure | undefined {
  const row = db.prepare(`SELECT block FROM ${quoteIdent(`${name}_data`)} WHERE id = 10`).get() as
    { block: Buffer } | undefined;
  if (!row || !Buffer.isBuffer(row.block) || row.block.length < 6) return undefined;
  const b = row.block;
  let pos = 4; // the cookie
  const v2 = b[4] === 0xff && b[5] === 0x00 && b[6] === 0x00 && b[7] === 0x01;
  if (v2) pos += 4;
  const next = (): number => {
    const [v, n] = readVarint(b, pos);
    if (n === 0) throw new Error('truncated FTS5 structure record');
    pos += n;
    return v;
  };
  try {
    const nLevel = next();
    const segments = next();
    next(); // the write counter
    let leafPages = 0;
    const list: FtsSegment[] = [];
    const merging: number[] = [];
    for (let level = 0; level < nLevel; level++) {
      merging.push(next());
      const nSeg = next();
      for (let s = 0; s < nSeg; s++) {
        const id = next();
        const firstPage = next();
        const lastPage = next();
        if (v2) for (let k = 0; k < 5; k++) next(); // origin, tombstone and entry counts
        leafPages += Math.max(0, lastPage - firstPage + 1);
        list.push({ id, level, firstPage, lastPage });
      }
    }
    return { segments, leafPages, list, merging };
  } catch {
    return undefined;
  }
}

/** The `<name>_data` id of leaf page `page` of segment `segment` (FTS5_SEGMENT_ROWID), exact. */
export function ftsLeafId(segment: number, page: number): bigint {
  return (BigInt(segment) << 37n) + BigInt(page);
}

/** Number of segments in an FTS5 index, from its structure record. */
export function ftsSegmentCount(db: Database.Database, name: string): number | undefined {
  return ftsStructure(db, name)?.segments;
}

/** The index's page size (the `pgsz` option, default 4050 bytes), from `<name>_config`. */
export function ftsPageSize(db: Database.Database, name: string): number {
  const row = db.prepare(`SELECT v FROM ${quoteIdent(`${name}_config`)} WHERE k = 'pgsz'`).get() as
    { v: unknown } | undefined;
  const v = Number(row?.v);
  return Number.isInteger(v) && v > 0 ? v : 4050;
}

/** About how many bytes the index's segments hold (leaf pages x page size), O(1); undefined if unreadable. */
export function ftsIndexBytes(db: Database.Database, name: string): number | undefined {
  const s = ftsStructure(db, name);
  return s ? s.leafPages * ftsPageSize(db, name) : undefined;
}

/** The varints of a record (the averages record, a docsize blob). */
export function readVarints(buf: Uint8Array): number[] {
  const out: number[] = [];
  for (let pos = 0; pos < buf.length;) {
    const [v, n] = readVarint(buf, pos);
    if (n === 0) break;
    out.push(v);
    pos += n;
  }
  return out;
}

/** The averages record (id 1 of `<name>_data`): rows, then the total tokens of each column. */
export function ftsAverages(db: Database.Database, name: string): number[] | undefined {
  const row = db.prepare(`SELECT block FROM ${quoteIdent(`${name}_data`)} WHERE id = 1`).get() as
    { block: Buffer } | undefined;
  if (!row || !Buffer.isBuffer(row.block) || row.block.length === 0) return undefined;
  return readVarints(row.block);
}

/** Total rows recorded in the FTS5 'averages' record (id 1 of `<name>_data`). */
export function ftsAveragesRowCount(db: Database.Database, name: string): number | undefined {
  const row = db.prepare(`SELECT block FROM ${quoteIdent(`${name}_data`)} WHERE id = 1`).get() as
    { block: Buffer } | undefined;
  if (!row || !Buffer.isBuffer(row.block) || row.block.length === 0) return undefined;
  return readVarint(row.block, 0)[0];
}
