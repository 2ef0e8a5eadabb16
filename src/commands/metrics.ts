/** `--metrics-file PATH`, after any action: Prometheus textfile metrics (src/metrics/prometheus.ts). */
import path from 'node:path';
import { DbmError } from '../errors.js';
import { writeMetricsFile } from '../metrics/prometheus.js';
import { commandContext, type CliIo, type CliOptions } from './context.js';

export function metricsCommand(opts: CliOptions, io: CliIo): void {
  const { brain, now } = commandContext(opts, io);
  const file = path.resolve(io.cwd, opts.metricsFile!);
  try {
    writeMetricsFile(file, brain, now);
  } catch (err) {
    throw new DbmError(
      'FILE_UNWRITABLE',
      `cannot write the metrics file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        hint: 'check that its directory exists and is writable',
      },
    );
  }
}
