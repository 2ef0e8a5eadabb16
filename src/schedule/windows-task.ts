/**
 * `--print-schedule windows`: a Task Scheduler 1.2 task definition (XML) that runs
 * `--scheduled --quiet` every hour at minute 17, for
 * `schtasks /Create /XML db-maintenance.xml /TN db-maintenance` (elevated) or
 * `Register-ScheduledTask -TaskName db-maintenance -Xml (Get-Content -Raw db-maintenance.xml)`.
 *
 * Task Scheduler starts a program with no redirection, so the action is cmd.exe:
 *
 *   mkdir "<stateDir>" 2>nul & "<node>" "<bin>" --config "<config>" --scheduled --quiet
 *     > "<stateDir>\scheduled.out" 2>&1 & set "rc=!errorlevel!"
 *     & type "<stateDir>\scheduled.out" >> "<stateDir>\scheduled.log" & exit /b !rc!
 *
 * The run writes to `scheduled.out` and cmd appends that to `scheduled.log` after the run:
 * while the tool runs nobody holds `scheduled.log`, so it can rename it when it rotates it
 * (Windows refuses to rename a file another process holds open, which `>> scheduled.log`
 * would). `exit /b !rc!` (delayed expansion, `/v:on`) hands the tool's exit code to Task
 * Scheduler's "Last Run Result". `%` (cmd expands `%NAME%` on a command line, with no way to
 * escape it) and `!` (delayed expansion) cannot be in the paths: refused, as is a path longer
 * than MAX_PATH (260) where the schema takes a path, and a cmd.exe command line over its 8191
 * characters.
 */
import { DbmError } from '../errors.js';

export const TASK_NAMESPACE = 'http://schemas.microsoft.com/windows/2004/02/mit/task';
/** MAX_PATH: the longest Command and WorkingDirectory the task takes. */
export const WINDOWS_MAX_PATH = 260;
/** The longest command line cmd.exe runs. */
export const CMD_MAX_LINE = 8191;

export interface WindowsTaskTarget {
  readonly node: string;
  readonly bin: string;
  readonly config: string;
  readonly workDir: string;
  /** `<stateDir>\scheduled.log`. */
  readonly logFile: string;
  /** The account the task runs as: the brain's owner (DOMAIN\user or user). */
  readonly windowsUser: string;
}

/** XML text and attribute escaping. */
export function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** The directory part of a path written either way (this prints Windows paths, also when run elsewhere for a test). */
function dirOf(p: string): string {
  const i = Math.max(p.lastIndexOf('\\'), p.lastIndexOf('/'));
  return i > 0 ? p.slice(0, i) : p;
}

/** The cmd.exe command line the task runs (without cmd's own switches). */
export function windowsCommandLine(t: WindowsTaskTarget): string {
  for (const [what, p] of [
    ['node', t.node],
    ['the tool', t.bin],
    ['the config', t.config],
    ['the working directory', t.workDir],
    ['the log', t.logFile],
  ] as const) {
    const bad = /[%!"\r\n]/.exec(p);
    if (bad)
      throw new DbmError(
        'USAGE',
        `the path of ${what} (${p}) contains ${JSON.stringify(bad[0])}, which cmd.exe cannot take in a task's command line`,
        {
          hint: 'move or rename it to a path without % ! or quotes',
        },
      );
  }
  const state = dirOf(t.logFile);
  const sep = t.logFile.includes('\\') ? '\\' : '/';
  const out = `${state}${sep}scheduled.out`;
  const q = (s: string): string => `"${s}"`;
  return [
    `mkdir ${q(state)} 2>nul`,
    `${q(t.node)} ${q(t.bin)} --config ${q(t.config)} --scheduled --quiet > ${q(out)} 2>&1`,
    'set "rc=!errorlevel!"',
    `type ${q(out)} >> ${q(t.logFile)}`,
    'exit /b !rc!',
  ].join(' & ');
}

export function windowsTask(t: WindowsTaskTarget): string {
  for (const [what, p] of [
    ['node', t.node],
    ['the working directory', t.workDir],
  ] as const) {
    if (p.length > WINDOWS_MAX_PATH)
      throw new DbmError(
        'USAGE',
        `the path of ${what} is ${p.length} characters, more than Windows' ${WINDOWS_MAX_PATH}`,
        {
          hint: 'move the brain (or node) to a shorter path',
        },
      );
  }
  const line = windowsCommandLine(t);
  // /d: no AutoRun commands; /v:on: !errorlevel! read when each command runs; /s /c "...": run the line between the outer quotes as it is.
  const args = `/d /v:on /s /c "${line}"`;
  if (args.length + 'cmd.exe '.length > CMD_MAX_LINE)
    throw new DbmError(
      'USAGE',
      `the task's command line would be ${args.length} characters, more than cmd.exe's ${CMD_MAX_LINE}`,
      {
        hint: 'move the brain (or node) to a shorter path',
      },
    );
  const e = xmlEscape;
  return [
    '<?xml version="1.0"?>',
    '<!-- db-maintenance: every hour at minute 17, the due lanes, as the owner of the brain.',
    '     Save as db-maintenance.xml, then in an elevated prompt:',
    '       schtasks /Create /XML db-maintenance.xml /TN db-maintenance',
    '     or in an elevated PowerShell:',
    '       Register-ScheduledTask -TaskName db-maintenance -Xml (Get-Content -Raw db-maintenance.xml) -->',
    `<Task version="1.2" xmlns="${TASK_NAMESPACE}">`,
    '  <RegistrationInfo>',
    '    <Description>db-maintenance: the due lanes of the scheduled maintenance, hourly</Description>',
    '  </RegistrationInfo>',
    '  <Triggers>',
    '    <TimeTrigger>',
    '      <Repetition>',
    '        <Interval>PT1H</Interval>',
    '        <StopAtDurationEnd>false</StopAtDurationEnd>',
    '      </Repetition>',
    '      <StartBoundary>2026-01-01T00:17:00</StartBoundary>',
    '      <Enabled>true</Enabled>',
    '    </TimeTrigger>',
    '  </Triggers>',
    '  <Principals>',
    '    <Principal id="Author">',
    `      <UserId>${e(t.windowsUser)}</UserId>`,
    // S4U: runs whether the user is logged on or not, with no stored password (local files only).
    '      <LogonType>S4U</LogonType>',
    '      <RunLevel>LeastPrivilege</RunLevel>',
    '    </Principal>',
    '  </Principals>',
    '  <Settings>',
    '    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>',
    '    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>',
    '    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>',
    '    <StartWhenAvailable>true</StartWhenAvailable>',
    '    <ExecutionTimeLimit>PT72H</ExecutionTimeLimit>',
    '    <Priority>7</Priority>',
    '    <Enabled>true</Enabled>',
    '  </Settings>',
    '  <Actions Context="Author">',
    '    <Exec>',
    '      <Command>cmd.exe</Command>',
    `      <Arguments>${e(args)}</Arguments>`,
    `      <WorkingDirectory>${e(t.workDir)}</WorkingDirectory>`,
    '    </Exec>',
    '  </Actions>',
    '</Task>',
    '',
  ].join('\n');
}
