#!/usr/bin/env node
// First-run estimates against measured times: the accuracy table of docs/benchmarks.md.
//
//   npm run build && node bench/estimates.mjs [--scale 240] [--seed 1] [--rounds 2] [--only VACUUM,ANALYZE] [--bin PATH]
//
// The brain is bench/.data/brain-<scale> (generated with --init-demo --seed when missing). Each
// measurement runs on a fresh copy of it (bench/.data/estimates-work) with no state directory,
// so every estimate is a first-run one (source 'heuristic'): the estimate from `--dry-run --json`
// (or `--assess --json` for retention), then the operation itself with `--json`, whose result
// gives the task's durationMs (backup, operation and verification: what the estimate is of).
// The phases come from the debug log of the run (the safety net logs each phase's ms).
// Prints a Markdown table: operation | database | estimate | measured, each round with the load
// average when it started | ratio of the estimate to the fastest round (the least disturbed:
// the machine these were made on is shared) and to the median | phases of the fastest round.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, median } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// --bin: a copy of the built tool to measure (a rebuild of dist/ meanwhile would break the runs).
const bin = path.resolve(arg('--bin', path.join(root, 'bin', 'db-maintenance.js')));
const scale = arg('--scale', 240);
const seed = arg('--seed', 1);
const rounds = arg('--rounds', 2);
const only = arg('--only', '');
const brain = path.join(root, 'bench', '.data', `brain-${scale}`);
const work = path.join(root, 'bench', '.data', 'estimates-work');

if (!fs.existsSync(path.join(brain, 'maintenance.config.json'))) {
  console.error(`generating the benchmark brain ${brain} (scale ${scale}, seed ${seed})`);
  execFileSync('node', [bin, '--init-demo', brain, '--scale', String(scale), '--seed', String(seed)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
const baseConfig = JSON.parse(fs.readFileSync(path.join(brain, 'maintenance.config.json'), 'utf8'));
const DB_FILES = Object.fromEntries(Object.entries(baseConfig.databases).map(([k, v]) => [k, v.path]));

/** A fresh copy of the brain with `extra` config: the databases `dbs`, and those under 100 MB, events and logs. */
function fresh(dbs, extra = {}) {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  for (const [name, rel] of Object.entries(DB_FILES)) {
    fs.mkdirSync(path.join(work, path.dirname(rel)), { recursive: true });
    if (dbs.includes(name) || fs.statSync(path.join(brain, rel)).size < 100e6)
      execFileSync('cp', [path.join(brain, rel), path.join(work, rel)]);
  }
  execFileSync('cp', [path.join(brain, 'events.jsonl'), path.join(work, 'events.jsonl')]);
  execFileSync('cp', ['-a', path.join(brain, 'logs'), path.join(work, 'logs')]);
  const config = {
    ...baseConfig,
    ...extra,
    logging: { level: 'debug', file: 'run.log' },
  };
  fs.writeFileSync(path.join(work, 'maintenance.config.json'), JSON.stringify(config, null, 2));
  execFileSync('sync');
  return path.join(work, 'maintenance.config.json');
}

function cli(args) {
  const r = spawnSync('node', [bin, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0 && !r.stdout.trim().startsWith('{'))
    throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The ms of each safety-net phase of the run (backup, snapshot, operation, verification, ...). */
function phases() {
  const file = path.join(work, 'run.log');
  if (!fs.existsSync(file)) return '';
  const out = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes('"phase done"')) continue;
    const e = JSON.parse(line);
    out[e.phase] = (out[e.phase] ?? 0) + e.ms;
  }
  return Object.entries(out)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`)
    .join(', ');
}

// OPTIMIZE_FTS has no flag: --run plans it when an index has more segments than ftsMaxSegments;
// the other thresholds are set so that nothing else is due, and no writer-wait budget applies.
const OPTIMIZE_ONLY = {
  thresholds: {
    fragmentationRatio: 1,
    analyzeScaleFactor: 1,
    analyzeBaseRows: 1e12,
    walMaxBytes: 1e12,
    ftsMaxSegments: 0,
  },
  maintenance: { maxWriterWaitMs: 3_600_000 },
};

const CASES = [];
for (const db of ['tier1', 'tier2', 'tier3']) {
  const fts = db !== 'tier3';
  for (const [type, flag] of [
    ['VACUUM', '--vacuum'],
    ['ANALYZE', '--analyze'],
    ['REINDEX', '--reindex'],
    ...(fts ? [['REBUILD_FTS', '--rebuild-fts']] : []),
  ]) {
    CASES.push({
      type,
      db,
      run(config) {
        const plan = cli(['--config', config, flag, '--db', db, '--dry-run', '--json']).plan;
        const est = plan.find((s) => s.type === type && s.database === db);
        const res = cli(['--config', config, flag, '--db', db, '--json']).results.find((r) => r.type === type);
        if (res.status !== 'ok') throw new Error(`${type} ${db}: ${res.status}: ${res.message}`);
        return { estimate: est.estimatedSeconds, source: est.estimateSource, measured: res.durationMs / 1000 };
      },
    });
  }
  if (fts) {
    CASES.push({
      type: 'OPTIMIZE_FTS',
      db,
      extra: OPTIMIZE_ONLY,
      run(config) {
        const plan = cli(['--config', config, '--run', '--db', db, '--dry-run', '--json']).plan;
        const est = plan.find((s) => s.type === 'OPTIMIZE_FTS');
        if (!est) throw new Error(`OPTIMIZE_FTS not planned on ${db}: ${plan.map((s) => s.type).join(', ')}`);
        const res = cli(['--config', config, '--run', '--db', db, '--json']).results.find(
          (r) => r.type === 'OPTIMIZE_FTS',
        );
        if (res.status !== 'ok') throw new Error(`OPTIMIZE_FTS ${db}: ${res.status}: ${res.message}`);
        return { estimate: est.estimatedSeconds, source: est.estimateSource, measured: res.durationMs / 1000 };
      },
    });
  }
}
for (const [type, flag, db, dbs] of [
  ['ARCHIVE_CONVERSATIONS', '--archive', 'tier1', ['tier1']],
  ['PRUNE_PATTERNS', '--prune-patterns', 'tier2', ['tier2']],
  ['COMPRESS_EVENTS', '--compress-events', 'events', []],
  ['ROTATE_LOGS', '--rotate-logs', 'logs', []],
]) {
  CASES.push({
    type,
    db,
    dbs,
    run(config) {
      const tasks = cli(['--config', config, '--assess', '--json']).tasks;
      const est = tasks.find((t) => t.type === type);
      const item = cli(['--config', config, flag, '--json']).items.find((i) => i.type === type);
      if (item.status !== 'ok') throw new Error(`${type}: ${item.status}: ${item.message}`);
      return { estimate: est.estimatedSeconds, source: est.estimateSource, measured: item.durationMs / 1000 };
    },
  });
}

const selected = only ? CASES.filter((c) => only.split(',').includes(c.type)) : CASES;
console.log(
  `| operation | database | estimate (s) | measured (s) [load average] | ratio to fastest | ratio to median | phases of the fastest (s) |`,
);
console.log(`|---|---|---:|---|---:|---:|---|`);
for (const c of selected) {
  const runs = [];
  let estimate = 0;
  let source = '';
  for (let i = 0; i < rounds; i++) {
    const config = fresh(c.dbs ?? [c.db], c.extra);
    const load = os.loadavg()[0];
    const r = c.run(config);
    runs.push({ s: r.measured, load, phases: phases() });
    estimate = r.estimate;
    source = r.source;
  }
  const fastest = runs.reduce((a, b) => (b.s < a.s ? b : a));
  const m = median(runs.map((r) => r.s));
  const note = source === 'heuristic' ? '' : ` (${source})`;
  console.log(
    `| ${c.type} | ${c.db} | ${estimate.toFixed(1)}${note} | ${runs.map((r) => `${r.s.toFixed(1)} [${r.load.toFixed(1)}]`).join(', ')} | ${(estimate / fastest.s).toFixed(2)} | ${(estimate / m).toFixed(2)} | ${fastest.phases} |`,
  );
}
fs.rmSync(work, { recursive: true, force: true });
