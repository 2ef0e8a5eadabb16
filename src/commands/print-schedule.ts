/** `--print-schedule cron|systemd|windows`: an hourly `--scheduled` entry for this installation and config. */
import path from 'node:path';
import { loadConfig } from '../config/load.js';
import { EXIT, type ExitCode } from '../errors.js';
import { BIN, scheduleEntry, type ScheduleKind } from '../schedule/entries.js';
import { configPathOf, type CliIo, type CliOptions } from './context.js';

export function printScheduleCommand(opts: CliOptions, io: CliIo): ExitCode {
  const kind = opts.printSchedule as ScheduleKind; // checked by its option parser (src/cli.ts)
  const brain = loadConfig(configPathOf(opts, io)); // a valid config, or a clear error now rather than at 3 a.m.
  io.stdout(
    scheduleEntry(kind, {
      node: process.execPath,
      bin: BIN,
      config: brain.configPath,
      workDir: brain.baseDir,
      logFile: path.join(brain.stateDir, 'scheduled.log'),
    }),
  );
  return EXIT.ok;
}
