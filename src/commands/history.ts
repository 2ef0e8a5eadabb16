/** `--history [--db NAME] [--json]`: past runs from the state database. */
import { selectDatabases } from '../config/select.js';
import { EXIT, type ExitCode } from '../errors.js';
import type { HistoryReport } from '../report/json.js';
import { formatHistory } from '../report/run-report.js';
import { StateDb } from '../state/state-db.js';
import { commandContext, type CliIo, type CliOptions } from './context.js';

export function historyCommand(opts: CliOptions, io: CliIo): ExitCode {
  const { brain, print } = commandContext(opts, io);
  if (opts.db !== undefined) selectDatabases(brain, opts.db);
  const state = StateDb.openReadOnly(brain.stateDir);
  const runs = state ? state.history(50, opts.db) : [];
  state?.close();
  const report: HistoryReport = { version: 1, command: 'history', runs };
  print(report, (r) => formatHistory(r.runs));
  return EXIT.ok;
}
