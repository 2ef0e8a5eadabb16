/**
 * The format of sampled timestamp values, by the rules the tool compares them with
 * (src/util/time.ts's parseTimestampMs, src/db/sql.ts's epochSecondsExpr): ISO-8601 text, and
 * numbers (or number text) as julian days, unix seconds or unix milliseconds. The config needs
 * no format: every one of them is read as it is. The format is evidence for the guess.
 */
import { parseTimestampMs } from '../util/time.js';

export type TimeFormat = 'ISO-8601' | 'unix seconds' | 'unix ms' | 'julian day';

/** The format of one value, or null when it is no time the tool would read. */
export function timeFormatOf(value: unknown): TimeFormat | null {
  if (parseTimestampMs(value) === null) return null;
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)
        ? Number(value)
        : NaN;
  if (Number.isNaN(n)) return 'ISO-8601';
  if (n >= 2_000_000 && n < 3_000_000) return 'julian day';
  return n >= 1e11 ? 'unix ms' : 'unix seconds';
}

/** What a sample of a column's (or a field's) values says about it being a time. */
export interface TimeSample {
  /** Values looked at (NULL and missing ones left out). */
  readonly sampled: number;
  /** Values that are a time, by format. */
  readonly formats: Partial<Record<TimeFormat, number>>;
  readonly times: number;
}

export function sampleTimes(values: readonly unknown[]): TimeSample {
  const formats: Partial<Record<TimeFormat, number>> = {};
  let sampled = 0;
  let times = 0;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    sampled++;
    const f = timeFormatOf(v);
    if (f === null) continue;
    times++;
    formats[f] = (formats[f] ?? 0) + 1;
  }
  return { sampled, formats, times };
}

/** Whether most sampled values are times (an empty sample says nothing either way). */
export function mostlyTimes(s: TimeSample): boolean {
  return s.sampled > 0 && s.times * 5 >= s.sampled * 4;
}

/** `ISO-8601 in 200/200 sampled rows`, or `ISO-8601 in 150, unix ms in 50 of 200 sampled rows`. */
export function describeTimes(s: TimeSample, unit = 'rows'): string {
  if (s.sampled === 0) return `no ${unit} to sample`;
  const parts = (Object.entries(s.formats) as Array<[TimeFormat, number]>).sort((a, b) => b[1] - a[1]);
  if (parts.length === 0) return `no time in ${s.sampled} sampled ${unit}`;
  if (parts.length === 1) return `${parts[0]![0]} in ${parts[0]![1]}/${s.sampled} sampled ${unit}`;
  return `${parts.map(([f, n]) => `${f} in ${n}`).join(', ')} of ${s.sampled} sampled ${unit}`;
}
