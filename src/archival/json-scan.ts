/**
 * The timestamp of an event line, read straight from its bytes.
 *
 * `--compress-events` must look at every line of a file that can be gigabytes: is it one valid
 * JSON object (RFC 8259), and what is its top-level timestamp field? JSON.parse answers both but
 * builds every object, string and number of the line; this validator checks the same grammar
 * without building anything and picks out the one field, about twice as fast. A test compares it
 * with JSON.parse on thousands of generated valid and broken lines.
 *
 * Not handled here (the line is then "malformed" and stays in the live file): invalid UTF-8
 * (checked by the caller with isUtf8), nesting deeper than MAX_DEPTH.
 */
import { parseTimestampMs } from '../util/time.js';

const MAX_DEPTH = 4096;
const STACK = new Uint8Array(MAX_DEPTH + 1);
/** Bytes that end the fast part of a string scan: '"', '\\' and the control characters. */
const STRING_STOP = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STRING_STOP[c] = 1;
STRING_STOP[0x22] = 1;
STRING_STOP[0x5c] = 1;
const OBJECT = 1;
const ARRAY = 2;

let b: Uint8Array = new Uint8Array(0);
let valueStart = -1;
let valueEnd = -1;

/**
 * Whether buf[start, stop) is exactly one JSON object (surrounding whitespace allowed). When it
 * is, lastTimestampMs() reads the top-level `name` value.
 */
export function scanObject(buf: Uint8Array, start: number, stop: number, name: Uint8Array): boolean {
  const at = scanLine(buf, start, stop, name, false);
  return at >= 0;
}

/**
 * The line at `start` (ending with \n before `limit`) when it is exactly one JSON object: the
 * offset of its \n, or -1 when it is not (the caller then finds the \n itself). Finding the end
 * while validating saves a second pass over every line. With `untilNewline` false, the object
 * must end exactly at `limit` instead. One function with local state: it runs for every line.
 */
export function scanLine(buf: Uint8Array, start: number, limit: number, name: Uint8Array, untilNewline = true): number {
  const stop = limit;
  valueStart = -1;
  valueEnd = -1;
  let i = start;
  let depth = 0;
  let expectKey = false;
  let pending = false;
  let c = buf[i]!;
  while (c === 0x20 || c === 0x09 || c === 0x0d) c = buf[++i]!;
  if (c !== 0x7b) return -1;
  for (;;) {
    // A value starts at i (after whitespace).
    c = buf[i]!;
    while (c === 0x20 || c === 0x09 || c === 0x0d) c = buf[++i]!;
    if (i >= stop) return -1;
    if (c === 0x7b || c === 0x5b) {
      if (depth >= MAX_DEPTH) return -1;
      STACK[depth++] = c === 0x7b ? OBJECT : ARRAY;
      c = buf[++i]!;
      while (c === 0x20 || c === 0x09 || c === 0x0d) c = buf[++i]!;
      if (c === (STACK[depth - 1] === OBJECT ? 0x7d : 0x5d)) {
        i++;
        depth--;
      } else if (STACK[depth - 1] === OBJECT) {
        expectKey = true;
      } else {
        continue; // an array's first value
      }
    } else if (c === 0x22) {
      const v = i;
      i = skipString(buf, i, stop);
      if (i < 0) return -1;
      if (pending) {
        valueStart = v;
        valueEnd = i;
      }
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const v = i;
      i = skipNumber(buf, i, stop);
      if (i < 0) return -1;
      if (pending) {
        valueStart = v;
        valueEnd = i;
      }
    } else if (c === 0x74) {
      if (i + 4 > stop || buf[i + 1] !== 0x72 || buf[i + 2] !== 0x75 || buf[i + 3] !== 0x65) return -1;
      i += 4;
    } else if (c === 0x66) {
      if (i + 5 > stop || buf[i + 1] !== 0x61 || buf[i + 2] !== 0x6c || buf[i + 3] !== 0x73 || buf[i + 4] !== 0x65)
        return -1;
      i += 5;
    } else if (c === 0x6e) {
      if (i + 4 > stop || buf[i + 1] !== 0x75 || buf[i + 2] !== 0x6c || buf[i + 3] !== 0x6c) return -1;
      i += 4;
    } else {
      return -1;
    }
    pending = false;
    // After a value: a comma, the end of containers, or the end of the text; or a key.
    for (;;) {
      c = buf[i]!;
      while (c === 0x20 || c === 0x09 || c === 0x0d) c = buf[++i]!;
      if (expectKey) {
        if (c !== 0x22 || i >= stop) return -1;
        const k = i;
        i = skipString(buf, i, stop);
        if (i < 0) return -1;
        pending =
          depth === 1 && (i - k - 2 === name.length ? sameBytes(buf, k + 1, name) : escapedKeyIs(buf, k, i, name));
        c = buf[i]!;
        while (c === 0x20 || c === 0x09 || c === 0x0d) c = buf[++i]!;
        if (c !== 0x3a || i >= stop) return -1;
        i++;
        expectKey = false;
        break;
      }
      if (depth === 0) {
        if (untilNewline) return i < stop && c === 0x0a ? i : -1;
        return i >= stop ? i : -1;
      }
      if (i >= stop) return -1;
      if (c === 0x2c) {
        i++;
        if (STACK[depth - 1] === OBJECT) {
          expectKey = true;
          continue;
        }
        break;
      }
      if ((c === 0x7d && STACK[depth - 1] === OBJECT) || (c === 0x5d && STACK[depth - 1] === ARRAY)) {
        i++;
        depth--;
        continue;
      }
      return -1;
    }
  }
}

/** A key written with escapes ("t\u0069mestamp") that means `name`. */
function escapedKeyIs(buf: Uint8Array, from: number, to: number, name: Uint8Array): boolean {
  let escaped = false;
  for (let k = from; k < to; k++) {
    if (buf[k] === 0x5c) {
      escaped = true;
      break;
    }
  }
  if (!escaped) return false;
  try {
    return (
      JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + from, to - from).toString('utf8')) ===
      Buffer.from(name).toString('utf8')
    );
  } catch {
    return false;
  }
}

function sameBytes(buf: Uint8Array, at: number, name: Uint8Array): boolean {
  for (let k = 0; k < name.length; k++) if (buf[at + k] !== name[k]) return false;
  return true;
}

/** From the opening '"' at i: the offset after the closing one, or -1 when it is not a valid JSON string. */
function skipString(buf: Uint8Array, i: number, stop: number): number {
  i++;
  for (;;) {
    // A \n (a control character) always follows the line, so the table stops the loop in it.
    while (i < stop && STRING_STOP[buf[i]!] === 0) i++;
    const c = buf[i]!;
    if (i >= stop || c < 0x20) return -1;
    if (c === 0x22) return i + 1;
    const e = buf[i + 1];
    if (e === 0x75) {
      for (let k = 2; k < 6; k++) {
        const h = buf[i + k]!;
        const lower = h | 0x20;
        if (!((h >= 0x30 && h <= 0x39) || (lower >= 0x61 && lower <= 0x66))) return -1;
      }
      i += 6;
    } else if (
      e === 0x22 ||
      e === 0x5c ||
      e === 0x2f ||
      e === 0x62 ||
      e === 0x66 ||
      e === 0x6e ||
      e === 0x72 ||
      e === 0x74
    ) {
      i += 2;
    } else {
      return -1;
    }
  }
}

/** Offset after the digits at i (i itself when there are none). */
function skipDigits(buf: Uint8Array, i: number, stop: number): number {
  while (i < stop && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
  return i;
}

/** From the first character of a number at i: the offset after it, or -1 when it is not a valid JSON number. */
function skipNumber(buf: Uint8Array, i: number, stop: number): number {
  if (buf[i] === 0x2d) i++;
  if (i < stop && buf[i] === 0x30) i++;
  else {
    const j = skipDigits(buf, i, stop);
    if (j === i) return -1;
    i = j;
  }
  if (i < stop && buf[i] === 0x2e) {
    const j = skipDigits(buf, i + 1, stop);
    if (j === i + 1) return -1;
    i = j;
  }
  if (i < stop && (buf[i]! | 0x20) === 0x65) {
    i++;
    if (i < stop && (buf[i] === 0x2b || buf[i] === 0x2d)) i++;
    const j = skipDigits(buf, i, stop);
    if (j === i) return -1;
    i = j;
  }
  return i <= stop ? i : -1;
}

const d2 = (a: number): number => (b[a]! - 0x30) * 10 + (b[a + 1]! - 0x30);
// Offsets of the digits in "YYYY-MM-DDTHH:MM:SS.fffZ" (with the opening quote at 0).
const DIGITS = Uint8Array.from([1, 2, 3, 4, 6, 7, 9, 10, 12, 13, 15, 16, 18, 19, 21, 22, 23]);
/** The "YYYY-MM-DDTHH:MM" of the last fast-parsed timestamp (at offsets 1-16) and its ms. */
const PREFIX = new Uint8Array(17);
let prefixMs = -1;
const DAYS = Uint8Array.from([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]);

/** The common form "YYYY-MM-DDTHH:MM:SS[.fff]Z" read from the bytes at s (length len with quotes), or NaN. */
function fastIso(s: number, len: number): number {
  if ((len !== 22 && len !== 26) || b[s] !== 0x22 || b[s + len - 1] !== 0x22 || b[s + len - 2] !== 0x5a)
    return Number.NaN;
  if (
    b[s + 5] !== 0x2d ||
    b[s + 8] !== 0x2d ||
    (b[s + 11] !== 0x54 && b[s + 11] !== 0x20) ||
    b[s + 14] !== 0x3a ||
    b[s + 17] !== 0x3a
  )
    return Number.NaN;
  if (len === 26 && b[s + 20] !== 0x2e) return Number.NaN;
  const n = len === 22 ? 14 : 17;
  for (let k = 0; k < n; k++) {
    const c = b[s + DIGITS[k]!]!;
    if (c < 0x30 || c > 0x39) return Number.NaN;
  }
  const ms = len === 26 ? (b[s + 21]! - 0x30) * 100 + d2(s + 22) : 0;
  const secs = d2(s + 18) * 1000 + ms;
  // Lines come in time order: most share the previous line's date, hour and minute.
  let same = true;
  for (let k = 1; k < 17; k++) {
    if (b[s + k] !== PREFIX[k]) {
      same = false;
      break;
    }
  }
  if (same && prefixMs >= 0) return prefixMs + secs;
  const month = d2(s + 6);
  const day = d2(s + 9);
  const year = d2(s + 1) * 100 + d2(s + 3);
  if (month < 1 || month > 12 || day < 1 || day > DAYS[month - 1]!) return Number.NaN;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return Number.NaN;
  for (let k = 1; k < 17; k++) PREFIX[k] = b[s + k]!;
  PREFIX[11] = b[s + 11]!;
  prefixMs = Date.UTC(year, month - 1, day, d2(s + 12), d2(s + 15), 0, 0);
  return prefixMs + secs;
}

/**
 * Unix ms of the value scanObject found, or null. The common form, a string
 * "YYYY-MM-DDTHH:MM:SS[.fff]Z", is read from the bytes; any other goes through parseTimestampMs.
 */
export function lastTimestampMs(buf: Uint8Array): number | null {
  if (valueStart < 0) return null;
  b = buf;
  const len = valueEnd - valueStart;
  const fast = fastIso(valueStart, len);
  if (!Number.isNaN(fast)) return fast;
  const text = Buffer.from(b.buffer, b.byteOffset + valueStart, len).toString('utf8');
  try {
    return parseTimestampMs(JSON.parse(text) as unknown);
  } catch {
    return null;
  }
}
