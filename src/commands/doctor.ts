/** `--doctor [--json]`: the checks of src/doctor/doctor.ts, printed; exits with the code of the worst failed check. */
import { runDoctor } from '../doctor/doctor.js';
import { worstExitCode, type ExitCode } from '../errors.js';
import { formatDoctor } from '../report/doctor-report.js';
import { configPathOf, printJson, type CliIo, type CliOptions } from './context.js';

export function doctorCommand(opts: CliOptions, io: CliIo): ExitCode {
  const report = runDoctor(configPathOf(opts, io));
  io.stdout(opts.json ? printJson(report) : formatDoctor(report));
  const failed = report.checks.filter((c) => c.status === 'fail');
  for (const f of failed) io.stderr(`error: ${f.check}: ${f.detail}\n`);
  return worstExitCode(failed.map((f) => f.exitCode));
}
