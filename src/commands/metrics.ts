/** `--metrics-file PATH`, after any action: Prometheus textfile metrics (src/metrics/prometheus.ts). */
import path from 'node:path';
import type { CliIo, CliOptions } from '../cli.js';
import { configPathFrom, loadConfig } from '../config/load.js';
import { DbmError } from '../errors.js';
import { writeMetricsFile } from '../metrics/prometheus.js';
import { nowFrom } from '../util/time.js';

export function metricsCommand(opts: CliOptions, io: CliIo): void {
  const rc = loadConfig(configPathFrom(opts.config, io.env, io.cwd));
  const file = path.resolve(io.cwd, opts.metricsFile!);
  try {
    writeMetricsFile(file, rc, nowFrom(io.env));
  } catch (err) {
    throw new DbmError('DB_UNREADABLE', `cannot write the metrics file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: 'check that its directory exists and is writable',
    });
  }
}
