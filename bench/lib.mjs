// Shared by the bench scripts: flags, medians, and timing a command with its peak RSS.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** The value after `name` on the command line (a number unless `dflt` is a string), or `dflt`. */
export function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  if (i === -1) return dflt;
  return typeof dflt === 'string' ? process.argv[i + 1] : Number(process.argv[i + 1]);
}

/** A config for a brain whose only database is tier1.db beside it (the demo brain's tier1 schema). */
export function writeTier1Config(file, extra = {}) {
  fs.writeFileSync(
    file,
    JSON.stringify({
      databases: { tier1: { path: 'tier1.db' } },
      conversations: { database: 'tier1' },
      patterns: {
        database: 'tier1',
        table: 'learned_patterns',
        confidenceColumn: 'confidence_score',
        lastUsedColumn: 'last_seen',
      },
      events: { path: 'events.jsonl' },
      logs: { dir: 'logs' },
      ...extra,
    }),
  );
  return file;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Wall time (s) and peak RSS (MB) of a command, through GNU time; throws if it fails. */
export function measure(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { s, rssMb: Number(r.stderr.trim().split('\n').at(-1)) / 1024, stdout: r.stdout };
}
