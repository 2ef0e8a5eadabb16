import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cli, demoBrain, tempDir } from './helpers.js';

describe('--print-schedule', () => {
  it("cron: an hourly line with absolute paths that works from / with cron's minimal environment", () => {
    const demo = demoBrain();
    const r = cli(['--config', demo.configPath, '--print-schedule', 'cron']);
    expect(r.status, r.stderr).toBe(0);
    const line = r.stdout.split('\n').find((l) => l && !l.startsWith('#'))!;
    const fields = line.split(' ');
    expect(fields.slice(0, 5)).toEqual(['17', '*', '*', '*', '*']);
    const command = fields.slice(5).join(' ');
    expect(command).toContain(`'${process.execPath}'`);
    expect(command).toContain(`'${BIN}'`);
    expect(command).toContain(`--config '${demo.configPath}'`);
    // Run it as cron would: from /, with a minimal PATH and nothing else.
    const run = spawnSync('/bin/sh', ['-c', command], {
      cwd: '/',
      env: { PATH: '/usr/bin:/bin', HOME: '/', DB_MAINTENANCE_NOW: '2026-11-20T12:00:00Z' },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const history = JSON.parse(cli(['--config', demo.configPath, '--history', '--json']).stdout) as {
      runs: Array<{ command: string; exitCode: number }>;
    };
    expect(history.runs.map((x) => `${x.command} ${x.exitCode}`)).toEqual(['--scheduled 0']);
    expect(fs.existsSync(path.join(demo.dir, '.db-maintenance', 'scheduled.log'))).toBe(true);
  });

  it('cron: a % in a path is escaped (crontab would end the command there) and the line still works', () => {
    const demo = demoBrain();
    const dir = path.join(tempDir(), '100% brain');
    fs.cpSync(demo.dir, dir, { recursive: true });
    const config = path.join(dir, 'maintenance.config.json');
    const r = cli(['--config', config, '--print-schedule', 'cron']);
    expect(r.status, r.stderr).toBe(0);
    const line = r.stdout.split('\n').find((l) => l && !l.startsWith('#'))!;
    expect(line).not.toMatch(/[^\\]%/);
    expect(line).toContain('100\\% brain');
    // What cron hands the shell: every \% becomes %, nothing else changes.
    const command = line.split(' ').slice(5).join(' ').replace(/\\%/g, '%');
    const run = spawnSync('/bin/sh', ['-c', command], {
      cwd: '/',
      env: { PATH: '/usr/bin:/bin', HOME: '/', DB_MAINTENANCE_NOW: '2026-11-20T12:00:00Z' },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, '.db-maintenance', 'scheduled.log'))).toBe(true);
  });

  it('systemd: a service and a timer that systemd-analyze verify accepts', (ctx) => {
    const demo = demoBrain();
    const r = cli(['--config', demo.configPath, '--print-schedule', 'systemd']);
    expect(r.status, r.stderr).toBe(0);
    const dir = tempDir();
    const units: Record<string, string[]> = {};
    let current: string | null = null;
    for (const l of r.stdout.split('\n')) {
      const m = /^# \/etc\/systemd\/system\/(.+)$/.exec(l);
      if (m) units[(current = m[1]!)] = [];
      else if (l.startsWith('# then')) current = null;
      else if (current) units[current]!.push(l);
    }
    expect(Object.keys(units)).toEqual(['db-maintenance.service', 'db-maintenance.timer']);
    const service = units['db-maintenance.service']!.join('\n');
    expect(service).toMatch(/^Type=oneshot$/m);
    expect(service).toContain(`ExecStart="${process.execPath}" "${BIN}" --config "${demo.configPath}" --scheduled`);
    expect(service).toContain(`WorkingDirectory=${demo.dir}`);
    expect(units['db-maintenance.timer']!.join('\n')).toMatch(/^OnCalendar=hourly$/m);
    for (const [name, lines] of Object.entries(units)) fs.writeFileSync(path.join(dir, name), lines.join('\n'));
    const verify = spawnSync(
      'systemd-analyze',
      ['verify', path.join(dir, 'db-maintenance.service'), path.join(dir, 'db-maintenance.timer')],
      { encoding: 'utf8' },
    );
    if (verify.error) return ctx.skip(); // no systemd-analyze here: the structure was checked above
    expect(verify.status, verify.stderr).toBe(0);
  });

  it('windows: a schtasks line, hourly, with quoted absolute paths; an unknown kind is a usage error', () => {
    const demo = demoBrain();
    const r = cli(['--config', demo.configPath, '--print-schedule', 'windows']);
    expect(r.status, r.stderr).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('schtasks'))!;
    expect(line).toMatch(/^schtasks \/Create \/F \/TN "db-maintenance" \/SC HOURLY /);
    expect(line).toContain(`\\"${process.execPath}\\" \\"${BIN}\\" --config \\"${demo.configPath}\\" --scheduled`);
    const bad = cli(['--config', demo.configPath, '--print-schedule', 'launchd']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe(
      'error: --print-schedule takes one of cron, systemd, windows, not "launchd" (see db-maintenance --help)',
    );
  });
});
