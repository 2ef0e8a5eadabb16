/**
 * Ready entries that run `--scheduled --quiet` hourly (`--print-schedule cron|systemd|windows`),
 * with the absolute paths of node, of this tool and of the config (cron and Task Scheduler start
 * elsewhere, with a minimal PATH), the config's directory as the working directory, and as the
 * user that owns the brain directory (systemd `User=`/`Group=`, the task's principal; a crontab
 * line runs as the crontab's user). Under --quiet only errors reach the log; the tool rotates
 * it (src/schedule/scheduled-log.ts).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DirectoryOwner } from '../util/accounts.js';
import { windowsTask } from './windows-task.js';

export const SCHEDULE_KINDS = ['cron', 'systemd', 'windows'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

/** bin/db-maintenance.js of this installation (dist/schedule/ -> ../../bin). */
export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'db-maintenance.js');

export interface ScheduleTarget {
  readonly node: string;
  readonly bin: string;
  readonly config: string;
  readonly workDir: string;
  readonly logFile: string;
  /** The brain directory's owner: who the entry runs as. */
  readonly owner: DirectoryOwner;
  /** The Windows account the task runs as (DOMAIN\\user), for `windows`. */
  readonly windowsUser: string;
}

/** POSIX shell single quoting, for a crontab line: there `%` ends the command (and starts its stdin) unless escaped. */
const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`.replace(/%/g, '\\%');
/** systemd command-line quoting; `%` is a specifier there and must be doubled. */
const sd = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;
/** A path in a systemd directive that is not a command line. */
const sdPath = (s: string): string => s.replace(/%/g, '%%');

export function scheduleEntry(kind: ScheduleKind, t: ScheduleTarget): string {
  if (kind === 'cron') {
    return [
      '# db-maintenance: every hour at minute 17, the lanes of --scheduled that are due (crontab -e)',
      `17 * * * * cd ${sh(t.workDir)} && mkdir -p ${sh(path.dirname(t.logFile))} && ${sh(t.node)} ${sh(t.bin)} --config ${sh(t.config)} --scheduled --quiet >> ${sh(t.logFile)} 2>&1`,
      '',
    ].join('\n');
  }
  if (kind === 'systemd') {
    return [
      '# /etc/systemd/system/db-maintenance.service',
      '[Unit]',
      'Description=db-maintenance: the due lanes of --scheduled',
      'After=local-fs.target',
      '',
      '[Service]',
      'Type=oneshot',
      `WorkingDirectory=${sdPath(t.workDir)}`,
      '# the owner of the brain directory: what the tool creates (archives, .gz, state) stays theirs',
      `User=${sdPath(t.owner.user.name)}`,
      `Group=${sdPath(t.owner.group.name)}`,
      `ExecStart=${sd(t.node)} ${sd(t.bin)} --config ${sd(t.config)} --scheduled --quiet`,
      'Nice=10',
      'IOSchedulingClass=idle',
      '',
      '# /etc/systemd/system/db-maintenance.timer',
      '[Unit]',
      'Description=Run db-maintenance --scheduled hourly',
      '',
      '[Timer]',
      'OnCalendar=hourly',
      'RandomizedDelaySec=300',
      'Persistent=true',
      '',
      '[Install]',
      'WantedBy=timers.target',
      '',
      '# then: systemctl daemon-reload && systemctl enable --now db-maintenance.timer',
      '',
    ].join('\n');
  }
  return windowsTask(t);
}
