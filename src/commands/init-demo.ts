/** `--init-demo DIR [--scale N] [--seed N] [--fts-drift]`: create a demo brain. */
import path from 'node:path';
import { generateDemoBrain } from '../demo/generate.js';
import { EXIT, type ExitCode } from '../errors.js';
import type { InitDemoReport } from '../report/json.js';
import { bytes } from '../util/format.js';
import { nowFrom } from '../util/time.js';
import { printJson, progressFor, type CliIo, type CliOptions } from './context.js';

export function initDemoCommand(opts: CliOptions, io: CliIo): ExitCode {
  const dir = path.resolve(io.cwd, opts.initDemo!);
  const summary = generateDemoBrain({
    dir,
    scale: opts.scale ?? 1,
    seed: opts.seed ?? 42,
    now: nowFrom(io.env),
    ftsDrift: Boolean(opts.ftsDrift),
    progress: progressFor(opts, io),
  });
  if (opts.json) {
    const report: InitDemoReport = { version: 1, command: 'init-demo', ...summary };
    io.stdout(printJson(report));
  } else {
    const files = Object.entries(summary.files)
      .map(([k, v]) => `${k} ${bytes(v)}`)
      .join(', ');
    io.stdout(
      `demo brain created in ${summary.dir}\n` +
        `  ${summary.conversations} conversations, ${summary.messages} messages, ${summary.patterns} patterns, ${summary.events} event lines\n` +
        `  ${files}\n` +
        `  assess it: db-maintenance --config ${summary.configPath} --assess\n`,
    );
  }
  return EXIT.ok;
}
