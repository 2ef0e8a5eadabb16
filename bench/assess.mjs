#!/usr/bin/env node
// Benchmark of --assess and --help against peers measured in the same run.
//
//   npm run build && node bench/assess.mjs [--scale 240] [--runs 5]
//
// 1. builds (once, cached in bench/.data/) a demo brain whose tier1 is >= 1 GB;
// 2. `db-maintenance --help` against `node -e 0` (target: <= 1.6x);
// 3. `--assess` default mode, wall time of the whole CLI process (target: <= 1.0 s);
// 4. `--assess --deep` against SQLite's own checks on the same databases: PRAGMA quick_check
//    plus FTS5 'integrity-check' (rank 1) of every FTS5 table, run through the same SQLite
//    (better-sqlite3) in a child process (target: <= 1.2x).
// Medians of --runs runs after one warm-up run each; the page cache is warm for both sides.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'db-maintenance.js');
const scale = arg('--scale', 240);
const runs = arg('--runs', 5);
const dataDir = path.join(root, 'bench', '.data');
const brain = path.join(dataDir, `brain-${scale}`);
const config = path.join(brain, 'maintenance.config.json');

function time(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

function median(cmd, args, n = runs, opts = {}) {
  time(cmd, args, opts); // warm-up
  const xs = [];
  for (let i = 0; i < n; i++) xs.push(time(cmd, args, opts).ms);
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)];
}

if (!fs.existsSync(path.join(brain, '.db-maintenance-demo'))) {
  fs.mkdirSync(dataDir, { recursive: true });
  console.error(`generating the demo brain (scale ${scale}) in ${brain} ...`);
  const g = time(process.execPath, [bin, '--init-demo', brain, '--scale', String(scale), '--seed', '1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  console.error(`  took ${(g.ms / 1000).toFixed(1)} s`);
}
const sizes = Object.fromEntries(
  [
    'tier1/conversations.db',
    'tier2/knowledge_graph.db',
    'tier3/development_context.db',
    'state/app_state.db',
    'events.jsonl',
  ].map((f) => [f, fs.statSync(path.join(brain, f)).size]),
);
const totalBytes = Object.values(sizes).reduce((a, b) => a + b, 0);

const nodeBare = median(process.execPath, ['-e', '0'], Math.max(runs, 15));
const help = median(process.execPath, [bin, '--help'], Math.max(runs, 15));
const assessDefault = median(process.execPath, [bin, '--config', config, '--assess', '--json']);
const assessDeep = median(process.execPath, [bin, '--config', config, '--assess', '--deep', '--json']);

// The peer: SQLite's own checks through the same SQLite build, one child process.
const peerScript = `
const Database = require(${JSON.stringify(path.join(root, 'node_modules', 'better-sqlite3'))});
for (const f of ${JSON.stringify(['tier1/conversations.db', 'tier2/knowledge_graph.db', 'tier3/development_context.db', 'state/app_state.db'].map((f) => path.join(brain, f)))}) {
  const db = new Database(f, { fileMustExist: true });
  db.pragma('quick_check');
  for (const t of db.prepare("SELECT name, sql FROM sqlite_schema WHERE sql LIKE 'CREATE VIRTUAL TABLE%fts5%'").all()) {
    const q = '"' + t.name.replace(/"/g, '""') + '"';
    const external = /content\\s*=\\s*'[^']+'/i.test(t.sql);
    db.prepare('INSERT INTO ' + q + '(' + q + ', rank) VALUES (\\'integrity-check\\', ' + (external ? 1 : 0) + ')').run();
  }
  db.close();
}`;
const peerDeep = median(process.execPath, ['-e', peerScript]);
const out = JSON.parse(time(process.execPath, [bin, '--config', config, '--assess', '--json']).stdout);

const result = {
  brainBytes: totalBytes,
  tier1Bytes: sizes['tier1/conversations.db'],
  nodeBareMs: Math.round(nodeBare),
  helpMs: Math.round(help),
  helpRatio: +(help / nodeBare).toFixed(2),
  assessDefaultMs: Math.round(assessDefault),
  assessInternalMs: out.durationMs,
  assessDeepMs: Math.round(assessDeep),
  sqliteOwnChecksMs: Math.round(peerDeep),
  deepRatio: +(assessDeep / peerDeep).toFixed(2),
  tasks: out.tasks.map((t) => `${t.database}:${t.type}`),
};
console.log(JSON.stringify(result, null, 2));
console.log(`
| measurement | value | target |
|---|---|---|
| brain size (tier1) | ${(totalBytes / 2 ** 30).toFixed(2)} GiB (${(sizes['tier1/conversations.db'] / 2 ** 30).toFixed(2)} GiB) | >= 1 GB |
| \`--assess\` default, whole process | ${(assessDefault / 1000).toFixed(2)} s | <= 1.0 s |
| \`--assess --deep\` / SQLite's own checks | ${(assessDeep / 1000).toFixed(2)} s / ${(peerDeep / 1000).toFixed(2)} s = ${result.deepRatio}x | <= 1.2x |
| \`--help\` / \`node -e 0\` | ${help.toFixed(0)} ms / ${nodeBare.toFixed(0)} ms = ${result.helpRatio}x | <= 1.6x |`);
