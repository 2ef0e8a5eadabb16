#!/usr/bin/env node
// Fault campaign: SIGKILL `db-maintenance --run` at random moments, many times.
//
//   npm run build && node bench/crash.mjs [--trials 200] [--scale 2] [--seed 1]
//
// Each trial copies a template brain (generated once, at rest), starts a run (even trials:
// `--run`, which repairs FTS drift, vacuums and analyzes; odd trials: `--vacuum --analyze`,
// VACUUM first with its backup copied beside it), kills it with SIGKILL after a random delay
// within the run's measured span, then checks: integrity_check of every database, every
// user row present and unchanged, a re-run exits 0, and no stray temp file survives it.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { arg } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const Database = require(path.join(root, 'node_modules', 'better-sqlite3'));
const bin = path.join(root, 'bin', 'db-maintenance.js');
const trials = arg('--trials', 200);
const scale = arg('--scale', 2);
const files = [
  'tier1/conversations.db',
  'tier2/knowledge_graph.db',
  'tier3/development_context.db',
  'state/app_state.db',
];
const argsFor = (i) => (i % 2 === 0 ? ['--run'] : ['--vacuum', '--analyze']);
const env = { ...process.env, DB_MAINTENANCE_NOW: '2026-11-20T12:00:00.000Z' };

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbm-crash-'));
const template = path.join(work, 'template');
spawnSync(
  process.execPath,
  [bin, '--init-demo', template, '--scale', String(scale), '--seed', String(arg('--seed', 1)), '--fts-drift'],
  { env, stdio: 'ignore' },
);

function userRows(file) {
  const db = new Database(file, { fileMustExist: true });
  db.pragma('query_only = ON');
  const virt = db.prepare("SELECT name FROM sqlite_schema WHERE sql LIKE 'CREATE VIRTUAL TABLE%'").pluck().all();
  const shadow = new Set(virt.flatMap((f) => ['data', 'idx', 'content', 'docsize', 'config'].map((s) => `${f}_${s}`)));
  const tables = db
    .prepare(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name",
    )
    .pluck()
    .all()
    .filter((t) => !shadow.has(t));
  const out = {};
  for (const t of tables)
    out[t] = db
      .prepare(`SELECT * FROM "${t.replace(/"/g, '""')}"`)
      .raw()
      .all()
      .map((r) => JSON.stringify(r))
      .sort()
      .join('\n');
  db.close();
  return JSON.stringify(out);
}
function integrity(file) {
  const db = new Database(file, { fileMustExist: true });
  const r = db
    .pragma('integrity_check')
    .map((x) => x.integrity_check)
    .join('; ');
  db.close();
  return r;
}
const expected = Object.fromEntries(files.map((f) => [f, userRows(path.join(template, f))]));
const copy = (name) => {
  const dir = path.join(work, name);
  fs.cpSync(template, dir, { recursive: true });
  return dir;
};

let t0 = Date.now();
spawnSync(process.execPath, [bin, '--config', path.join(copy('probe'), 'maintenance.config.json'), ...argsFor(0)], {
  env,
  stdio: 'ignore',
});
const span = Math.max(300, Date.now() - t0);

const stats = { trials: 0, killedMidRun: 0, leftTempFiles: 0, failures: [] };
t0 = Date.now();
for (let i = 0; i < trials; i++) {
  const dir = copy(`t${i}`);
  const config = path.join(dir, 'maintenance.config.json');
  const delay = 20 + Math.floor(Math.random() * span);
  const child = spawn(process.execPath, [bin, '--config', config, ...argsFor(i)], { env, stdio: 'ignore' });
  const exit = new Promise((r) => child.on('close', (code, signal) => r({ code, signal })));
  await new Promise((r) => setTimeout(r, delay));
  child.kill('SIGKILL');
  const res = await exit;
  stats.trials++;
  if (res.signal === 'SIGKILL') stats.killedMidRun++;
  const strays = fs.readdirSync(dir, { recursive: true }).filter((f) => String(f).includes('.tmp-'));
  if (strays.length) stats.leftTempFiles++;
  const fail = (what) => stats.failures.push({ trial: i, delay, what });
  for (const f of files) {
    const ic = integrity(path.join(dir, f));
    if (ic !== 'ok') fail(`${f}: integrity_check ${ic}`);
    if (userRows(path.join(dir, f)) !== expected[f]) fail(`${f}: rows differ`);
  }
  const rerun = spawnSync(process.execPath, [bin, '--config', config, '--run'], { env, encoding: 'utf8' });
  if (rerun.status !== 0) fail(`re-run exit ${rerun.status}: ${rerun.stderr.trim()}`);
  if (fs.readdirSync(dir, { recursive: true }).some((f) => String(f).includes('.tmp-')))
    fail('temp files survive the re-run');
  fs.rmSync(dir, { recursive: true, force: true });
  if ((i + 1) % 20 === 0) console.error(`${i + 1}/${trials} trials, ${stats.failures.length} failures`);
}
fs.rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify({ ...stats, runSpanMs: span, seconds: Math.round((Date.now() - t0) / 1000) }, null, 2));
process.exit(stats.failures.length ? 1 : 0);
