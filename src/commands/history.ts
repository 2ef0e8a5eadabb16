/** `--history [--db NAME] [--json]`: past runs from the state database. */
import type { CliIo, CliOptions } from '../cli.js';
import { configPathFrom, loadConfig, selectDatabases } from '../config/load.js';
import { EXIT, type ExitCode } from '../errors.js';
import { formatHistory } from '../report/run-report.js';
import { StateDb } from '../state/state-db.js';

export function historyCommand(opts: CliOptions, io: CliIo): ExitCode {
  const rc = loadConfig(configPathFrom(opts.config, io.env, io.cwd));
  if (opts.db !== undefined) selectDatabases(rc, opts.db);
  const state = StateDb.openReadOnly(rc.stateDir);
  const runs = state ? state.history(50, opts.db) : [];
  state?.close();
  io.stdout(opts.json ? `${JSON.stringify({ version: 1, command: 'history', runs }, null, 2)}\n` : formatHistory(runs));
  return EXIT.ok;
}
