/** `--init-demo DIR [--scale N] [--seed N] [--fts-drift]`: create a demo brain. */
import path from 'node:path';
import type { CliIo, CliOptions } from '../cli.js';
import { generateDemoBrain } from '../demo/generate.js';
import { DbmError, EXIT, type ExitCode } from '../errors.js';
import { bytes } from '../util/format.js';
import { nowFrom } from '../util/time.js';

export function initDemoCommand(opts: CliOptions, io: CliIo): ExitCode {
  const scale = Number(opts.scale ?? '1');
  if (!Number.isFinite(scale) || scale <= 0 || scale > 100_000) {
    throw new DbmError('USAGE', `--scale must be a positive number (got "${opts.scale}")`, { hint: 'e.g. --scale 1 for about 5 MB, --scale 240 for about 1 GB' });
  }
  const seed = Number(opts.seed ?? '42');
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new DbmError('USAGE', `--seed must be a whole number from 0 to 4294967295 (got "${opts.seed}")`);
  }
  const dir = path.resolve(io.cwd, opts.initDemo!);
  const summary = generateDemoBrain({ dir, scale, seed, now: nowFrom(io.env), ftsDrift: Boolean(opts.ftsDrift) });
  if (opts.json) {
    io.stdout(`${JSON.stringify({ version: 1, command: 'init-demo', ...summary }, null, 2)}\n`);
  } else {
    const files = Object.entries(summary.files).map(([k, v]) => `${k} ${bytes(v)}`).join(', ');
    io.stdout(
      `demo brain created in ${summary.dir}\n` +
        `  ${summary.conversations} conversations, ${summary.messages} messages, ${summary.patterns} patterns, ${summary.events} event lines\n` +
        `  ${files}\n` +
        `  assess it: db-maintenance --config ${summary.configPath} --assess\n`,
    );
  }
  return EXIT.ok;
}
