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
  /** Term keys and the footer's term offsets: what a term costs once per segment it appears in. */
  termBytes: number;
  /** Page headers, the rest of an entry begun on an earlier page, and rowids past 2^53. */
  otherBytes: number;
  /** Every other entry whole on the page: its rowid (exact below 2^53) and its bytes. */
  readonly rowids: number[];
  readonly entryBytes: number[];
}

export function emptyTally(): LeafTally {
  return { pageBytes: 0, markerBytes: 0, termBytes: 0, otherBytes: 0, rowids: [], entryBytes: [] };
}

const TWO_53 = 2 ** 53;

/**
 * Adds one leaf page to `into`. Only for detail=full and detail=column indexes (a detail=none
 * doclist has no poslists). A page whose offsets point outside it counts as `otherBytes`.
 */
export function tallyLeaf(page: Uint8Array, into: LeafTally): void {
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
  let pos = 0;
  /** The varint at `pos` (advancing it), or -1 past the page's end or at 2^53 and over. */
  const varint = (end: number): number => {
    let v = 0;
    for (let i = 0; i < 9; i++) {
      if (pos >= end) return -1;
      const b = page[pos++]!;
      if (i === 8) return v * 256 + b >= TWO_53 ? -1 : v * 256 + b;
      v = v * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) return v >= TWO_53 ? -1 : v;
    }
    return -1;
  };

  const terms: number[] = [];
  pos = footer;
  for (let at = 0; pos < n;) {
    const d = varint(n);
    if (d < 0) break;
    at += d;
    if (at < 4 || at >= footer) break;
    terms.push(at);
  }
  into.termBytes += n - footer;
  const firstStop = terms.length > 0 ? terms[0]! : footer;
  into.otherBytes += 4 + Math.max(0, (firstRowid || firstStop) - 4);

  const doclist = (start: number, end: number): void => {
    pos = start;
    let rowid = 0;
    let first = true;
    while (pos < end) {
      const at = pos;
      const r = varint(end);
      if (r < 0 || (!first && rowid + r >= TWO_53)) {
        into.otherBytes += end - at;
        return;
      }
      rowid = first ? r : rowid + r;
      first = false;
      const head = varint(end);
      if (head < 0) {
        into.otherBytes += end - at;
        return;
      }
      const size = Math.floor(head / 2);
      pos += size;
      if (pos > end) {
        // The entry goes on on the next page: what is here of it counts as other bytes.
        into.otherBytes += end - at;
        return;
      }
      if (size === 0 && head % 2 === 1) into.markerBytes += pos - at;
      else {
        into.rowids.push(rowid);
        into.entryBytes.push(pos - at);
      }
    }
  };

  if (firstRowid !== 0) doclist(firstRowid, firstStop);
  for (let i = 0; i < terms.length; i++) {
    const end = i + 1 < terms.length ? terms[i + 1]! : footer;
    pos = terms[i]!;
    const at = pos;
    if (i > 0 && varint(end) < 0) {
      // the bytes it shares with the previous term: unreadable, so the rest is other bytes
      into.otherBytes += end - at;
      continue;
    }
    const len = varint(end);
    if (len < 0 || pos + len > end) {
      into.otherBytes += end - at;
      continue;
    }
    pos += len;
    into.termBytes += pos - at;
    doclist(pos, end);
  }
}
