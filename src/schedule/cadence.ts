/**
 * When a lane of `--scheduled` is due.
 *
 * Time is cut into calendar windows in the configured time zone: a local date (daily), an ISO
 * week (weekly), a local month (monthly), each starting at midnight of its first day or at the
 * configured start (e.g. weekly from Sunday 03:00). A lane is due when no *successful* run of it is
 * recorded for the window `now` falls in. So a missed window runs at the next invocation (it is
 * a new window with no success), a failed run is retried at the next one, and DST never makes a
 * window twice or skips one (a local date is one window whether the day has 23, 24 or 25
 * hours). A clock moved backwards lands in a window that either already succeeded (not due) or
 * never ran (due, once).
 */

import { getISOWeek, getISOWeekYear } from 'date-fns';
import { millisecondsInHour } from 'date-fns/constants';
import { DAY_MS } from '../util/time.js';

export const LANES = ['daily', 'weekly', 'monthly', 'compaction'] as const;
export type Lane = (typeof LANES)[number];

interface LocalDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

interface LocalTime extends LocalDate {
  readonly hour: number;
  readonly minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock date and time of `at` in `timeZone` (an IANA name such as Europe/Berlin, or UTC). */
export function localTime(at: Date, timeZone: string): LocalTime {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  return {
    year: Number(parts['year']),
    month: Number(parts['month']),
    day: Number(parts['day']),
    hour: Number(parts['hour']),
    minute: Number(parts['minute']),
  };
}

/** Whether `timeZone` is a zone this Node knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone });
    return true;
  } catch {
    return false;
  }
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/**
 * ISO-8601 week of a calendar date: "2026-W47" (date-fns' getISOWeekYear and getISOWeek). date-fns
 * reads a Date's fields in the process's own time zone, so the date is built in that zone too, at
 * noon (a DST change never moves noon to another day): the answer is the calendar date's week
 * whatever TZ the process runs in.
 */
function isoWeek(d: LocalDate): string {
  const t = new Date(d.year, d.month - 1, d.day, 12);
  t.setFullYear(d.year); // years 0-99 too (the constructor would read them as 1900-1999)
  return `${getISOWeekYear(t)}-W${pad(getISOWeek(t))}`;
}

/**
 * Where a lane's windows start, in local wall-clock time: `hour` (0-23) of the first day, and
 * for weekly the ISO weekday (1 Monday ... 7 Sunday), for monthly the day of the month (1-28).
 * Default: midnight of the calendar day, of Monday, of the 1st.
 */
export interface WindowStart {
  readonly day?: number;
  readonly hour?: number;
}

/**
 * The window of `lane` that `now` falls in, as a stable key: "2026-11-20", "2026-W47",
 * "2026-11" (the day, ISO week or month in which the window starts). A window starting later
 * than midnight is found by moving the wall-clock time back by the start offset, in wall-clock
 * arithmetic (never in elapsed time), so each local day, week or month is still one window
 * whatever DST does: a start hour that a spring-forward day skips begins that day's window at
 * the first hour after it, and a repeated hour belongs to one window.
 */
export function windowOf(lane: Lane, now: Date, timeZone: string, start: WindowStart = {}): string {
  const t = localTime(now, timeZone);
  const days = lane === 'weekly' || lane === 'monthly' ? (start.day ?? 1) - 1 : 0;
  const shifted = new Date(
    Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute) - days * DAY_MS - (start.hour ?? 0) * millisecondsInHour,
  );
  const d: LocalDate = { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
  if (lane === 'daily' || lane === 'compaction') return `${d.year}-${pad(d.month)}-${pad(d.day)}`;
  if (lane === 'weekly') return isoWeek(d);
  return `${d.year}-${pad(d.month)}`;
}

export interface LaneDecision {
  readonly lane: Lane;
  readonly window: string;
  readonly due: boolean;
  readonly reason: string;
}

/**
 * Which lanes are due at `now`. `succeeded(lane, window)` says whether a successful run of the
 * lane is recorded for that window; `enabled(lane)` whether the config runs the lane at all;
 * `start(lane)` where its windows start.
 */
export function decideLanes(
  now: Date,
  timeZone: string,
  enabled: (lane: Lane) => boolean,
  succeeded: (lane: Lane, window: string) => boolean,
  start: (lane: Lane) => WindowStart = () => ({}),
): LaneDecision[] {
  return LANES.map((lane) => {
    const window = windowOf(lane, now, timeZone, start(lane));
    if (!enabled(lane)) return { lane, window, due: false, reason: `disabled (schedule.${lane}.enabled)` };
    if (succeeded(lane, window)) return { lane, window, due: false, reason: `done for ${window}` };
    return { lane, window, due: true, reason: `no successful run for ${window}` };
  });
}
