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
 * Leaf pages are parsed (src/db/fts5-leaf.ts): delete markers are dead, an entry whose rowid is
 * no longer in the index (`_docsize`, else the content) is dead, the rest is live. To that come
 * the term keys of every segment but the largest (a merge keeps one copy of each term).
 * - scanned (--deep, and indexes up to assess.ftsFullCheckMaxBytes): every leaf page, every
 *   entry's rowid looked up: exact counts of markers and dead entries.
 * - sampled (the default above the bound): assess.ftsBloatSamplePages leaf pages spread evenly
 *   over every segment in proportion to its size, and a few rowids of each page (about 4,000 in
 *   all) looked up, each standing for the entries around it; each segment's sampled pages stand
 *   for all of its pages.
 * bench/fts-bloat.mjs measures both against what an 'optimize' of a copy takes out.
 *
 * Not seen by the sample: the entries an UPDATE superseded (their rowid is still live); their
 * delete markers are counted. A detail=none index, or a contentless one without `_docsize`, is
 * estimated from its markers only, and says so.
 */
import type Database from 'better-sqlite3';
import { emptyTally, tallyLeaf, type Classify, type LeafTally } from '../db/fts5-leaf.js';
import { contentRowidExpr, ftsLeafId, ftsPageSize, ftsStructure, type FtsSegment, type FtsTable } from '../db/fts5.js';
import { quoteIdent } from '../db/sql.js';
import type { FtsBloat } from './types.js';

export interface FtsBloatOptions {
  /** Read every leaf page (--deep, small indexes) instead of a sample. */
  readonly scan: boolean;
  /** Leaf pages read by the sampled estimate, over all segments. */
  readonly samplePages: number;
  /** An optimize is due over this share (thresholds.ftsDeadRatio) ... */
  readonly dueRatio: number;
  /** ... and this many bytes (thresholds.minReclaimBytes). */
  readonly dueBytes: number;
}

/** Rowids looked up by the sampled estimate, over all segments: each stands for the entries around it. */
const MAX_LOOKUPS = 4000;
/** The first `_data` id of a leaf page (segment 1, page 0): ids below are the averages and structure records. */
const FIRST_LEAF_ID = 2 ** 37;

/**
 * The dead weight of one index, read from `db` without writing to it. Runs in the caller's read
 * transaction, or its own, so the structure record and the pages are of one snapshot. Null when
 * the index has no readable structure record.
 */
export function measureFtsBloat(db: Database.Database, table: FtsTable, opts: FtsBloatOptions): FtsBloat | null {
  const run = (): FtsBloat | null => {
    const structure = ftsStructure(db, table.name);
    if (!structure) return null;
    const notes: string[] = [];
    const live = liveRowids(table);
    const readable = table.detail !== 'none';
    if (!readable) notes.push('detail=none: its pages are not parsed, so its dead weight is not measured');
    else if (!live) notes.push('contentless without _docsize: only its delete markers are counted');
    const tallies = !readable
      ? structure.list.map(segmentTally)
      : opts.scan
        ? scanned(db, table, structure.list, live)
        : sampled(db, table, structure.list, opts.samplePages, live);
    const m = deadWeight(structure.list, tallies, ftsPageSize(db, table.name));
    return {
      method: opts.scan ? 'scanned' : 'sampled',
      ...m,
      due: m.ratio > opts.dueRatio && m.reclaimableBytes >= opts.dueBytes,
      sampledPages: opts.scan ? null : tallies.reduce((s, t) => s + t.pages, 0),
      note: notes.length ? notes.join('; ') : null,
    };
  };
  return db.inTransaction ? run() : db.transaction(run)();
}

/** Where the live rowids are (the table and its key, quoted), or null when they cannot be told. */
interface LiveRowids {
  readonly from: string;
  readonly key: string;
}

function liveRowids(table: FtsTable): LiveRowids | null {
  if (table.hasDocsize) return { from: quoteIdent(`${table.name}_docsize`), key: 'id' };
  if (table.kind === 'external') return { from: quoteIdent(table.contentTable!), key: contentRowidExpr(table) };
  if (table.kind === 'regular') return { from: quoteIdent(`${table.name}_content`), key: 'id' };
  return null;
}

/** What was read of one segment: the pages, and their tally (live and dead bytes classified). */
interface SegmentTally extends LeafTally {
  pages: number;
}

const segmentTally = (): SegmentTally => ({ ...emptyTally(), pages: 0 });

/** Every leaf page; every entry's rowid against the live ones, read first (one pass each). */
function scanned(
  db: Database.Database,
  table: FtsTable,
  segments: readonly FtsSegment[],
  live: LiveRowids | null,
): SegmentTally[] {
  const tallies = segments.map(segmentTally);
  const bySegment = new Map(segments.map((g, i) => [g.id, tallies[i]!]));
  const isLive = live ? liveSet(db, live) : null;
  const classify: Classify = (rowids, bytes, n, into) => {
    for (let i = 0; i < n; i++) {
      if (!isLive || isLive(rowids[i]!)) into.liveBytes += bytes[i]!;
      else into.deadBytes += bytes[i]!;
    }
  };
  const pages = db.prepare(`SELECT id, block FROM ${quoteIdent(`${table.name}_data`)} WHERE id >= ? ORDER BY id`).raw();
  for (const [id, block] of pages.iterate(FIRST_LEAF_ID) as Iterable<[number, unknown]>) {
    // A doclist index (its own bit above the page bits) is no leaf page.
    if (Math.floor(id / 2 ** 36) % 2 === 1 || !Buffer.isBuffer(block)) continue;
    const t = bySegment.get(Math.floor(id / FIRST_LEAF_ID));
    if (!t) continue;
    tallyLeaf(block, t, classify);
    t.pages++;
  }
  return tallies;
}

/** The live rowids, as a test: a bitmap while they are small non-negative integers, else a set (one pass). */
function liveSet(db: Database.Database, live: LiveRowids): (rowid: number) => boolean {
  const range = db.prepare(`SELECT min(${live.key}) AS lo, max(${live.key}) AS hi FROM ${live.from}`).get() as {
    lo: unknown;
    hi: unknown;
  };
  const ids = db.prepare(`SELECT ${live.key} FROM ${live.from}`).pluck().safeIntegers();
  const { lo, hi } = range;
  if (typeof lo === 'number' && typeof hi === 'number' && Number.isInteger(lo) && lo >= 0 && hi < 2 ** 31) {
    const bits = new Uint8Array((hi >> 3) + 1);
    for (const id of ids.iterate() as Iterable<bigint>) {
      const n = Number(id);
      bits[n >> 3]! |= 1 << (n & 7);
    }
    return (r) => r >= 0 && r <= hi && (bits[r >> 3]! & (1 << (r & 7))) !== 0;
  }
  // Rowids past 2^53 are not told apart by the parser either (it counts them as other bytes).
  const set = new Set<number>();
  for (const id of ids.iterate() as Iterable<bigint | number>) set.add(Number(id));
  return (r) => set.has(r);
}

/** Pages spread evenly over each segment (its pages are in term order), the same pages every time. */
function sampled(
  db: Database.Database,
  table: FtsTable,
  segments: readonly FtsSegment[],
  samplePages: number,
  live: LiveRowids | null,
): SegmentTally[] {
  const totalPages = segments.reduce((s, g) => s + pagesOf(g), 0);
  const leaf = db.prepare(`SELECT block FROM ${quoteIdent(`${table.name}_data`)} WHERE id = ?`).pluck();
  const isLive = live ? db.prepare(`SELECT 1 FROM ${live.from} WHERE ${live.key} = ?`).pluck() : null;
  // A few rowids a page are looked up, each standing for the entries around it (their bytes).
  const perPage = Math.max(1, Math.round(MAX_LOOKUPS / Math.max(1, samplePages)));
  const classify: Classify = (rowids, bytes, n, into) => {
    const k = Math.min(n, perPage);
    for (let j = 0; j < k; j++) {
      const from = Math.floor((j * n) / k);
      const to = Math.floor(((j + 1) * n) / k);
      let sum = 0;
      for (let i = from; i < to; i++) sum += bytes[i]!;
      if (!isLive || isLive.get(BigInt(rowids[(from + to) >> 1]!)) !== undefined) into.liveBytes += sum;
      else into.deadBytes += sum;
    }
  };
  return segments.map((g) => {
    const t = segmentTally();
    const pages = pagesOf(g);
    const take = Math.min(pages, Math.max(1, Math.round((samplePages * pages) / Math.max(1, totalPages))));
    for (let i = 0; i < take; i++) {
      const block = leaf.get(ftsLeafId(g.id, g.firstPage + Math.floor(((i + 0.5) * pages) / take)));
      if (!Buffer.isBuffer(block)) continue;
      tallyLeaf(block, t, classify);
      t.pages++;
    }
    return t;
  });
}

const pagesOf = (g: FtsSegment): number => Math.max(0, g.lastPage - g.firstPage + 1);

/** Scales each segment's tally up to its pages and adds what an optimize takes out. */
function deadWeight(
  segments: readonly FtsSegment[],
  tallies: readonly SegmentTally[],
  pgsz: number,
): Pick<FtsBloat, 'indexBytes' | 'reclaimableBytes' | 'ratio'> {
  let largest = 0;
  segments.forEach((g, i) => {
    if (pagesOf(g) > pagesOf(segments[largest]!)) largest = i;
  });
  let indexBytes = 0;
  let dead = 0;
  tallies.forEach((t, i) => {
    const pages = pagesOf(segments[i]!);
    if (t.pages === 0) {
      indexBytes += pages * pgsz;
      return;
    }
    const scale = pages / t.pages;
    const gone = t.markerBytes + t.deadBytes;
    const classified = gone + t.liveBytes;
    // The bytes not told apart (page headers, the rest of an entry begun on an earlier page) go as the entries do.
    const share = classified === 0 ? 0 : gone / classified;
    // A merge keeps one copy of each term: the largest segment's; the others' term keys go.
    const terms = i === largest ? 0 : t.termBytes;
    dead += scale * (gone + share * t.otherBytes + terms);
    indexBytes += scale * t.pageBytes;
  });
  const reclaimableBytes = Math.round(Math.min(dead, indexBytes));
  indexBytes = Math.round(indexBytes);
  return { indexBytes, reclaimableBytes, ratio: indexBytes === 0 ? 0 : round(reclaimableBytes / indexBytes) };
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}
