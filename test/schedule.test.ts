import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decideLanes, LANES, localTime, windowOf, type Lane, type WindowStart } from '../src/schedule/cadence.js';
import { cli, demoBrain } from './helpers.js';

const HOUR = 3_600_000;

/** Invokes the lanes every `stepMs` from `from` to `to`; returns the runs of each lane, with their windows. */
function simulate(opts: {
  from: string;
  to: string;
  stepMs: number;
  timeZone: string;
  fail?: (lane: Lane, at: Date) => boolean;
  clock?: (at: Date) => Date;
  start?: Partial<Record<Lane, WindowStart>>;
  /** Also receives each run's time. */
  at?: (lane: Lane, at: Date) => void;
}): Record<Lane, string[]> {
  const done = new Set<string>();
  const runs: Record<Lane, string[]> = { daily: [], weekly: [], monthly: [], compaction: [] };
  for (let t = Date.parse(opts.from); t <= Date.parse(opts.to); t += opts.stepMs) {
    const now = opts.clock ? opts.clock(new Date(t)) : new Date(t);
    for (const d of decideLanes(
      now,
      opts.timeZone,
      () => true,
      (l, w) => done.has(`${l}|${w}`),
      (l) => opts.start?.[l] ?? {},
    )) {
      if (!d.due) continue;
      runs[d.lane].push(d.window);
      opts.at?.(d.lane, now);
      if (!opts.fail?.(d.lane, now)) done.add(`${d.lane}|${d.window}`);
    }
  }
  return runs;
}

describe('--scheduled cadence: due and not due', () => {
  it('windows: local date, ISO week, month, in the configured zone', () => {
    const at = new Date('2026-11-20T23:30:00Z');
    expect(windowOf('daily', at, 'UTC')).toBe('2026-11-20');
    expect(windowOf('daily', at, 'Europe/Berlin')).toBe('2026-11-21');
    expect(windowOf('daily', at, 'America/Los_Angeles')).toBe('2026-11-20');
    expect(windowOf('weekly', at, 'UTC')).toBe('2026-W47');
    expect(windowOf('weekly', new Date('2027-01-01T12:00:00Z'), 'UTC')).toBe('2026-W53'); // a Friday of 2026's last ISO week
    expect(windowOf('weekly', new Date('2026-01-01T12:00:00Z'), 'UTC')).toBe('2026-W01');
    expect(windowOf('monthly', new Date('2026-12-31T23:30:00Z'), 'Asia/Tokyo')).toBe('2027-01');
  });

  it("ISO weeks at year boundaries, whatever the process's own TZ (date-fns reads local fields)", () => {
    // [instant, zone of the config, ISO week]: 2020 and 2026 have 53 weeks; 2025-W01 starts in 2024.
    const cases: Array<[string, string, string]> = [
      ['2020-12-31T12:00:00Z', 'UTC', '2020-W53'],
      ['2021-01-03T23:59:00Z', 'UTC', '2020-W53'],
      ['2021-01-04T00:00:00Z', 'UTC', '2021-W01'],
      ['2024-12-29T23:59:00Z', 'UTC', '2024-W52'],
      ['2024-12-30T00:00:00Z', 'UTC', '2025-W01'],
      ['2026-12-28T00:00:00Z', 'UTC', '2026-W53'],
      ['2027-01-03T23:59:00Z', 'UTC', '2026-W53'],
      ['2027-01-04T00:30:00Z', 'UTC', '2027-W01'],
      ['2027-01-03T23:30:00Z', 'Asia/Tokyo', '2027-W01'], // Monday 08:30 in Tokyo
      ['2027-01-04T07:30:00Z', 'America/Los_Angeles', '2026-W53'], // Sunday 23:30 there
    ];
    const script = `import { windowOf } from ${JSON.stringify(pathToFileURL(path.resolve('dist/schedule/cadence.js')).href)};
      const cases = JSON.parse(process.argv[1]);
      console.log(JSON.stringify(cases.map(([at, zone]) => windowOf('weekly', new Date(at), zone))));`;
    const expected = cases.map((c) => c[2]);
    expect(cases.map(([at, zone]) => windowOf('weekly', new Date(at), zone))).toEqual(expected);
    for (const tz of ['UTC', 'Pacific/Kiritimati', 'Pacific/Pago_Pago', 'America/Los_Angeles', 'Asia/Kathmandu']) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(cases)], {
        encoding: 'utf8',
        env: { ...process.env, TZ: tz },
      });
      expect(r.stderr, tz).toBe('');
      expect(JSON.parse(r.stdout), `process TZ ${tz}`).toEqual(expected);
    }
  });

  it('hourly invocations for 120 days across both DST changes of New York: every window exactly once', () => {
    const runs = simulate({
      from: '2026-02-01T00:30:00Z',
      to: '2026-11-30T23:30:00Z',
      stepMs: HOUR,
      timeZone: 'America/New_York',
    });
    for (const lane of LANES) expect(new Set(runs[lane]).size, lane).toBe(runs[lane].length);
    // Every local date from Jan 31 (the first hour is still Jan 31 in New York) to Nov 30: none skipped.
    const first = Date.UTC(2026, 0, 31);
    const days = Math.round((Date.UTC(2026, 10, 30) - first) / 86_400_000) + 1;
    expect(runs.daily).toHaveLength(days);
    expect(runs.daily).toContain('2026-03-08'); // the 23-hour day
    expect(runs.daily).toContain('2026-11-01'); // the 25-hour day
    expect(runs.monthly).toEqual([
      '2026-01',
      '2026-02',
      '2026-03',
      '2026-04',
      '2026-05',
      '2026-06',
      '2026-07',
      '2026-08',
      '2026-09',
      '2026-10',
      '2026-11',
    ]);
    expect(runs.weekly[0]).toBe('2026-W05');
    expect(runs.weekly.at(-1)).toBe('2026-W49');
  });

  it('windows that start later: daily from 02:00, weekly from Sunday 03:00, monthly from the 15th 04:00', () => {
    const ny = 'America/New_York';
    expect(windowOf('daily', new Date('2026-11-21T06:30:00Z'), ny, { hour: 2 })).toBe('2026-11-20'); // 01:30 local: still yesterday's window
    expect(windowOf('daily', new Date('2026-11-21T07:30:00Z'), ny, { hour: 2 })).toBe('2026-11-21'); // 02:30 local
    expect(windowOf('weekly', new Date('2026-11-22T02:59:00Z'), 'UTC', { day: 7, hour: 3 })).toBe('2026-W46'); // the window from Sunday Nov 15 03:00
    expect(windowOf('weekly', new Date('2026-11-22T03:00:00Z'), 'UTC', { day: 7, hour: 3 })).toBe('2026-W47');
    expect(windowOf('monthly', new Date('2026-12-14T23:00:00Z'), 'UTC', { day: 15 })).toBe('2026-11');
    expect(windowOf('monthly', new Date('2026-12-15T00:00:00Z'), 'UTC', { day: 15 })).toBe('2026-12');
    expect(windowOf('monthly', new Date('2027-03-01T12:00:00Z'), 'UTC', { day: 28 })).toBe('2027-02'); // February's window (from the 28th) until March 28

    // Hourly (at :30) for ten months across both DST changes: every window once, and each run in the first hour of its window.
    const local: Record<Lane, string[]> = { daily: [], weekly: [], monthly: [], compaction: [] };
    const runs = simulate({
      from: '2026-02-01T00:30:00Z',
      to: '2026-11-30T23:30:00Z',
      stepMs: HOUR,
      timeZone: ny,
      start: { daily: { hour: 2 }, weekly: { day: 7, hour: 3 }, monthly: { day: 15, hour: 4 } },
      at: (lane, at) => {
        const t = localTime(at, ny);
        local[lane].push(
          `${lane === 'weekly' ? new Date(Date.UTC(t.year, t.month - 1, t.day)).getUTCDay() : t.day}@${t.hour}`,
        );
      },
    });
    for (const lane of LANES) expect(new Set(runs[lane]).size, lane).toBe(runs[lane].length);
    const first = (xs: string[]): string[] => xs.slice(1); // the first invocation runs the window it lands in, whatever the hour
    // 02:30 every day, except the spring-forward day (no 02:30 on 2026-03-08: 03:30 instead)
    expect(first(local.daily).filter((x) => !x.endsWith('@2'))).toEqual(['8@3']);
    expect(runs.daily).toContain('2026-03-08');
    expect(runs.daily).toContain('2026-11-01');
    expect(new Set(first(local.weekly))).toEqual(new Set(['0@3'])); // Sundays (getUTCDay 0) at 03:30
    expect(new Set(first(local.monthly))).toEqual(new Set(['15@4']));
    expect(runs.monthly).toEqual([
      '2026-01',
      '2026-02',
      '2026-03',
      '2026-04',
      '2026-05',
      '2026-06',
      '2026-07',
      '2026-08',
      '2026-09',
      '2026-10',
      '2026-11',
    ]);
  });

  it('on the 25-hour day, the repeated hour (01:00-02:00 twice) does not run the daily lane twice', () => {
    // 2026-11-01 in New York: 01:30 EDT (05:30Z) and 01:30 EST (06:30Z) are both local 01:30.
    const runs = simulate({
      from: '2026-11-01T04:30:00Z',
      to: '2026-11-01T07:30:00Z',
      stepMs: HOUR / 2,
      timeZone: 'America/New_York',
    });
    expect(runs.daily).toEqual(['2026-11-01']);
  });

  it('a missed window runs at the next invocation; a failed run is retried next time', () => {
    // The machine was off for three days: one run when it comes back, not three.
    const missed = simulate({
      from: '2026-11-10T10:00:00Z',
      to: '2026-11-16T10:00:00Z',
      stepMs: HOUR,
      timeZone: 'UTC',
      clock: (at) =>
        at.getTime() < Date.parse('2026-11-11T00:00:00Z') || at.getTime() > Date.parse('2026-11-14T09:00:00Z')
          ? at
          : new Date(Date.parse('2026-11-10T23:00:00Z')),
    });
    expect(missed.daily).toEqual(['2026-11-10', '2026-11-14', '2026-11-15', '2026-11-16']);
    // The daily lane fails until 03:00, then succeeds: retried each hour, done once it succeeds.
    const retried = simulate({
      from: '2026-11-20T00:00:00Z',
      to: '2026-11-20T06:00:00Z',
      stepMs: HOUR,
      timeZone: 'UTC',
      fail: (lane, at) => lane === 'daily' && at.getUTCHours() < 3,
    });
    expect(retried.daily).toEqual(['2026-11-20', '2026-11-20', '2026-11-20', '2026-11-20']);
    expect(retried.weekly).toEqual(['2026-W47']);
  });

  it('a clock moved backwards runs nothing twice', () => {
    const done = new Set<string>();
    const run = (iso: string): string[] =>
      decideLanes(
        new Date(iso),
        'UTC',
        () => true,
        (l, w) => done.has(`${l}|${w}`),
      )
        .filter((d) => d.due)
        .map((d) => (done.add(`${d.lane}|${d.window}`), `${d.lane} ${d.window}`));
    expect(run('2026-11-20T10:00:00Z')).toEqual([
      'daily 2026-11-20',
      'weekly 2026-W47',
      'monthly 2026-11',
      'compaction 2026-11-20',
    ]);
    expect(run('2026-11-21T10:00:00Z')).toEqual(['daily 2026-11-21', 'compaction 2026-11-21']);
    expect(run('2026-11-21T08:00:00Z')).toEqual([]); // back two hours
    expect(run('2026-11-20T23:00:00Z')).toEqual([]); // back into yesterday, which ran
    expect(run('2026-11-19T12:00:00Z')).toEqual(['daily 2026-11-19', 'compaction 2026-11-19']); // a day that never ran: once
    expect(run('2026-11-19T13:00:00Z')).toEqual([]);
  });

  it('a disabled lane never runs', () => {
    const d = decideLanes(
      new Date('2026-11-20T10:00:00Z'),
      'UTC',
      (l) => l !== 'monthly',
      () => false,
    );
    expect(d.filter((x) => x.due).map((x) => x.lane)).toEqual(['daily', 'weekly', 'compaction']);
    expect(d.find((x) => x.lane === 'monthly')!.reason).toMatch(/disabled/);
  });
});

describe('--scheduled, the command', () => {
  it('runs the due lanes once per window, records them, and retries a failed lane at the next invocation', () => {
    const demo = demoBrain();
    const cfgPath = demo.configPath;
    const json = (r: { stdout: string }): { lanes: Array<{ lane: string; status: string }> } => JSON.parse(r.stdout);
    const lanes = (r: { stdout: string }): string[] => json(r).lanes.map((l) => `${l.lane}:${l.status}`);

    const first = cli(['--config', cfgPath, '--scheduled', '--json'], {
      env: { DB_MAINTENANCE_NOW: '2026-11-20T12:00:00Z' },
    });
    expect(first.status, first.stderr).toBe(0);
    expect(lanes(first)).toEqual(['daily:ok', 'weekly:ok', 'monthly:ok', 'compaction:ok']);
    const again = cli(['--config', cfgPath, '--scheduled', '--json'], {
      env: { DB_MAINTENANCE_NOW: '2026-11-20T13:00:00Z' },
    });
    expect(lanes(again)).toEqual(['daily:not-due', 'weekly:not-due', 'monthly:not-due', 'compaction:not-due']);

    // Next day: only the daily lane; its events file is now a directory, so it fails (exit 3) ...
    const events = `${demo.dir}/events.jsonl`;
    fs.renameSync(events, `${events}.bak`);
    fs.mkdirSync(events);
    const failing = cli(['--config', cfgPath, '--scheduled', '--json'], {
      env: { DB_MAINTENANCE_NOW: '2026-11-21T01:00:00Z' },
    });
    expect(failing.status).toBe(3);
    expect(lanes(failing)).toEqual(['daily:failed', 'weekly:not-due', 'monthly:not-due', 'compaction:ok']);
    // ... and is retried at the next invocation, which succeeds once the file is back.
    fs.rmdirSync(events);
    fs.renameSync(`${events}.bak`, events);
    const retried = cli(['--config', cfgPath, '--scheduled', '--json'], {
      env: { DB_MAINTENANCE_NOW: '2026-11-21T02:00:00Z' },
    });
    expect(retried.status, retried.stderr).toBe(0);
    expect(lanes(retried)).toEqual(['daily:ok', 'weekly:not-due', 'monthly:not-due', 'compaction:not-due']);

    const history = JSON.parse(cli(['--config', cfgPath, '--history', '--json']).stdout) as {
      runs: Array<{ command: string; exitCode: number }>;
    };
    expect(history.runs.map((r) => `${r.command} ${r.exitCode}`)).toEqual([
      '--scheduled 0',
      '--scheduled 3',
      '--scheduled 0',
    ]);
  });

  it('schedule.LANE.startDay / startHour from the config move the windows; an impossible start day is a config error', () => {
    const demo = demoBrain();
    const cfg = JSON.parse(fs.readFileSync(demo.configPath, 'utf8'));
    fs.writeFileSync(
      demo.configPath,
      JSON.stringify({
        ...cfg,
        schedule: {
          daily: { startHour: 2 },
          weekly: { startDay: 'sunday', startHour: 3 },
          monthly: { enabled: false },
          compaction: { enabled: false },
        },
      }),
    );
    const lanes = (at: string): string[] => {
      const r = cli(['--config', demo.configPath, '--scheduled', '--json'], { env: { DB_MAINTENANCE_NOW: at } });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout)
        .lanes.filter((l: { status: string }) => l.status !== 'not-due')
        .map((l: { lane: string; window: string }) => `${l.lane} ${l.window}`);
    };
    expect(lanes('2026-11-20T12:00:00Z')).toEqual(['daily 2026-11-20', 'weekly 2026-W46']); // Friday: the week that began Sunday Nov 15 03:00
    expect(lanes('2026-11-21T01:00:00Z')).toEqual([]); // before 02:00: still Friday's daily window
    expect(lanes('2026-11-21T02:00:00Z')).toEqual(['daily 2026-11-21']);
    expect(lanes('2026-11-22T02:00:00Z')).toEqual(['daily 2026-11-22']); // Sunday, before 03:00
    expect(lanes('2026-11-22T03:00:00Z')).toEqual(['weekly 2026-W47']);
    fs.writeFileSync(demo.configPath, JSON.stringify({ ...cfg, schedule: { monthly: { startDay: 31 } } }));
    const bad = cli(['--config', demo.configPath, '--scheduled']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/schedule\.monthly\.startDay.*1 to 28/);
  });

  it('--dry-run shows what is due and changes nothing; an unknown time zone is a config error', () => {
    const demo = demoBrain();
    const r = cli(['--config', demo.configPath, '--scheduled', '--dry-run', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).lanes.map((l: { status: string }) => l.status)).toEqual([
      'planned',
      'planned',
      'planned',
      'planned',
    ]);
    expect(fs.existsSync(`${demo.dir}/.db-maintenance/state.db`)).toBe(false);
    const cfg = JSON.parse(fs.readFileSync(demo.configPath, 'utf8'));
    fs.writeFileSync(demo.configPath, JSON.stringify({ ...cfg, schedule: { timeZone: 'Mars/Olympus' } }));
    const bad = cli(['--config', demo.configPath, '--scheduled']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/schedule\.timeZone.*IANA time zone/);
  });
});
