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
 * no longer in the index (`_docsize`, else the content) is dead, an entry an UPDATE superseded
 * is dead, the rest is live. To that come the term keys of every segment but the largest (a
 * merge keeps one copy of each term).
 * - scanned (--deep, and indexes up to assess.ftsFullCheckMaxBytes): every leaf page, segment by
 *   segment from the newest, every entry's rowid looked up: exact counts of markers, deleted and
 *   superseded entries.
 * - sampled (the default above the bound): assess.ftsBloatSamplePages leaf pages spread evenly
 *   over every segment in proportion to its size, and a few rowids of each page (about 2,000
 *   entries and 1,000 markers in all) looked up, each standing for those around it; each
 *   segment's sampled pages stand for all of its pages. What an UPDATE superseded is estimated
 *   from the traces of updates the sample finds (markers of live rowids, replacement entries).
 * bench/fts-bloat.mjs measures both against what an 'optimize' of a copy takes out.
 *
 * A detail=none index is not parsed, and a contentless one without `_docsize` counts its
 * markers only; the measure's note says so.
 */
import type Database from 'better-sqlite3';
import { MARKER, REPLACEMENT, emptyTally, tallyLeaf, type Classify, type LeafTally } from '../db/fts5-leaf.js';
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
  /** The scan asks before each page: true ends it with an error (fts-bloat-worker.ts). */
  readonly stop?: () => boolean;
}

/** Rowids looked up by the sampled estimate, over all its pages: each stands for the entries (or markers) around it. */
const ENTRY_LOOKUPS = 2000;
const MARKER_LOOKUPS = 1000;

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
        ? scanned(db, table, structure.list, live, opts.stop)
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
  /** Sampled: the entries told live, and the traces of updates (markers of live rowids, replacements) found. */
  liveEntries: number;
  traces: number;
  /** Sampled: what the updates traced here superseded in older segments, about (bytes, unscaled). */
  supersededBytes: number;
}

const segmentTally = (): SegmentTally => ({ ...emptyTally(), pages: 0, liveEntries: 0, traces: 0, supersededBytes: 0 });

/**
 * Every leaf page, segment by segment from the newest to the oldest (FTS5's own order of
 * precedence: level 0 first, and within a level the last segment first). An entry is live when
 * its rowid is live and this is the newest segment that holds the rowid: an UPDATE rewrites
 * every term of its document (a delete marker or a new entry) in the segment it is written to,
 * so whatever an older segment holds of that rowid is superseded.
 */
function scanned(
  db: Database.Database,
  table: FtsTable,
  segments: readonly FtsSegment[],
  live: LiveRowids | null,
  stop: (() => boolean) | undefined,
): SegmentTally[] {
  const tallies = segments.map(segmentTally);
  const docs = live ? liveDocs(db, live) : null;
  const pages = db
    .prepare(`SELECT block FROM ${quoteIdent(`${table.name}_data`)} WHERE id BETWEEN ? AND ? ORDER BY id`)
    .pluck();
  const newestFirst = segments.map((g, i) => ({ g, i })).sort((a, b) => a.g.level - b.g.level || b.i - a.i);
  newestFirst.forEach(({ g, i }, rank) => {
    const home = rank + 2;
    const classify: Classify = (rowids, bytes, kinds, n, into) => {
      for (let k = 0; k < n; k++) {
        if (kinds[k] === MARKER) continue;
        const seen = docs ? docs.get(rowids[k]!) : home;
        if (seen === 1) docs!.set(rowids[k]!, home); // the newest segment that holds it: this one
        if (seen === 1 || seen === home) into.liveBytes += bytes[k]!;
        else into.deadBytes += bytes[k]!;
      }
    };
    const t = tallies[i]!;
    for (const block of pages.iterate(ftsLeafId(g.id, g.firstPage), ftsLeafId(g.id, g.lastPage)) as Iterable<unknown>) {
      if (stop?.()) throw new Error('the scan was stopped');
      if (!Buffer.isBuffer(block)) continue;
      tallyLeaf(block, t, classify);
      t.pages++;
    }
  });
  return tallies;
}

/**
 * The live rowids and, once the scan has met them, the rank of the newest segment that holds
 * each: 0 not live, 1 live and not met yet, rank + 2 after. An array while the rowids are small
 * non-negative integers, else a map (read in one pass).
 */
interface LiveDocs {
  get(rowid: number): number;
  set(rowid: number, v: number): void;
}

function liveDocs(db: Database.Database, live: LiveRowids): LiveDocs {
  const range = db.prepare(`SELECT min(${live.key}) AS lo, max(${live.key}) AS hi FROM ${live.from}`).get() as {
    lo: unknown;
    hi: unknown;
  };
  const ids = db.prepare(`SELECT ${live.key} FROM ${live.from}`).pluck();
  const { lo, hi } = range;
  if (typeof lo === 'number' && typeof hi === 'number' && Number.isInteger(lo) && lo >= 0 && hi < 2 ** 24) {
    const state = new Uint16Array(hi + 1);
    // Integers below 2^24 read exactly as numbers.
    for (const id of ids.iterate() as Iterable<number>) state[id] = 1;
    return {
      get: (r) => (r >= 0 && r <= hi ? state[r]! : 0),
      set: (r, v) => void (state[r] = v),
    };
  }
  // Rowids past 2^53 are not told apart by the parser either (it counts them as other bytes).
  const map = new Map<number, number>();
  for (const id of ids.safeIntegers().iterate() as Iterable<bigint | number>) map.set(Number(id), 1);
  return { get: (r) => map.get(r) ?? 0, set: (r, v) => void map.set(r, v) };
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
  // A few rowids a page are looked up, each standing for the entries around it (their bytes),
  // and as many of its delete markers: one of a live rowid is the trace of an update.
  const perPage = Math.max(1, Math.round(ENTRY_LOOKUPS / Math.max(1, samplePages)));
  const markersPerPage = Math.max(1, Math.round(MARKER_LOOKUPS / Math.max(1, samplePages)));
  const liveRowid = (r: number): boolean => !isLive || isLive.get(BigInt(r)) !== undefined;
  const classify =
    (t: SegmentTally): Classify =>
    (rowids, bytes, kinds, n) => {
      let entries = 0;
      let markers = 0;
      for (let i = 0; i < n; i++) {
        if (kinds[i] === MARKER) markers++;
        else {
          entries++;
          if (kinds[i] === REPLACEMENT) t.traces++;
        }
      }
      // Each kind split into at most perPage blocks in page order; a block's middle rowid is looked up.
      const eBlocks = Math.min(entries, perPage);
      const mBlocks = Math.min(markers, markersPerPage);
      let e = 0;
      let m = 0;
      let eSum = 0;
      let eRowid = 0;
      let mRowid = 0;
      for (let i = 0; i < n; i++) {
        if (kinds[i] === MARKER) {
          const j = Math.floor((m * mBlocks) / markers);
          const start = Math.floor((j * markers) / mBlocks);
          const end = Math.floor(((j + 1) * markers) / mBlocks);
          if (m === (start + end) >> 1) mRowid = rowids[i]!;
          if (++m === end && liveRowid(mRowid)) t.traces += end - start;
          continue;
        }
        const j = Math.floor((e * eBlocks) / entries);
        const start = Math.floor((j * entries) / eBlocks);
        const end = Math.floor(((j + 1) * entries) / eBlocks);
        if (e === (start + end) >> 1) eRowid = rowids[i]!;
        eSum += bytes[i]!;
        if (++e === end) {
          if (liveRowid(eRowid)) {
            t.liveBytes += eSum;
            t.liveEntries += end - start;
          } else t.deadBytes += eSum;
          eSum = 0;
        }
      }
    };
  const tallies = segments.map((g) => {
    const t = segmentTally();
    const pages = pagesOf(g);
    const take = Math.min(pages, Math.max(1, Math.round((samplePages * pages) / Math.max(1, totalPages))));
    for (let i = 0; i < take; i++) {
      const block = leaf.get(ftsLeafId(g.id, g.firstPage + Math.floor(((i + 0.5) * pages) / take)));
      if (!Buffer.isBuffer(block)) continue;
      tallyLeaf(block, t, classify(t));
      t.pages++;
    }
    return t;
  });
  // Each trace of an update supersedes an entry of its rowid in an older segment, of about the
  // average size of a live entry; the oldest segment's traces have nothing older (their targets
  // were merged away with them).
  const liveBytes = tallies.reduce((s, t) => s + t.liveBytes, 0);
  const liveEntries = tallies.reduce((s, t) => s + t.liveEntries, 0);
  const oldest = oldestIndex(segments);
  tallies.forEach((t, i) => {
    if (i !== oldest && liveEntries > 0) t.supersededBytes = (t.traces * liveBytes) / liveEntries;
  });
  return tallies;
}

/** The oldest segment: the first of the highest level (FTS5's order of precedence, reversed). */
function oldestIndex(segments: readonly FtsSegment[]): number {
  let oldest = 0;
  segments.forEach((g, i) => {
    if (g.level > segments[oldest]!.level) oldest = i;
  });
  return oldest;
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
    dead += scale * (gone + share * t.otherBytes + terms + t.supersededBytes);
    indexBytes += scale * t.pageBytes;
  });
  const reclaimableBytes = Math.round(Math.min(dead, indexBytes));
  indexBytes = Math.round(indexBytes);
  return { indexBytes, reclaimableBytes, ratio: indexBytes === 0 ? 0 : round(reclaimableBytes / indexBytes) };
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}
