/**
 * How much of an FTS5 index is dead weight: what an FTS5 'optimize' would take out of its
 * `<name>_data` table (docs/assess.md, "FTS5 dead weight").
 *
 * Deleting a document from an FTS5 index writes a delete marker for each of its terms into a
 * new segment; the document's own entries stay in the older segments, and both go only when a
 * merge reaches the oldest segment (an 'optimize' merges everything into one). Neither the
 * number of segments nor the averages record sees them: the averages record counts only the
 * live documents.
 *
 * - exact (--deep, and indexes up to assess.ftsFullCheckMaxBytes): the index's `_data`, `_idx`
 *   and `_config` rows are copied, in one read snapshot, into a private temporary database, an
 *   'optimize' runs there, and the difference of the `_data` bytes is the dead weight. The
 *   brain's database is only read.
 * - sampled (the default above the bound): leaf pages spread over every segment in proportion
 *   to its size are read and parsed (src/db/fts5-leaf.ts): delete markers are dead, an entry
 *   whose rowid is no longer in the index (`_docsize`, else the content) is dead, the rest is
 *   live. Each segment's dead share of its entries stands for its entries; the term keys of
 *   every segment but the largest (a merge keeps one copy of each term) and half a page per
 *   extra segment are added. bench/fts-bloat.mjs measures it against the exact figure.
 *
 * Not seen by the sample: the entries an UPDATE superseded (their rowid is still live); their
 * delete markers are counted. A detail=none index, or a contentless one without `_docsize`, is
 * estimated from its markers only, and says so.
 */
import Database from 'better-sqlite3';
import { emptyTally, tallyLeaf, type LeafTally } from '../db/fts5-leaf.js';
import {
  contentRowidExpr,
  ftsCommandSql,
  ftsLeafId,
  ftsPageSize,
  ftsStructure,
  splitModuleArgs,
  type FtsSegment,
  type FtsTable,
} from '../db/fts5.js';
import { quoteIdent } from '../db/sql.js';
import type { FtsBloat } from './types.js';

export interface FtsBloatOptions {
  /** Copy the index and optimize the copy (the exact figure) instead of sampling. */
  readonly exact: boolean;
  /** Leaf pages read by the sampled estimate, over all segments. */
  readonly samplePages: number;
  /** An optimize is due over this share (thresholds.ftsDeadRatio) ... */
  readonly dueRatio: number;
  /** ... and this many bytes (thresholds.minReclaimBytes). */
  readonly dueBytes: number;
}

type Measured = Omit<FtsBloat, 'due'>;

/** Rowids looked up by the sampled estimate, over all segments: each stands for the entries around it. */
const MAX_LOOKUPS = 4000;

/**
 * The dead weight of one index, read from `db` without writing to it. Runs in the caller's read
 * transaction, or its own. Null when the index has no readable structure record.
 */
export function measureFtsBloat(db: Database.Database, table: FtsTable, opts: FtsBloatOptions): FtsBloat | null {
  const run = (): Measured | null => {
    const structure = ftsStructure(db, table.name);
    if (!structure) return null;
    if (opts.exact) {
      const exact = tryExact(db, table);
      if (typeof exact !== 'string') return exact;
      const s = sampled(db, table, structure.list, opts.samplePages);
      return { ...s, note: `${s.note ? `${s.note}; ` : ''}sampled: the exact measure failed (${exact})` };
    }
    return sampled(db, table, structure.list, opts.samplePages);
  };
  const m = db.inTransaction ? run() : db.transaction(run)();
  return m && { ...m, due: m.ratio > opts.dueRatio && m.reclaimableBytes >= opts.dueBytes };
}

const dataBytesSql = (name: string): string => `SELECT coalesce(sum(length(block)), 0) FROM ${quoteIdent(`${name}_data`)}`;

function tryExact(db: Database.Database, table: FtsTable): Measured | string {
  let tmp: Database.Database | undefined;
  try {
    // A private temporary database on disk (SQLite's temp directory), deleted when closed.
    tmp = new Database('');
    // Its shadow tables are written directly, which SQLite's defensive mode forbids.
    tmp.unsafeMode(true);
    const args = splitModuleArgs(
      String(db.prepare('SELECT sql FROM sqlite_schema WHERE name = ?').pluck().get(table.name) ?? ''),
    );
    if (!args) return 'its CREATE VIRTUAL TABLE statement cannot be read';
    const q = (suffix: string): string => quoteIdent(`${table.name}_${suffix}`);
    // The same options (columns, prefix indexes, detail, tokenizer), so the same index format.
    tmp.exec(`CREATE VIRTUAL TABLE ${quoteIdent(table.name)} USING fts5(${args.join(', ')})`);
    tmp.exec(`DELETE FROM ${q('data')}; DELETE FROM ${q('idx')}; DELETE FROM ${q('config')}`);
    const copy = (suffix: string, cols: string): void => {
      const ins = tmp!.prepare(`INSERT INTO ${q(suffix)}(${cols}) VALUES (${cols.replace(/[^,]+/g, '?')})`);
      for (const row of db.prepare(`SELECT ${cols} FROM ${q(suffix)}`).raw().safeIntegers().iterate()) {
        ins.run(...(row as unknown[]));
      }
    };
    tmp.transaction(() => {
      copy('data', 'id, block');
      copy('idx', 'segid, term, pgno');
      copy('config', 'k, v');
    })();
    const before = Number(tmp.prepare(dataBytesSql(table.name)).pluck().get());
    tmp.prepare(ftsCommandSql(table.name, 'optimize')).run();
    const after = Number(tmp.prepare(dataBytesSql(table.name)).pluck().get());
    const dead = Math.max(0, before - after);
    return {
      method: 'exact',
      indexBytes: before,
      reclaimableBytes: dead,
      ratio: before === 0 ? 0 : round(dead / before),
      sampledPages: null,
      note: null,
    };
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? '');
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_CORRUPT')) throw err;
    return (err as Error).message;
  } finally {
    tmp?.close();
  }
}

/** How the sampled estimate tells a live rowid, or null when it cannot. */
function liveRowidSql(table: FtsTable): string | null {
  if (table.hasDocsize) return `SELECT 1 FROM ${quoteIdent(`${table.name}_docsize`)} WHERE id = ?`;
  if (table.kind === 'external')
    return `SELECT 1 FROM ${quoteIdent(table.contentTable!)} WHERE ${contentRowidExpr(table)} = ?`;
  if (table.kind === 'regular') return `SELECT 1 FROM ${quoteIdent(`${table.name}_content`)} WHERE id = ?`;
  return null;
}

interface SegmentSample {
  readonly pages: number;
  readonly tally: LeafTally;
  readonly read: number;
}

function sampled(
  db: Database.Database,
  table: FtsTable,
  segments: readonly FtsSegment[],
  samplePages: number,
): Measured {
  const totalPages = segments.reduce((s, g) => s + Math.max(0, g.lastPage - g.firstPage + 1), 0);
  const pgsz = ftsPageSize(db, table.name);
  if (totalPages === 0)
    return { method: 'sampled', indexBytes: 0, reclaimableBytes: 0, ratio: 0, sampledPages: 0, note: null };
  const leaf = db.prepare(`SELECT block FROM ${quoteIdent(`${table.name}_data`)} WHERE id = ?`).pluck();
  const notes: string[] = [];
  const parse = table.detail !== 'none';
  if (!parse) notes.push('detail=none: its pages are not read, so its dead weight is not estimated');

  const samples: SegmentSample[] = [];
  let read = 0;
  for (const g of segments) {
    const pages = Math.max(0, g.lastPage - g.firstPage + 1);
    const tally = emptyTally();
    const take = parse ? Math.min(pages, Math.max(1, Math.round((samplePages * pages) / totalPages))) : 0;
    let got = 0;
    for (let i = 0; i < take; i++) {
      // Evenly spread over the segment (its pages are in term order), the same pages every time.
      const page = g.firstPage + Math.floor(((i + 0.5) * pages) / take);
      const block = leaf.get(ftsLeafId(g.id, page)) as Buffer | undefined;
      if (!Buffer.isBuffer(block)) continue;
      tallyLeaf(block, tally);
      got++;
    }
    read += got;
    samples.push({ pages, tally, read: got });
  }

  const liveSql = liveRowidSql(table);
  const isLive = liveSql ? db.prepare(liveSql).pluck() : null;
  if (parse && !isLive) notes.push('contentless without _docsize: only its delete markers are counted');
  const entries = samples.reduce((s, x) => s + x.tally.rowids.length, 0);
  const largest = samples.reduce((best, x, i) => (x.pages > samples[best]!.pages ? i : best), 0);

  let indexBytes = 0;
  let dead = 0;
  samples.forEach((x, i) => {
    if (x.read === 0) {
      indexBytes += x.pages * pgsz;
      return;
    }
    const t = x.tally;
    const scale = x.pages / x.read;
    let deadEntries = 0;
    let liveEntries = 0;
    const n = t.rowids.length;
    if (isLive && n > 0) {
      // Each looked-up rowid stands for the `stride` entries around it (their bytes).
      const lookups = Math.max(1, Math.min(n, Math.round((MAX_LOOKUPS * n) / Math.max(1, entries))));
      const stride = n / lookups;
      for (let k = 0; k < lookups; k++) {
        const from = Math.floor(k * stride);
        const to = Math.floor((k + 1) * stride);
        let bytes = 0;
        for (let j = from; j < to; j++) bytes += t.entryBytes[j]!;
        const rowid = t.rowids[Math.min(n - 1, Math.floor((from + to) / 2))]!;
        if (isLive.get(BigInt(rowid)) === undefined) deadEntries += bytes;
        else liveEntries += bytes;
      }
    } else {
      liveEntries = t.entryBytes.reduce((s, b) => s + b, 0);
    }
    const classified = t.markerBytes + deadEntries + liveEntries;
    const share = classified === 0 ? 0 : (t.markerBytes + deadEntries) / classified;
    // A merge keeps one copy of each term: the largest segment's; the others' term keys go.
    const terms = i === largest ? 0 : t.termBytes;
    dead += scale * (t.markerBytes + deadEntries + share * t.otherBytes + terms);
    indexBytes += scale * t.pageBytes;
  });
  // Each segment's last page is partly empty; one segment has one such page.
  dead += ((segments.length - 1) * pgsz) / 2;
  const reclaimableBytes = Math.round(Math.min(dead, indexBytes));
  indexBytes = Math.round(indexBytes);
  return {
    method: 'sampled',
    indexBytes,
    reclaimableBytes,
    ratio: indexBytes === 0 ? 0 : round(reclaimableBytes / indexBytes),
    sampledPages: read,
    note: notes.length ? notes.join('; ') : null,
  };
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}
