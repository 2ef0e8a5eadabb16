/**
 * What the leaf pages of an FTS5 index hold, byte by byte, without FTS5's help: the dead weight
 * estimate (src/assess/fts-bloat.ts) tells the entries of deleted documents and the delete
 * markers from the live entries on a sample of pages.
 *
 * The format (SQLite's ext/fts5/fts5_index.c, "PAGE FORMAT"): a 4-byte header of two big-endian
 * 16-bit offsets (the first rowid on the page when it comes before the first term, else 0; the
 * start of the footer), then terms each followed by its doclist, then the footer: one varint
 * per term on the page, its offset delta-coded against the previous one. The first term on a
 * page is written whole (length, bytes), the others against the term before them (bytes in
 * common, new length, new bytes). A doclist is its first rowid (absolute; also the first rowid
 * on a page), then a poslist per entry, each later entry preceded by its rowid delta. A poslist
 * starts with a varint: its size in bytes times 2, plus 1 when the entry carries the delete
 * flag. A delete marker is an entry with the flag and no positions. An entry may go on past the
 * end of its page; the next page then starts with the rest of it (before its first rowid or
 * term), which is counted here as `otherBytes`.
 */

/** What one or more leaf pages hold, in bytes (the pages' own lengths add up to `pageBytes`). */
export interface LeafTally {
  pageBytes: number;
  /** Entries with the delete flag and no positions: each cancels an entry of an older segment. */
  markerBytes: number;
  /**
   * What a term costs once per segment it appears in: its key, its offset in the footer, and the
   * bytes its doclist's first rowid (written whole) takes beyond the one a delta would.
   */
  termBytes: number;
  /** Page headers, the rest of an entry begun on an earlier page, and rowids past 2^53. */
  otherBytes: number;
  /** The other entries, as `classify` told them: those whose rowid is live, and those whose rowid is not. */
  liveBytes: number;
  deadBytes: number;
}

export function emptyTally(): LeafTally {
  return { pageBytes: 0, markerBytes: 0, termBytes: 0, otherBytes: 0, liveBytes: 0, deadBytes: 0 };
}

/** What an entry is: an ENTRY of a document, a delete MARKER, or a REPLACEMENT (the delete flag with positions: a document rewritten in one transaction). */
export const ENTRY = 0;
export const MARKER = 1;
export const REPLACEMENT = 2;

/**
 * Tells the entries of one page live or dead: `rowids[i]` (exact below 2^53), `bytes[i]` and
 * `kinds[i]` for i < n, adding the bytes of the entries and replacements to `into.liveBytes`
 * or `into.deadBytes` (the markers' bytes are `markerBytes` already; they come along for what
 * their rowids say). The arrays are reused for the next page.
 */
export type Classify = (
  rowids: Float64Array,
  bytes: Uint32Array,
  kinds: Uint8Array,
  n: number,
  into: LeafTally,
) => void;

const TWO_53 = 2 ** 53;
let rowidBuf = new Float64Array(2048);
let bytesBuf = new Uint32Array(2048);
let kindBuf = new Uint8Array(2048);

/**
 * Adds one leaf page to `into`. Only for detail=full and detail=column indexes (a detail=none
 * doclist has no poslists). A page whose offsets point outside it counts as `otherBytes`.
 */
export function tallyLeaf(page: Uint8Array, into: LeafTally, classify: Classify): void {
  const n = page.length;
  into.pageBytes += n;
  if (n < 4) {
    into.otherBytes += n;
    return;
  }
  const firstRowid = (page[0]! << 8) | page[1]!;
  const footer = (page[2]! << 8) | page[3]!;
  if (footer < 4 || footer > n || (firstRowid !== 0 && (firstRowid < 4 || firstRowid >= footer))) {
    into.otherBytes += n;
    return;
  }
  // The page is read through module state (P, pos, the counts): no closures made per page.
  P = page;
  other = 0;
  markers = 0;
  terms = n - footer;
  entries = 0;
  let nStarts = 0;
  pos = footer;
  for (let at = 0; pos < n;) {
    const d = varint(n);
    if (d < 0) break;
    at += d;
    if (at < 4 || at >= footer) break;
    if (nStarts === startBuf.length) startBuf = grow(startBuf, new Int32Array(nStarts * 2));
    startBuf[nStarts++] = at;
  }
  const firstStop = nStarts > 0 ? startBuf[0]! : footer;
  other += 4 + Math.max(0, (firstRowid || firstStop) - 4);

  if (firstRowid !== 0) doclist(firstRowid, firstStop, false);
  for (let i = 0; i < nStarts; i++) {
    const end = i + 1 < nStarts ? startBuf[i + 1]! : footer;
    pos = startBuf[i]!;
    const at = pos;
    // After the first term on the page: the bytes it shares with the previous term.
    const len = i > 0 && varint(end) < 0 ? -1 : varint(end);
    if (len < 0 || pos + len > end) {
      other += end - at;
      continue;
    }
    pos += len;
    terms += pos - at;
    doclist(pos, end, true);
  }
  into.otherBytes += other;
  into.markerBytes += markers;
  into.termBytes += terms;
  if (entries > 0) classify(rowidBuf, bytesBuf, kindBuf, entries, into);
}

let P: Uint8Array = new Uint8Array(0);
let pos = 0;
let other = 0;
let markers = 0;
let terms = 0;
let entries = 0;
let startBuf = new Int32Array(256);

/** The varint of P at `pos` (advancing it), or -1 past `end` or at 2^53 and over. */
function varint(end: number): number {
  if (pos >= end) return -1;
  const b0 = P[pos++]!;
  if (b0 < 0x80) return b0;
  let v = b0 & 0x7f;
  for (let i = 1; i < 9; i++) {
    if (pos >= end) return -1;
    const b = P[pos++]!;
    if (i === 8) return v * 256 + b >= TWO_53 ? -1 : v * 256 + b;
    v = v * 128 + (b & 0x7f);
    if (b < 0x80) return v >= TWO_53 ? -1 : v;
  }
  return -1;
}

/** The doclist of P from `start` to `end` into the entry buffers (its first rowid whole). */
function doclist(start: number, end: number, afterTerm: boolean): void {
  pos = start;
  let rowid = 0;
  let first = true;
  while (pos < end) {
    const at = pos;
    // One-byte varints, by far the most common, read inline.
    const b0 = P[pos]!;
    const r = b0 < 0x80 ? (pos++, b0) : varint(end);
    if (r < 0 || (!first && rowid + r >= TWO_53)) {
      other += end - at;
      return;
    }
    let whole = 0;
    if (first && afterTerm && pos - at > 1) {
      whole = pos - at - 1;
      terms += whole;
    }
    rowid = first ? r : rowid + r;
    first = false;
    const b1 = pos < end ? P[pos]! : 0x80;
    const head = b1 < 0x80 ? (pos++, b1) : varint(end);
    if (head < 0) {
      other += end - at - whole;
      return;
    }
    pos += Math.floor(head / 2);
    if (pos > end) {
      // The entry goes on on the next page: what is here of it counts as other bytes.
      other += end - at - whole;
      return;
    }
    if (head === 1) markers += pos - at - whole;
    if (entries === rowidBuf.length) {
      rowidBuf = grow(rowidBuf, new Float64Array(entries * 2));
      bytesBuf = grow(bytesBuf, new Uint32Array(entries * 2));
      kindBuf = grow(kindBuf, new Uint8Array(entries * 2));
    }
    rowidBuf[entries] = rowid;
    kindBuf[entries] = head === 1 ? MARKER : head % 2 === 1 ? REPLACEMENT : ENTRY;
    bytesBuf[entries++] = pos - at - whole;
  }
}

function grow<T extends Float64Array | Uint32Array | Uint8Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
