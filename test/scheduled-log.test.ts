import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rotateScheduledLog, SCHEDULED_LOG_MAX_BYTES } from '../src/schedule/scheduled-log.js';
import { cli, demoBrain, tempDir } from './helpers.js';

/** The command of the printed crontab line, as cron hands it to /bin/sh. */
function cronCommand(configPath: string): string {
  const r = cli(['--config', configPath, '--print-schedule', 'cron']);
  expect(r.status, r.stderr).toBe(0);
  const line = r.stdout.split('\n').find((l) => l && !l.startsWith('#'))!;
  return line.split(' ').slice(5).join(' ').replace(/\\%/g, '%');
}

function runAsCron(command: string, env: NodeJS.ProcessEnv = {}): ReturnType<typeof spawnSync> {
  return spawnSync('/bin/sh', ['-c', command], {
    cwd: '/',
    env: { PATH: '/usr/bin:/bin', HOME: '/', DB_MAINTENANCE_NOW: '2026-11-20T12:00:00Z', ...env },
    encoding: 'utf8',
  });
}

describe('scheduled.log rotation', () => {
  it("over 1 MiB it becomes scheduled.log.1 at the start of --scheduled; this run's lines (the shell holds the file) land there, none lost", () => {
    const demo = demoBrain();
    const state = path.join(demo.dir, '.db-maintenance');
    fs.mkdirSync(state);
    const log = path.join(state, 'scheduled.log');
    const old = 'error: an old line of an earlier run (exit 6)\n'.repeat(Math.ceil((SCHEDULED_LOG_MAX_BYTES + 1) / 46));
    fs.writeFileSync(log, old);
    fs.writeFileSync(`${log}.1`, 'the generation before: replaced\n');
    const command = cronCommand(demo.configPath);
    // Every backup fails: the monthly lane's tasks fail, and --quiet says so on stderr (into the log).
    const failing = runAsCron(command, { DB_MAINTENANCE_INJECT: 'fail-at:backup-commit' });
    expect(failing.status).toBe(6);
    expect(fs.existsSync(log)).toBe(false); // renamed; the next run's shell makes a new one
    const rotated = fs.readFileSync(`${log}.1`, 'utf8');
    expect(rotated.startsWith(old)).toBe(true);
    const added = rotated.slice(old.length);
    expect(added).toMatch(/^error: .+ on tier1 (failed|partial): /m);
    expect(added.split('\n').every((l) => l === '' || l.startsWith('error: '))).toBe(true);
    // The next run (it succeeds) starts a new, small log and leaves the old generation alone.
    const next = runAsCron(command);
    expect(next.status, String(next.stderr)).toBe(0);
    expect(fs.readFileSync(log, 'utf8')).toBe('');
    expect(fs.readFileSync(`${log}.1`, 'utf8')).toBe(rotated);
  });

  it('a log up to 1 MiB is left as it is, and --scheduled --dry-run never rotates', () => {
    const demo = demoBrain();
    const state = path.join(demo.dir, '.db-maintenance');
    fs.mkdirSync(state);
    const log = path.join(state, 'scheduled.log');
    fs.writeFileSync(log, 'x'.repeat(SCHEDULED_LOG_MAX_BYTES));
    expect(cli(['--config', demo.configPath, '--scheduled', '--quiet']).status).toBe(0);
    expect(fs.statSync(log).size).toBe(SCHEDULED_LOG_MAX_BYTES);
    expect(fs.existsSync(`${log}.1`)).toBe(false);
    fs.appendFileSync(log, 'y');
    expect(cli(['--config', demo.configPath, '--scheduled', '--dry-run', '--quiet']).status).toBe(0);
    expect(fs.statSync(log).size).toBe(SCHEDULED_LOG_MAX_BYTES + 1);
    expect(fs.existsSync(`${log}.1`)).toBe(false);
  });

  it('a rename that keeps failing (Windows: the file held open) is a warning, never an exception', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'scheduled.log'), 'z'.repeat(2048));
    let calls = 0;
    const busy = (): never => {
      calls++;
      throw Object.assign(new Error('EBUSY: resource busy or locked'), { code: 'EBUSY' });
    };
    const warned: string[] = [];
    const logger = { warn: (_: unknown, m: string) => warned.push(m), info: () => undefined };
    const r = rotateScheduledLog(dir, {
      maxBytes: 1024,
      rename: busy,
      platform: 'win32',
      sleep: () => undefined,
      logger: logger as never,
    });
    expect(r.status).toBe('failed');
    expect(calls).toBe(5);
    expect(warned[0]).toMatch(/scheduled\.log could not be rotated: rename .* failed 5 times \(EBUSY\)/);
    expect(fs.statSync(path.join(dir, 'scheduled.log')).size).toBe(2048);
    expect(rotateScheduledLog(path.join(dir, 'missing')).status).toBe('absent');
  });
});
