/** `--print-schedule cron|systemd|windows`: an hourly `--scheduled` entry for this installation and config. */
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config/load.js';
import { EXIT, type ExitCode } from '../errors.js';
import { BIN, scheduleEntry, type ScheduleKind } from '../schedule/entries.js';
import { SCHEDULED_LOG } from '../schedule/scheduled-log.js';
import { ownerOf } from '../util/accounts.js';
import { configPathOf, type CliIo, type CliOptions } from './context.js';

export function printScheduleCommand(opts: CliOptions, io: CliIo): ExitCode {
  const kind = opts.printSchedule as ScheduleKind; // checked by its option parser (src/cli.ts)
  const brain = loadConfig(configPathOf(opts, io)); // a valid config, or a clear error now rather than at 3 a.m.
  const owner = ownerOf(path.dirname(brain.configPath));
  io.stdout(
    scheduleEntry(kind, {
      node: process.execPath,
      bin: BIN,
      config: brain.configPath,
      workDir: brain.baseDir,
      logFile: path.join(brain.stateDir, SCHEDULED_LOG),
      owner,
      // Windows has no uid to look up: the task runs as whoever prints it (print it as the brain's owner).
      windowsUser:
        process.platform === 'win32'
          ? `${io.env['USERDOMAIN'] ? `${io.env['USERDOMAIN']}\\` : ''}${os.userInfo().username}`
          : owner.user.name,
    }),
  );
  return EXIT.ok;
}
