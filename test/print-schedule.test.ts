import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cli, demoBrain, nobodyCanRunTheTool, tempDir } from './helpers.js';
import { child, parseXml, textAt, type XmlElement } from './xml.js';
import { xmlEscape } from '../src/schedule/windows-task.js';

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
    // A run that succeeded says nothing: the log cron appends to stays empty.
    expect(fs.readFileSync(path.join(demo.dir, '.db-maintenance', 'scheduled.log'), 'utf8')).toBe('');
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

  it('cron: quoting holds for a path with spaces, quotes, $, & and ; (one shell word each)', () => {
    const demo = demoBrain();
    const dir = path.join(tempDir(), `it's a "brain" & $HOME; \`x\``);
    fs.cpSync(demo.dir, dir, { recursive: true });
    const config = path.join(dir, 'maintenance.config.json');
    const r = cli(['--config', config, '--print-schedule', 'cron']);
    expect(r.status, r.stderr).toBe(0);
    const line = r.stdout.split('\n').find((l) => l && !l.startsWith('#'))!;
    const command = line.split(' ').slice(5).join(' ').replace(/\\%/g, '%');
    const run = spawnSync('/bin/sh', ['-c', command], {
      cwd: '/',
      env: { PATH: '/usr/bin:/bin', HOME: '/', DB_MAINTENANCE_NOW: '2026-11-20T12:00:00Z' },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, '.db-maintenance', 'scheduled.log'), 'utf8')).toBe('');
    const history = JSON.parse(cli(['--config', config, '--history', '--json']).stdout) as { runs: unknown[] };
    expect(history.runs).toHaveLength(1);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'systemd: User= and Group= name the owner of the brain directory (numeric where no name is known)',
    () => {
      const demo = demoBrain();
      const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim();
      const nogroup = spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim();
      const groupName = spawnSync('id', ['-gn', 'nobody'], { encoding: 'utf8' }).stdout.trim();
      fs.chownSync(demo.dir, Number(nobody), Number(nogroup));
      const service = (): string => {
        const r = cli(['--config', demo.configPath, '--print-schedule', 'systemd']);
        expect(r.status, r.stderr).toBe(0);
        return r.stdout;
      };
      const s1 = service();
      expect(s1).toMatch(/^User=nobody$/m);
      expect(s1).toMatch(new RegExp(`^Group=${groupName}$`, 'm'));
      fs.chownSync(demo.dir, 54321, 54329); // ids that /etc/passwd and /etc/group do not name
      const s2 = service();
      expect(s2).toMatch(/^User=54321$/m);
      expect(s2).toMatch(/^Group=54329$/m);
    },
  );

  it.skipIf(!nobodyCanRunTheTool())(
    "systemd: the service's command, run as its User=/Group= (as systemd would), leaves state and backups owned by the brain's owner (skipped unless root and nobody can reach this checkout)",
    (ctx) => {
      const demo = demoBrain();
      for (let d = path.dirname(demo.dir); d !== os.tmpdir() && d !== '/'; d = path.dirname(d)) fs.chmodSync(d, 0o755);
      const uid = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
      const gid = Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim());
      spawnSync('chown', ['-R', `${uid}:${gid}`, demo.dir]);
      const r = cli(['--config', demo.configPath, '--print-schedule', 'systemd']);
      expect(r.status, r.stderr).toBe(0);
      const directive = (k: string): string => new RegExp(`^${k}=(.*)$`, 'm').exec(r.stdout)![1]!;
      const unquote = (w: string): string =>
        (w.startsWith('"') ? w.slice(1, -1).replace(/\\(["\\])/g, '$1') : w).replace(/%%/g, '%');
      const argv = (directive('ExecStart').match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? []).map(unquote);
      const [user, group] = [directive('User'), directive('Group')];
      expect(user).toBe('nobody');
      const setpriv = ['setpriv', `--reuid=${user}`, `--regid=${group}`, '--clear-groups'];
      if (spawnSync(setpriv[0]!, [...setpriv.slice(1), 'true']).status !== 0) return ctx.skip(); // no setpriv here
      const run = spawnSync(setpriv[0]!, [...setpriv.slice(1), ...argv], {
        cwd: unquote(directive('WorkingDirectory')),
        env: { PATH: '/usr/bin:/bin', DB_MAINTENANCE_NOW: '2026-11-20T12:00:00Z' },
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toBe('');
      const made: string[] = [];
      const walk = (d: string): void => {
        for (const n of fs.readdirSync(d)) {
          const f = path.join(d, n);
          const st = fs.lstatSync(f);
          if (st.uid !== uid) made.push(`${path.relative(demo.dir, f)} uid ${st.uid}`);
          if (st.isDirectory()) walk(f);
        }
      };
      walk(demo.dir);
      expect(made).toEqual([]);
      expect(fs.readdirSync(path.join(demo.dir, '.db-maintenance')).length).toBeGreaterThan(0);
    },
  );

  it.each([
    ['a plain path', ''],
    ['spaces, quotes and a %', `my "brain" 50% done`],
  ])('systemd: a service and a timer that systemd-analyze verify accepts (%s)', (_, name, ctx) => {
    let demo = demoBrain();
    if (name) {
      const to = path.join(tempDir(), name);
      fs.cpSync(demo.dir, to, { recursive: true });
      demo = { ...demo, dir: to, configPath: path.join(to, 'maintenance.config.json') };
    }
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
    const sd = (p: string): string => p.replace(/%/g, '%%');
    const q = (p: string): string => `"${sd(p).replace(/"/g, '\\"')}"`;
    expect(service).toContain(`ExecStart=${q(process.execPath)} ${q(BIN)} --config ${q(demo.configPath)} --scheduled`);
    expect(service).toContain(`WorkingDirectory=${sd(demo.dir)}`);
    expect(service).toMatch(new RegExp(`^User=${ownerName(demo.dir)}$`, 'm'));
    expect(service).toMatch(/^Group=\S+$/m);
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

  it('windows: Task Scheduler XML of the 1.2 schema: hourly, as the owner, cmd.exe appending to the log', () => {
    const demo = demoBrain();
    const r = cli(['--config', demo.configPath, '--print-schedule', 'windows']);
    expect(r.status, r.stderr).toBe(0);
    const task = parseXml(r.stdout);
    checkTaskShape(task);
    expect(textAt(task, 'Principals', 'Principal', 'UserId')).toBe(ownerName(demo.dir));
    const exec = child(child(task, 'Actions'), 'Exec');
    expect(textAt(exec, 'WorkingDirectory')).toBe(demo.dir);
    const line = cmdLine(textAt(exec, 'Arguments'));
    const log = path.join(demo.dir, '.db-maintenance', 'scheduled.log');
    expect(line.commands).toEqual([
      `mkdir "${path.dirname(log)}" 2>nul`,
      `"${process.execPath}" "${BIN}" --config "${demo.configPath}" --scheduled --quiet > "${path.dirname(log)}/scheduled.out" 2>&1`,
      'set "rc=!errorlevel!"',
      `type "${path.dirname(log)}/scheduled.out" >> "${log}"`,
      'exit /b !rc!',
    ]);
    const bad = cli(['--config', demo.configPath, '--print-schedule', 'launchd']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe(
      'error: --print-schedule takes one of cron, systemd, windows, not "launchd" (see db-maintenance --help)',
    );
  });

  it('windows: & < > in the paths are escaped (the XML parses back to the same path); % and quotes are refused', () => {
    const demo = demoBrain();
    const dir = path.join(tempDir(), 'R&D <x> brain');
    fs.cpSync(demo.dir, dir, { recursive: true });
    const r = cli(['--config', path.join(dir, 'maintenance.config.json'), '--print-schedule', 'windows']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('R&amp;D &lt;x&gt; brain');
    const task = parseXml(r.stdout);
    checkTaskShape(task);
    expect(textAt(task, 'Actions', 'Exec', 'WorkingDirectory')).toBe(dir);
    expect(cmdLine(textAt(task, 'Actions', 'Exec', 'Arguments')).commands[1]).toContain(
      `--config "${path.join(dir, 'maintenance.config.json')}"`,
    );
    // A quote in a value: escaped too (what the task's own text holds, e.g. an account name).
    expect(parseXml(`<a b="${xmlEscape(`"it's" & <more>`)}">${xmlEscape(`"it's" & <more>`)}</a>`)).toMatchObject({
      attrs: { b: `"it's" & <more>` },
      text: `"it's" & <more>`,
    });
    for (const name of ['100% brain', 'a "quoted" brain', 'bang! brain']) {
      const d = path.join(tempDir(), name);
      fs.cpSync(demo.dir, d, { recursive: true });
      const refused = cli(['--config', path.join(d, 'maintenance.config.json'), '--print-schedule', 'windows']);
      expect(refused.status, name).toBe(2);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(
        /^error: the path of (node|the tool|the config|the working directory|the log) \(.*\) contains .*, which cmd\.exe cannot take in a task's command line \(move or rename it/,
      );
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('windows: a working directory longer than MAX_PATH is refused', () => {
    const demo = demoBrain();
    let dir = tempDir();
    while (dir.length <= 270) dir = path.join(dir, 'a-rather-long-directory-name');
    fs.cpSync(demo.dir, dir, { recursive: true });
    const r = cli(['--config', path.join(dir, 'maintenance.config.json'), '--print-schedule', 'windows']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: the path of the working directory is \d+ characters, more than Windows' 260 \(/);
  });
});

/** The owner of `p` by name, as /etc/passwd has it. */
function ownerName(p: string): string {
  const uid = fs.statSync(p).uid;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[2] === String(uid));
  return line ? line.split(':')[0]! : String(uid);
}

const TASK_CHILDREN = ['RegistrationInfo', 'Triggers', 'Settings', 'Data', 'Principals', 'Actions'];
const SETTINGS = [
  'AllowStartOnDemand',
  'RestartOnFailure',
  'MultipleInstancesPolicy',
  'DisallowStartIfOnBatteries',
  'StopIfGoingOnBatteries',
  'AllowHardTerminate',
  'StartWhenAvailable',
  'NetworkProfileName',
  'RunOnlyIfNetworkAvailable',
  'WakeToRun',
  'Enabled',
  'Hidden',
  'DeleteExpiredTaskAfter',
  'IdleSettings',
  'NetworkSettings',
  'ExecutionTimeLimit',
  'Priority',
  'RunOnlyIfIdle',
  'UseUnifiedSchedulingEngine',
  'DisallowStartOnRemoteAppSession',
];
const onlyKnown = (el: XmlElement, known: readonly string[]): void => {
  for (const c of el.children) expect(known, `<${c.name}> in <${el.name}>`).toContain(c.name);
  expect(new Set(el.children.map((c) => c.name)).size, `a repeated child of <${el.name}>`).toBe(el.children.length);
};

/** The Task Scheduler 1.2 schema's shape, for what the task uses, and its value types and limits. */
function checkTaskShape(task: XmlElement): void {
  expect(task.name).toBe('Task');
  expect(task.attrs).toEqual({ version: '1.2', xmlns: 'http://schemas.microsoft.com/windows/2004/02/mit/task' });
  onlyKnown(task, TASK_CHILDREN);
  for (const required of ['RegistrationInfo', 'Triggers', 'Principals', 'Settings', 'Actions']) child(task, required);
  const trigger = child(child(task, 'Triggers'), 'TimeTrigger');
  onlyKnown(trigger, ['Enabled', 'StartBoundary', 'EndBoundary', 'Repetition', 'ExecutionTimeLimit', 'RandomDelay']);
  expect(textAt(trigger, 'Repetition', 'Interval')).toBe('PT1H');
  expect(textAt(trigger, 'StartBoundary')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:17:00$/);
  expect(textAt(trigger, 'Enabled')).toBe('true');
  const principals = child(task, 'Principals');
  const principal = child(principals, 'Principal');
  onlyKnown(principal, [
    'UserId',
    'GroupId',
    'LogonType',
    'RunLevel',
    'DisplayName',
    'ProcessTokenSidType',
    'RequiredPrivileges',
  ]);
  expect(principal.attrs['id']).toBeTruthy();
  expect(textAt(principal, 'UserId')).not.toBe('');
  expect(['S4U', 'Password', 'InteractiveToken']).toContain(textAt(principal, 'LogonType'));
  expect(['LeastPrivilege', 'HighestAvailable']).toContain(textAt(principal, 'RunLevel'));
  const settings = child(task, 'Settings');
  onlyKnown(settings, SETTINGS);
  expect(['Parallel', 'Queue', 'IgnoreNew', 'StopExisting']).toContain(textAt(settings, 'MultipleInstancesPolicy'));
  expect(Number(textAt(settings, 'Priority'))).toBeGreaterThanOrEqual(0);
  expect(Number(textAt(settings, 'Priority'))).toBeLessThanOrEqual(10);
  for (const b of ['DisallowStartIfOnBatteries', 'StopIfGoingOnBatteries', 'StartWhenAvailable', 'Enabled'])
    expect(['true', 'false']).toContain(textAt(settings, b));
  expect(textAt(settings, 'ExecutionTimeLimit')).toMatch(/^P(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$/);
  const actions = child(task, 'Actions');
  expect(actions.attrs['Context']).toBe(principal.attrs['id']); // the schema's keyref
  onlyKnown(actions, ['Exec']);
  const exec = child(actions, 'Exec');
  onlyKnown(exec, ['Command', 'Arguments', 'WorkingDirectory']);
  expect(textAt(exec, 'Command')).toBe('cmd.exe');
  expect(textAt(exec, 'WorkingDirectory').length).toBeLessThanOrEqual(260);
  expect(`cmd.exe ${textAt(exec, 'Arguments')}`.length).toBeLessThanOrEqual(8191);
}

/**
 * What cmd.exe runs for `/d /v:on /s /c "..."`: the text between the first and the last quote,
 * split at the `&` outside quotes (where cmd splits it). Quotes must pair up, and no `%` may be
 * in it (cmd would expand it).
 */
function cmdLine(args: string): { commands: string[] } {
  const m = /^\/d \/v:on \/s \/c "(.*)"$/s.exec(args);
  expect(m, args).not.toBeNull();
  const inner = m![1]!;
  expect(inner).not.toContain('%');
  const commands: string[] = [];
  let cur = '';
  let quoted = false;
  for (const c of inner) {
    if (c === '"') quoted = !quoted;
    if (c === '&' && !quoted && !cur.endsWith('>')) {
      commands.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  expect(quoted, 'unbalanced quotes').toBe(false);
  commands.push(cur.trim());
  return { commands };
}
