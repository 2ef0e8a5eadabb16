/** Timestamps of many formats, parsed the way SQLite's date functions parse them (no zone means UTC). */
import { millisecondsInDay } from 'date-fns/constants';
import { DbmError } from '../errors.js';

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Unix milliseconds of a timestamp value, or null when it is not one.
 * Numbers (and number strings) as numericToMs says: julian days, unix seconds or milliseconds.
 */
export function parseTimestampMs(value: unknown): number | null {
  const ms = parseAnyMs(value);
  // A time a Date cannot hold (e.g. Go's zero time in nanoseconds) is no timestamp at all.
  return ms !== null && Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? ms : null;
}

/** The largest magnitude of a JavaScript Date (unix ms): 100,000,000 days either side of 1970. */
const MAX_DATE_MS = 8.64e15;

function parseAnyMs(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? numericToMs(value) : null;
  if (typeof value !== 'string') return null;
  const s = value.trim();
  if (s === '') return null;
  if (/^\d+(\.\d+)?$/.test(s)) return numericToMs(Number(s));
  const m = ISO.exec(s);
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone] = m;
  let ms = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(sec),
    Number((frac + '000').slice(0, 3)),
  );
  if (Number.isNaN(ms)) return null;
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return ms;
}

/**
 * A number as a time: a julian day from 2,000,000 to 3,000,000 (years 763-3501; as unix seconds
 * those would be four days of January 1970), unix milliseconds from 1e11 (1973 in ms), unix
 * seconds from 1e8 (1973); anything smaller (a counter, 0, a negative) is no timestamp.
 * src/db/sql.ts's epochSecondsExpr says the same in SQL.
 */
function numericToMs(n: number): number | null {
  if (n >= 2_000_000 && n < 3_000_000) return (n - 2440587.5) * millisecondsInDay;
  if (n >= 1e11) return n;
  if (n < 1e8) return null;
  return n * 1000;
}

/** The clock, injectable for tests (DB_MAINTENANCE_NOW=ISO-8601 pins it). */
export function nowFrom(env: NodeJS.ProcessEnv): Date {
  const pinned = env['DB_MAINTENANCE_NOW'];
  if (pinned) {
    const ms = parseTimestampMs(pinned);
    if (ms === null)
      throw new DbmError('USAGE', `DB_MAINTENANCE_NOW is "${pinned}", not a time`, {
        hint: 'set it to an ISO-8601 time such as 2026-11-20T12:00:00Z, or unset it to use the clock',
      });
    return new Date(ms);
  }
  return new Date();
}

/**
 * A day as 24 hours of elapsed time: retention ages (`archiveAfterDays`, `compressAfterDays`, ...)
 * are elapsed time, in no time zone, so never date-fns' subDays, which steps calendar days in
 * the process's zone (23 or 25 hours across DST).
 */
export const DAY_MS = millisecondsInDay;

/**
 * A UTC time in a file name: `20260801T101500Z` (backups), or `20260801-101500` (rotated logs).
 * Both forms are part of file names already on disk: never change them. Always UTC: date-fns'
 * format and lightFormat write the process's local time (UTC would need @date-fns/utc or
 * @date-fns/tz, which are not dependencies), so the fields come from toISOString.
 */
export function fileStamp(at: Date | number, form: 'compact' | 'dashed'): string {
  const iso = new Date(at).toISOString(); // 2026-08-01T10:15:00.000Z
  const date = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}`;
  const time = `${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
  return form === 'compact' ? `${date}T${time}Z` : `${date}-${time}`;
}
