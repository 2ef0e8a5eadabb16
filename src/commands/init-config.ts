/** `--init-config DIR [--dry-run] [--json]`: propose (and write) the config of an existing brain. */
import path from 'node:path';
import { EXIT, type ExitCode } from '../errors.js';
import { brainDir, configText, inspectBrain, refuseExisting, writeInitConfig } from '../init-config/index.js';
import type { InitConfigReport } from '../report/json.js';
import { printJson, type CliIo, type CliOptions } from './context.js';

export function initConfigCommand(opts: CliOptions, io: CliIo): ExitCode {
  const dir = brainDir(path.resolve(io.cwd, opts.initConfig!));
  const dryRun = Boolean(opts.dryRun);
  // Before the inspection: an existing config is refused whatever the brain holds.
  if (!dryRun) refuseExisting(path.join(dir, 'maintenance.config.json'));
  const result = inspectBrain(dir);
  if (!dryRun) writeInitConfig(result);
  for (const e of result.evidence) if (e.status === 'unreadable') io.stderr(`warning: ${e.part}: ${e.message}\n`);
  if (opts.json) {
    const report: InitConfigReport = {
      version: 1,
      command: 'init-config',
      configPath: result.configPath,
      written: !dryRun,
      config: result.config,
      evidence: result.evidence,
    };
    io.stdout(printJson(report));
    return EXIT.ok;
  }
  const lines = result.evidence.map((e) => `${e.part}: ${e.message}`);
  io.stdout(
    (dryRun
      ? `--dry-run: nothing written; ${result.configPath} would be:\n${configText(result)}\n`
      : `wrote ${result.configPath}\n`) +
      `${lines.join('\n')}\n` +
      (dryRun ? '' : `  assess it: db-maintenance --config ${result.configPath} --assess\n`),
  );
  return EXIT.ok;
}
